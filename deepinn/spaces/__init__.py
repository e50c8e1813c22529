"""Spaces and points."""

from deepinn.spaces._points import Points as Points
from deepinn.spaces._space import R1 as R1
from deepinn.spaces._space import R2 as R2
from deepinn.spaces._space import R3 as R3
from deepinn.spaces._space import Rn as Rn
from deepinn.spaces._space import Space as Space

__all__ = ["R1", "R2", "R3", "Points", "Rn", "Space"]
