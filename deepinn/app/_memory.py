"""A memory estimate of a run from its configuration, checked before anything is allocated.

The estimate is a floor, not a forecast: it counts only what a run certainly holds (the
collocation points and the activations of one forward-and-derivative pass through them, an
adaptive sampler's candidate pool, scored whole, the evaluation set, the weights with their
gradients and Adam's moments), so a run is refused only when it clearly cannot fit in the
memory the machine has available now. Every point count is found wherever the configuration
gives it: a problem's ``problem.n_*`` (any registered problem's, a plugin's included), a
configured problem's ``problem.constraints.<name>.n``, ``sampler.pool_factor`` and
``eval_points``. The refusal names the key that needs the most and the largest value of it
that would fit.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from omegaconf import DictConfig, OmegaConf

from deepinn._errors import ConfigurationError

__all__ = ["MemoryEstimate", "Part", "available_memory", "check_memory", "estimate_memory"]

_FLOAT64 = 8
"""Bytes of a drawn point's coordinate (points are drawn in float64) and of an error value."""


@dataclass(frozen=True)
class Part:
    """What one configuration key makes a run hold.

    Attributes:
        name: What is held (``collocation points``, ``evaluation set``, ...).
        key: The key that sizes it (``problem.constraints.pde.n``).
        value: The key's value.
        unit: Bytes per unit of the value (0: not proportional to one key).
        size: Bytes in all.
    """

    name: str
    key: str
    value: int
    unit: int
    size: int


@dataclass
class MemoryEstimate:
    """Bytes by part, each with the configuration key that drives it."""

    parts: list[Part]

    @property
    def total(self) -> int:
        return sum(part.size for part in self.parts)

    def largest(self) -> Part:
        return max(self.parts, key=lambda part: part.size)


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (``MemAvailable``), or None if unknown."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _plain(node: Any) -> Any:
    if isinstance(node, DictConfig) or OmegaConf.is_config(node):
        return OmegaConf.to_container(node, resolve=False)
    return node


def point_counts(problem: Any, path: str = "problem") -> Iterator[tuple[str, int]]:
    """Every point count of a problem's configuration, with its key: ``n_*`` keys at any depth
    (``problem.n_interior``) and the ``n`` of each entry below (``problem.constraints.pde.n``).
    """
    if isinstance(problem, dict):
        for key, value in problem.items():
            where = f"{path}.{key}"
            name = str(key)
            if (name == "n" or name.startswith("n_")) and _int(value):
                yield where, _int(value)
            elif isinstance(value, (dict, list)):
                yield from point_counts(value, where)
    elif isinstance(problem, list):
        for index, value in enumerate(problem):
            yield from point_counts(value, f"{path}[{index}]")


def _hidden_widths(net: dict[str, Any]) -> list[int]:
    """The hidden layers' widths: ``net.hidden``, or ``net.width`` repeated over the layers of
    ``net.blocks`` residual blocks (three dense layers each, as PirateNet's) or ``net.depth``."""
    if net.get("hidden"):
        return [_int(h) for h in net["hidden"]]
    width = _int(net.get("width"))
    if not width:
        return []
    layers = 3 * _int(net.get("blocks")) + 1 if net.get("blocks") else _int(net.get("depth"))
    return [width] * max(layers, 1)


def estimate_memory(cfg: Any, dim: int = 1) -> MemoryEstimate:
    """The floor of a run's memory from its composed configuration.

    Args:
        cfg: The composed configuration (point counts, ``sampler.pool_factor``,
            ``eval_points``, ``net.hidden``, ``dtype``).
        dim: The domain's number of coordinates.
    """
    width = 8 if str(cfg.get("dtype", "float32")) == "float64" else 4
    counts = list(point_counts(_plain(cfg.get("problem")) or {}))
    hidden = _hidden_widths(_plain(cfg.get("net")) or {})
    lanes = 1 + dim  # the value and its first derivatives, at least
    per_point = dim * width + sum(hidden) * lanes * width
    parts = [
        Part("collocation points and their activations", key, n, per_point, n * per_point)
        for key, n in counts
    ]
    pool_factor = _int((cfg.get("sampler") or {}).get("pool_factor"))
    points = sum(n for _, n in counts)
    if pool_factor and points:
        unit = points * (dim * _FLOAT64 + per_point - dim * width)  # scored whole
        parts.append(Part("adaptive sampler's candidate pool", "sampler.pool_factor",
                          pool_factor, unit, pool_factor * unit))
    eval_points = _int(cfg.get("eval_points"))
    unit = (dim + 2) * _FLOAT64
    parts.append(Part("evaluation set", "eval_points", eval_points, unit, eval_points * unit))
    sizes = [dim, *hidden, 1]
    weights = sum((a + 1) * b for a, b in pairwise(sizes)) * width * 4
    parts.append(Part("network weights (with gradients and optimizer state)", "net.hidden",
                      0, 0, weights))
    return MemoryEstimate(parts)


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if count < 1024 or unit == "PiB":
            return f"{count:.1f} {unit}" if unit != "B" else f"{int(count)} B"
        count /= 1024
    return f"{count:.1f} PiB"


def _fix(part: Part, estimate: MemoryEstimate, available: int) -> str:
    """The part's key and value, and a value of it that fits when one does."""
    room = available - (estimate.total - part.size)
    fits = room // part.unit if part.unit else 0
    if fits >= 1:
        return (
            f"{part.key}={part.value} is too large: lower it, e.g. {part.key}={fits // 2 or 1} "
            f"(at most {fits} fits now)"
        )
    return f"Lower {part.key}"


def check_memory(cfg: Any, dim: int = 1, available: int | None = None) -> MemoryEstimate:
    """Refuse a run whose memory floor exceeds the available memory.

    Raises:
        ConfigurationError: Naming the estimate, its largest part with its key and value, the
            memory available and a value of that key that fits.
    """
    estimate = estimate_memory(cfg, dim)
    available = available_memory() if available is None else available
    if available is not None and estimate.total > available:
        part = estimate.largest()
        raise ConfigurationError(
            f"This run needs at least {_size(estimate.total)} of memory ({part.name}: "
            f"{_size(part.size)}, from {part.key}) but this machine has {_size(available)} "
            f"available. {_fix(part, estimate, available)}, or run on a machine with more "
            "memory."
        )
    return estimate
