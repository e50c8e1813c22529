"""The app layer: Hydra glue, the typed run schema and the ``deepinn train`` main job.

The only layer that imports Hydra: it stores the registrations and presets in ConfigStore,
composes a configuration once, types it once, builds each component once and hands the built
objects to :func:`deepinn.training.fit`, then prints the run's summary.
"""

from deepinn.app._build import Components as Components
from deepinn.app._build import build as build
from deepinn.app._build import build_components as build_components
from deepinn.app._build import check_launch as check_launch
from deepinn.app._build import run_from_config as run_from_config
from deepinn.app._build import typed_config as typed_config
from deepinn.app._main import train as train
from deepinn.app._schema import LoggerConfig as LoggerConfig
from deepinn.app._schema import TrainConfig as TrainConfig
from deepinn.app._schema import TrainerConfig as TrainerConfig
from deepinn.app._store import GROUPS as GROUPS
from deepinn.app._store import compose as compose
from deepinn.app._store import register_configs as register_configs
from deepinn.app._summary import summary as summary

__all__ = [
    "GROUPS",
    "Components",
    "LoggerConfig",
    "TrainConfig",
    "TrainerConfig",
    "build",
    "build_components",
    "check_launch",
    "compose",
    "register_configs",
    "run_from_config",
    "summary",
    "train",
    "typed_config",
]
