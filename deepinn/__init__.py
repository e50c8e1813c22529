"""deepinn: physics-informed neural networks in PyTorch.

``import deepinn as dp`` gives the notebook API: ``dp.spaces``, ``dp.domains``, ``dp.samplers``,
``dp.constraints``, ``dp.operators``, ``dp.nn``, ``dp.problems`` and ``dp.fit``. The original
DeepINN names (``dp.constraint``, ``dp.domain``, ``dp.utils``, ``dp.Model``) live in one corner,
:mod:`deepinn.notebook`. Importing loads no plugin: call ``dp.plugins.load_registry()``. The
training service (Lightning) is imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from deepinn import constraints as constraints
from deepinn import domains as domains
from deepinn import nn as nn
from deepinn import notebook as notebook
from deepinn import operators as operators
from deepinn import plugins as plugins
from deepinn import problems as problems
from deepinn import samplers as samplers
from deepinn import spaces as spaces
from deepinn._errors import ConfigurationError as ConfigurationError
from deepinn._errors import DeepinnError as DeepinnError
from deepinn._errors import DuplicateNameError as DuplicateNameError
from deepinn._errors import GeometryError as GeometryError
from deepinn._errors import PluginError as PluginError
from deepinn._errors import ShapeError as ShapeError
from deepinn._errors import TrainingError as TrainingError
from deepinn._errors import UnknownNameError as UnknownNameError
from deepinn.problems import Problem as Problem

constraint = notebook
"""The original ``dp.constraint`` names (``PDE``, ``DirichletBC``, ``Jacobian``)."""
domain = notebook
"""The original ``dp.domain`` names (``Generic``): :mod:`deepinn.notebook`."""
utils = notebook
"""The original ``dp.utils`` names (``scatter``): :mod:`deepinn.notebook`."""

__version__ = "2.0.0"

_LAZY = {
    "training": ("deepinn.training", None),
    "fit": ("deepinn.training", "fit"),
    "load": ("deepinn.runs", "load"),
    "TrainedRun": ("deepinn.runs", "TrainedRun"),
    "Model": ("deepinn.notebook", "Model"),
}


def __getattr__(name: str) -> Any:
    """Import the Lightning-based parts on first use (keeps ``import deepinn`` light)."""
    if name in _LAZY:
        module_name, attribute = _LAZY[name]
        module = importlib.import_module(module_name)
        value = module if attribute is None else getattr(module, attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'deepinn' has no attribute {name!r}")


__all__ = [
    "ConfigurationError",
    "DeepinnError",
    "DuplicateNameError",
    "GeometryError",
    "Model",
    "PluginError",
    "Problem",
    "ShapeError",
    "TrainedRun",
    "TrainingError",
    "UnknownNameError",
    "constraint",
    "constraints",
    "domain",
    "domains",
    "fit",
    "load",
    "nn",
    "notebook",
    "operators",
    "plugins",
    "problems",
    "samplers",
    "spaces",
    "training",
    "utils",
]
