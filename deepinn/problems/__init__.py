"""PDE problems: registered bundles of a domain, constraints and a known solution.

The library (each registered under its name, ``problem=<name>``): ``poisson``, ``laplace``,
``helmholtz``, ``heat``, ``wave``, ``burgers``, ``allen_cahn``, ``kovasznay``,
``inverse_diffusion`` and the failure-mode suite ``convection``, ``reaction``,
``wave_rathore``. Exact solutions are public functions here; the reference solutions of
``burgers`` and ``allen_cahn`` are ``.npz`` files in ``deepinn/problems/data`` written by the
scripts in ``scripts/``.
"""

from deepinn.problems._allen_cahn import allen_cahn_initial as allen_cahn_initial
from deepinn.problems._burgers import burgers_initial as burgers_initial
from deepinn.problems._failure_modes import convection_solution as convection_solution
from deepinn.problems._failure_modes import reaction_solution as reaction_solution
from deepinn.problems._failure_modes import wave_rathore_solution as wave_rathore_solution
from deepinn.problems._heat import heat_solution as heat_solution
from deepinn.problems._helmholtz import helmholtz_solution as helmholtz_solution
from deepinn.problems._kovasznay import kovasznay_solution as kovasznay_solution
from deepinn.problems._laplace import laplace_solution as laplace_solution
from deepinn.problems._poisson import sine_product as sine_product
from deepinn.problems._problem import MakeSampler as MakeSampler
from deepinn.problems._problem import Problem as Problem
from deepinn.problems._reference import load_grid_reference as load_grid_reference
from deepinn.problems._wave import wave_solution as wave_solution

__all__ = [
    "MakeSampler",
    "Problem",
    "allen_cahn_initial",
    "burgers_initial",
    "convection_solution",
    "heat_solution",
    "helmholtz_solution",
    "kovasznay_solution",
    "laplace_solution",
    "load_grid_reference",
    "reaction_solution",
    "sine_product",
    "wave_rathore_solution",
    "wave_solution",
]
