"""PDE problems: registered bundles of a domain, constraints and a known solution."""

from deepinn.problems._poisson import sine_product as sine_product
from deepinn.problems._problem import MakeSampler as MakeSampler
from deepinn.problems._problem import Problem as Problem

__all__ = ["MakeSampler", "Problem", "sine_product"]
