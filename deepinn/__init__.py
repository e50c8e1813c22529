"""deepinn: physics-informed neural networks in PyTorch.

``import deepinn as dp`` gives the notebook API (``dp.spaces``, ``dp.domains``, ``dp.samplers``,
``dp.constraint``, ``dp.nn``, ``dp.utils``). Importing loads no plugin: call
``dp.plugins.load_registry()``.
"""

from deepinn import domains as domains
from deepinn import plugins as plugins
from deepinn import samplers as samplers
from deepinn import spaces as spaces
from deepinn._errors import ConfigurationError as ConfigurationError
from deepinn._errors import DeepinnError as DeepinnError
from deepinn._errors import GeometryError as GeometryError
from deepinn._errors import PluginError as PluginError
from deepinn._errors import ShapeError as ShapeError
from deepinn._errors import TrainingError as TrainingError

__version__ = "0.1.0"

__all__ = [
    "ConfigurationError",
    "DeepinnError",
    "GeometryError",
    "PluginError",
    "ShapeError",
    "TrainingError",
    "domains",
    "plugins",
    "samplers",
    "spaces",
]
