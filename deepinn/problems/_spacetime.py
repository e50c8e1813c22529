"""Space-time boxes of the 1-D-in-space problems, and the ends of an interval as boundaries."""

from __future__ import annotations

from deepinn._errors import ConfigurationError
from deepinn.domains import AbstractBoundary, Interval
from deepinn.spaces import R1

__all__ = ["SpaceTime", "interval_end", "space_time"]


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
