"""Helpers the problem modules share: dimension checks, space-time boxes, reference data."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from deepinn._errors import ConfigurationError
from deepinn.domains import AbstractBoundary, AbstractDomain, Interval
from deepinn.spaces import R1

__all__ = [
    "DATA_DIR",
    "SpaceTime",
    "check_counts",
    "check_positive",
    "interval_end",
    "load_grid_reference",
    "require_dim",
    "space_time",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
"""Where the reference solutions (``.npz``, written by the scripts in ``scripts/``) live."""

_DOMAIN_EXAMPLES = {
    1: "domain=interval",
    2: "domain=parallelogram (or circle, triangle, polygon)",
    3: "domain=box (or sphere)",
}


def require_dim(problem: str, domain: AbstractDomain, dims: Sequence[int]) -> None:
    """Fail with the domain's dimension and the valid choices unless ``domain.dim`` is in ``dims``.

    Raises:
        ConfigurationError: The domain has another dimension.
    """
    if domain.dim in dims:
        return
    wanted = " or ".join(f"{d}-D" for d in dims)
    examples = "; ".join(_DOMAIN_EXAMPLES[d] for d in dims if d in _DOMAIN_EXAMPLES)
    raise ConfigurationError(
        f"Problem {problem!r} needs a {wanted} domain; {domain!r} has dimension {domain.dim}. "
        f"Pick {examples}."
    )


def check_counts(problem: str, **counts: int) -> None:
    """Fail unless every named point count is a positive int.

    Raises:
        ConfigurationError: Naming the count and its value.
    """
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigurationError(
                f"problem={problem}: {name} = {value!r}; a constraint needs a positive number of "
                f"points, e.g. problem.{name}=1000."
            )


def check_positive(problem: str, **values: float) -> None:
    """Fail unless every named parameter is a finite number > 0.

    Raises:
        ConfigurationError: Naming the parameter and its value.
    """
    for name, value in values.items():
        if not (float(value) > 0.0 and float(value) < float("inf")):
            raise ConfigurationError(
                f"problem={problem}: {name} = {value!r}; it must be a finite number > 0."
            )


def interval_end(interval: Interval, side: str) -> AbstractBoundary:
    """The end point ``'lower'`` or ``'upper'`` of an interval, as a boundary piece with a normal.

    Raises:
        ConfigurationError: ``side`` is neither.
    """
    if side not in ("lower", "upper"):
        raise ConfigurationError(f"interval_end side={side!r}; use 'lower' or 'upper'.")
    sign = -1.0 if side == "lower" else 1.0
    for part in interval.boundary.parts:
        if float(part.normal(part.sample_uniform(1))[0, 0]) == sign:
            return part
    raise ConfigurationError(f"{interval!r} has no {side} end.")  # unreachable for an Interval


class SpaceTime:
    """A 1-D space-time box ``[x_lower, x_upper] x [0, t_end]`` in ``R1(x) * R1(t)``.

    Attributes:
        space_interval: ``[x_lower, x_upper]`` in ``R1(x)`` (initial conditions sample it).
        time_interval: ``[0, t_end]`` in ``R1(t)``.
        domain: Their product (the interior; columns ``x`` then ``t``).
        lateral: The spatial boundary times the time interval (where boundary conditions hold).
        left: The face ``x = x_lower`` times the time interval (periodic conditions sample it).
    """

    def __init__(
        self, x_lower: float, x_upper: float, t_end: float, x: str = "x", t: str = "t"
    ) -> None:
        self.space_interval = Interval(R1(x), x_lower, x_upper)
        self.time_interval = Interval(R1(t), 0.0, t_end)
        self.domain = self.space_interval * self.time_interval
        self.lateral = self.space_interval.boundary * self.time_interval
        self.left = interval_end(self.space_interval, "lower") * self.time_interval


def space_time(x_lower: float, x_upper: float, t_end: float) -> SpaceTime:
    """The box ``[x_lower, x_upper] x [0, t_end]`` in ``R1('x') * R1('t')``."""
    return SpaceTime(x_lower, x_upper, t_end)


def load_grid_reference(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Read ``data/<name>.npz`` (arrays ``x`` (n_x,), ``t`` (n_t,), ``u`` (n_t, n_x)).

    Returns:
        ``(points, values)``: float64 points (n_t * n_x, 2) with columns ``(x, t)`` and the
        solution there, (n_t * n_x, 1).

    Raises:
        ConfigurationError: The file is missing (with the script that writes it).
    """
    path = DATA_DIR / f"{name}.npz"
    if not path.is_file():
        raise ConfigurationError(
            f"Reference solution {path} is missing; regenerate it with "
            f"`python scripts/{name}_reference.py` from the repository root."
        )
    with np.load(path) as data:
        x, t, u = (torch.as_tensor(data[key], dtype=torch.float64) for key in ("x", "t", "u"))
    grid_t, grid_x = torch.meshgrid(t, x, indexing="ij")
    points = torch.stack([grid_x.reshape(-1), grid_t.reshape(-1)], dim=1)
    return points, u.reshape(-1, 1)
