"""A memory estimate of a run from its configuration, checked before anything is allocated.

The estimate is a floor, not a forecast: it counts only what a run certainly holds (the
collocation points and the activations of one forward-and-derivative pass through them, the
evaluation set, the weights with their gradients and Adam's moments), so a run is refused only
when it clearly cannot fit in the memory the machine has available now.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from deepinn._errors import ConfigurationError

__all__ = ["MemoryEstimate", "available_memory", "check_memory", "estimate_memory"]


@dataclass
class MemoryEstimate:
    """Bytes by part, each with the configuration keys that drive it."""

    parts: dict[str, tuple[int, str]]

    @property
    def total(self) -> int:
        return sum(size for size, _ in self.parts.values())

    def largest(self) -> tuple[str, int, str]:
        name, (size, keys) = max(self.parts.items(), key=lambda item: item[1][0])
        return name, size, keys


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


def estimate_memory(cfg: Any, dim: int = 1) -> MemoryEstimate:
    """The floor of a run's memory from its composed configuration.

    Args:
        cfg: The composed configuration (``problem.n_*`` point counts, ``eval_points``,
            ``net.hidden``, ``dtype``).
        dim: The domain's number of coordinates.
    """
    width = 8 if str(cfg.get("dtype", "float32")) == "float64" else 4
    problem = cfg.get("problem") or {}
    counts = {f"problem.{k}": _int(v) for k, v in problem.items() if str(k).startswith("n_")}
    points = sum(counts.values())
    hidden = [_int(h) for h in (cfg.get("net") or {}).get("hidden") or []]
    lanes = 1 + dim  # the value and its first derivatives, at least
    activations = points * sum(hidden) * lanes * width
    sizes = [dim, *hidden, 1]
    weights = sum((a + 1) * b for a, b in pairwise(sizes)) * width * 4
    eval_points = _int(cfg.get("eval_points"))
    point_keys = ", ".join(k for k, v in counts.items() if v) or "problem.n_*"
    return MemoryEstimate(
        {
            "collocation points": (points * dim * width, point_keys),
            "network activations over the points": (activations, f"{point_keys}, net.hidden"),
            "evaluation set": (eval_points * (dim + 2) * 8, "eval_points"),
            "network weights (with gradients and optimizer state)": (weights, "net.hidden"),
        }
    )


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if count < 1024 or unit == "PiB":
            return f"{count:.1f} {unit}" if unit != "B" else f"{int(count)} B"
        count /= 1024
    return f"{count:.1f} PiB"


def check_memory(cfg: Any, dim: int = 1, available: int | None = None) -> MemoryEstimate:
    """Refuse a run whose memory floor exceeds the available memory.

    Raises:
        ConfigurationError: Naming the estimate, its largest part and keys, and the memory
            available.
    """
    estimate = estimate_memory(cfg, dim)
    available = available_memory() if available is None else available
    if available is not None and estimate.total > available:
        name, size, keys = estimate.largest()
        raise ConfigurationError(
            f"This run needs at least {_size(estimate.total)} of memory ({name}: {_size(size)}, "
            f"from {keys}) but this machine has {_size(available)} available. Lower {keys}, or "
            "run on a machine with more memory."
        )
    return estimate
