"""Finished runs as objects: :func:`load` a run folder, then predict, evaluate residuals and
errors, or export the network (see docs/using_a_trained_model.md)."""

from deepinn.runs._load import load as load
from deepinn.runs._trained import TrainedRun as TrainedRun

__all__ = ["TrainedRun", "load"]
