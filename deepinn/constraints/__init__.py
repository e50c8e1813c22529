"""Constraints: the terms of a PINN loss (PDE residual, boundary, initial and data conditions)."""

from deepinn.constraints._abstract import AbstractConstraint as AbstractConstraint
from deepinn.constraints._abstract import Batch as Batch
from deepinn.constraints._boundary import DirichletBC as DirichletBC
from deepinn.constraints._boundary import NeumannBC as NeumannBC
from deepinn.constraints._boundary import PeriodicBC as PeriodicBC
from deepinn.constraints._boundary import RobinBC as RobinBC
from deepinn.constraints._data import DataConstraint as DataConstraint
from deepinn.constraints._hints import infer_hints as infer_hints
from deepinn.constraints._initial import InitialCondition as InitialCondition
from deepinn.constraints._pde import PDEConstraint as PDEConstraint

__all__ = [
    "AbstractConstraint",
    "Batch",
    "DataConstraint",
    "DirichletBC",
    "InitialCondition",
    "NeumannBC",
    "PDEConstraint",
    "PeriodicBC",
    "RobinBC",
    "infer_hints",
]
