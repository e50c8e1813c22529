"""TEMPLATE (space): ``spacetime``, a time variable times a spatial variable, ``R1(t) * Rn(x)``.

The space factory contract is ``factory(params) -> deepinn.spaces.Space``. Spaces are products of
named variables (``deepinn.spaces.Rn(name, dim)``, combined with ``*``); the names are what
residuals use (``field.partial('u', 't')``, ``field.laplacian('u', 'x')``).
"""

from __future__ import annotations

from dataclasses import dataclass

from deepinn import ConfigurationError
from deepinn.spaces import Rn, Space

__all__ = ["SpaceTimeParams", "build_spacetime"]


@dataclass
class SpaceTimeParams:
    """Parameters of ``space=spacetime``.

    Attributes:
        time: The name of the time variable (one column, first).
        variable: The name of the spatial variable.
        dim: The spatial dimension, 1 to 3.
    """

    time: str = "t"
    variable: str = "x"
    dim: int = 2

    def __post_init__(self) -> None:
        if not 1 <= self.dim <= 3:
            raise ConfigurationError(
                f"spacetime: dim={self.dim}; use a spatial dimension of 1, 2 or 3."
            )
        if self.time == self.variable:
            raise ConfigurationError(
                f"spacetime: time and variable are both {self.time!r}; give them different names."
            )


def build_spacetime(params: SpaceTimeParams) -> Space:
    """The space factory: ``R1(time) * Rn(variable, dim)``."""
    return Rn(params.time, 1) * Rn(params.variable, params.dim)
