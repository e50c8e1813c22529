"""deepinn-example: a template deepinn plugin with one component of every kind.

Installing the package registers, through the ``deepinn`` entry point ``example``, the space
``spacetime``, the domain ``annulus``, the sampler ``jittered_grid``, the constraint type
``pointwise_source``, the operator ``biharmonic``, the network ``example_resmlp`` and the problem
``poisson_annulus``. Importing it registers nothing: ``deepinn.plugins.load_registry()`` does.
Copy the package, rename it, and keep the parts you need (see README.md).
"""

from deepinn_example.constraint import PointwiseSource as PointwiseSource
from deepinn_example.domain import Annulus as Annulus
from deepinn_example.domain import AnnulusBoundary as AnnulusBoundary
from deepinn_example.network import ResMLP as ResMLP
from deepinn_example.operator import biharmonic as biharmonic
from deepinn_example.sampler import JitteredGridSampler as JitteredGridSampler

__version__ = "0.1.0"

__all__ = [
    "Annulus",
    "AnnulusBoundary",
    "JitteredGridSampler",
    "PointwiseSource",
    "ResMLP",
    "biharmonic",
]
