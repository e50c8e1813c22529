"""The training service: the loss, the Lightning module, collocation data, callbacks and ``fit``.

No Hydra here: the configuration layer (``deepinn.app``) builds components and calls ``fit``.
"""

from deepinn.training._fit import fit as fit
from deepinn.training.marching._networks import TimeMarchingNetwork as TimeMarchingNetwork
from deepinn.training.marching._networks import WindowNetwork as WindowNetwork
from deepinn.training.service._fit import FitResult as FitResult
from deepinn.training.service._metrics import relative_l2 as relative_l2
from deepinn.training.settings._optim import Phase as Phase
from deepinn.training.settings._presets import OPTIMIZER_PRESETS as OPTIMIZER_PRESETS
from deepinn.training.settings._presets import SCHEDULERS as SCHEDULERS
from deepinn.training.settings._presets import AdamConfig as AdamConfig
from deepinn.training.settings._presets import AdamLBFGSConfig as AdamLBFGSConfig
from deepinn.training.settings._presets import AdamWConfig as AdamWConfig
from deepinn.training.settings._presets import LBFGSConfig as LBFGSConfig
from deepinn.training.settings._presets import SchedulerConfig as SchedulerConfig
from deepinn.training.settings._presets import SGDConfig as SGDConfig
from deepinn.training.settings._presets import adam as adam
from deepinn.training.settings._presets import adam_lbfgs as adam_lbfgs
from deepinn.training.settings._presets import lbfgs as lbfgs
from deepinn.training.settings._presets_second import AdamSSBFGSConfig as AdamSSBFGSConfig
from deepinn.training.settings._presets_second import AdamSSBroydenConfig as AdamSSBroydenConfig
from deepinn.training.settings._presets_second import SOAPConfig as SOAPConfig
from deepinn.training.settings._presets_second import SSBFGSConfig as SSBFGSConfig
from deepinn.training.settings._presets_second import SSBroydenConfig as SSBroydenConfig
from deepinn.training.settings._presets_second import adam_ssbfgs as adam_ssbfgs
from deepinn.training.settings._presets_second import adam_ssbroyden as adam_ssbroyden
from deepinn.training.settings._presets_second import soap as soap
from deepinn.training.settings._presets_second import ssbfgs as ssbfgs
from deepinn.training.settings._presets_second import ssbroyden as ssbroyden
from deepinn.training.settings._sections import CausalConfig as CausalConfig
from deepinn.training.settings._sections import MarchingConfig as MarchingConfig
from deepinn.training.settings._sections import MonitorConfig as MonitorConfig
from deepinn.training.settings._sections import WeightingConfig as WeightingConfig
from deepinn.training.settings._settings import AUTO_COMPILE_STEPS as AUTO_COMPILE_STEPS
from deepinn.training.settings._settings import RunConfig as RunConfig
from deepinn.training.step._data import CollocationData as CollocationData
from deepinn.training.step._loss import PINNLoss as PINNLoss
from deepinn.training.step._module import PINNModule as PINNModule

__all__ = [
    "AUTO_COMPILE_STEPS",
    "OPTIMIZER_PRESETS",
    "SCHEDULERS",
    "AdamConfig",
    "AdamLBFGSConfig",
    "AdamSSBFGSConfig",
    "AdamSSBroydenConfig",
    "AdamWConfig",
    "CausalConfig",
    "CollocationData",
    "FitResult",
    "LBFGSConfig",
    "MarchingConfig",
    "MonitorConfig",
    "PINNLoss",
    "PINNModule",
    "Phase",
    "RunConfig",
    "SGDConfig",
    "SOAPConfig",
    "SSBFGSConfig",
    "SSBroydenConfig",
    "SchedulerConfig",
    "TimeMarchingNetwork",
    "WeightingConfig",
    "WindowNetwork",
    "adam",
    "adam_lbfgs",
    "adam_ssbfgs",
    "adam_ssbroyden",
    "fit",
    "lbfgs",
    "relative_l2",
    "soap",
    "ssbfgs",
    "ssbroyden",
]
