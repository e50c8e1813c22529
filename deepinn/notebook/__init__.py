"""The adapter for the original DeepINN notebook API: its names, kept in one corner.

``import deepinn as dp`` gives the seed notebook's names through this package: ``dp.constraint``,
``dp.domain`` and ``dp.utils`` are this module, so ``dp.constraint.PDE``,
``dp.constraint.DirichletBC``, ``dp.constraint.Jacobian``, ``dp.constraint.STRATEGIES``,
``dp.domain.Generic`` and ``dp.utils.scatter`` resolve here, and ``dp.Model`` is
:class:`Model` (imported on first use: it pulls in Lightning). Everything is a thin layer over
the core packages (:mod:`deepinn.constraints`, :mod:`deepinn.samplers`,
:mod:`deepinn.operators`, :mod:`deepinn.problems`, :mod:`deepinn.training`); the core classes
carry no seed-only method (``sampler_object`` and ``sample_labels`` live on :class:`SeedPDE`
and :class:`SeedDirichletBC`).

One deliberate difference from the original: its ``Jacobian(X, y)(i, j)`` ignored ``i`` and
returned column ``j`` of the gradient of the sum of all outputs. deepinn returns the true
dy_i/dX_j, so for the element-wise ``y = sin(X)`` of a two-column ``X``,
``Jacobian(X, y)(0, 1)`` is 0 and the column the original printed there is
``Jacobian(X, y)(1, 1)``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from deepinn.notebook._constraint import PDE as PDE
from deepinn.notebook._constraint import STRATEGIES as STRATEGIES
from deepinn.notebook._constraint import DirichletBC as DirichletBC
from deepinn.notebook._constraint import SeedDirichletBC as SeedDirichletBC
from deepinn.notebook._constraint import SeedPDE as SeedPDE
from deepinn.notebook._domain import Generic as Generic
from deepinn.notebook._jacobian import Jacobian as Jacobian
from deepinn.notebook._scatter import scatter as scatter

if TYPE_CHECKING:
    from deepinn.notebook._model import Model as Model


def __getattr__(name: str) -> Any:
    """Import :class:`Model` (and with it Lightning) on first use."""
    if name == "Model":
        value = importlib.import_module("deepinn.notebook._model").Model
        globals()[name] = value
        return value
    raise AttributeError(f"module 'deepinn.notebook' has no attribute {name!r}")


__all__ = [
    "PDE",
    "STRATEGIES",
    "DirichletBC",
    "Generic",
    "Jacobian",
    "Model",
    "SeedDirichletBC",
    "SeedPDE",
    "scatter",
]
