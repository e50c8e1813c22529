"""Utilities of the notebook API: ``scatter`` plots of sampled points."""

from deepinn.utils._scatter import scatter as scatter

__all__ = ["scatter"]
