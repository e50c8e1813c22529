"""Samplers: draw reproducible point sets (random, grid, quasi-random, residual-adaptive)."""

from deepinn.samplers._abstract import AbstractSampler as AbstractSampler
from deepinn.samplers._abstract import FilterFn as FilterFn
from deepinn.samplers._adaptive import AdaptiveSampler as AdaptiveSampler
from deepinn.samplers._adaptive import ResidualFn as ResidualFn
from deepinn.samplers._factory import SamplerFactory as SamplerFactory
from deepinn.samplers._grid import GridSampler as GridSampler
from deepinn.samplers._quasi import HaltonSampler as HaltonSampler
from deepinn.samplers._quasi import LatinHypercubeSampler as LatinHypercubeSampler
from deepinn.samplers._quasi import SobolSampler as SobolSampler
from deepinn.samplers._random import RandomUniformSampler as RandomUniformSampler

__all__ = [
    "AbstractSampler",
    "AdaptiveSampler",
    "FilterFn",
    "GridSampler",
    "HaltonSampler",
    "LatinHypercubeSampler",
    "RandomUniformSampler",
    "ResidualFn",
    "SamplerFactory",
    "SobolSampler",
]
