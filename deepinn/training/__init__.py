"""The training service: Lightning module, collocation data, callbacks and ``fit``."""

from deepinn.training._config import GROUPS as GROUPS
from deepinn.training._config import build_components as build_components
from deepinn.training._config import check_launch as check_launch
from deepinn.training._config import register_configs as register_configs
from deepinn.training._config import run_from_config as run_from_config
from deepinn.training._data import CollocationData as CollocationData
from deepinn.training._fit import FitResult as FitResult
from deepinn.training._fit import fit as fit
from deepinn.training._metrics import relative_l2 as relative_l2
from deepinn.training._module import PINNModule as PINNModule
from deepinn.training._optim import Phase as Phase
from deepinn.training._optim import adam as adam
from deepinn.training._optim import adam_lbfgs as adam_lbfgs
from deepinn.training._optim import lbfgs as lbfgs

__all__ = [
    "CollocationData",
    "FitResult",
    "GROUPS",
    "PINNModule",
    "Phase",
    "adam",
    "adam_lbfgs",
    "build_components",
    "check_launch",
    "fit",
    "lbfgs",
    "register_configs",
    "relative_l2",
    "run_from_config",
]
