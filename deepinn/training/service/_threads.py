"""The CPU thread count of a run: ``threads="auto"`` resolved from the machine and the problem.

torch's default intra-op thread count is every core the machine has. On a machine that other
processes keep busy, its OpenMP threads spin-wait for each other at every reduction and a small
PINN's step gets many times slower; and a small network gains little from a second thread even on
an idle machine. ``auto`` therefore takes

- the cores this process may use: its CPU affinity (:func:`os.sched_getaffinity`) capped by a
  cgroup CPU quota (``cpu.max``, or ``cpu.cfs_quota_us`` under cgroup v1) where one is set;
- less the load of the other processes: the one-minute load average (:func:`os.getloadavg`)
  less this process's own share of it;
- one thread when a step's work (points times network parameters) is below
  :data:`MIN_WORK_PER_THREAD` per extra thread: too small to gain from more.

:func:`choose_threads` is the rule on given figures (pure, tested); :func:`resolve_threads`
reads the machine and returns a :class:`ThreadChoice` that says when the machine is
oversubscribed.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from deepinn.problems import Problem

__all__ = [
    "MIN_WORK_PER_THREAD", "ThreadChoice", "apply_threads", "busy_cores", "cgroup_cpu_limit",
    "choose_threads", "count_parameters", "other_load", "problem_points", "resolve_threads",
    "run_threads", "step_work", "usable_cores",
]

logger = logging.getLogger("deepinn.training")

MIN_WORK_PER_THREAD = 10_000_000
"""Points times network parameters a step must hold per thread beyond the first.

P2-like Burgers (MLP 2-20x3-1, about 900 parameters, 2780 points: 2.5e6) runs on one thread;
P1-like Poisson (MLP 2-50x4-1, about 7 800 parameters, 2400 points: 1.9e7), the default problem,
on two where two are free. ``bench/threads.py`` measures both on 1 and 2 threads, with and
without a competing busy process (figures in docs/training_toolbox.md, "Threads").
"""

_CGROUP = Path("/sys/fs/cgroup")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def cgroup_cpu_limit(root: Path = _CGROUP) -> float | None:
    """The CPU quota of this process's cgroup in cores (``cpu.max`` of cgroup v2, or
    ``cpu.cfs_quota_us / cpu.cfs_period_us`` of v1), or None where none is set or readable."""
    candidates: list[tuple[Path, Path | None]] = [(root / "cpu.max", None)]
    own = _read(Path("/proc/self/cgroup")) if root == _CGROUP else None
    for line in (own or "").splitlines():
        if line.startswith("0::") and line[3:].strip("/"):
            candidates.insert(0, (root / line[3:].strip("/") / "cpu.max", None))
    candidates.append((root / "cpu" / "cpu.cfs_quota_us", root / "cpu" / "cpu.cfs_period_us"))
    for quota_path, period_path in candidates:
        text = _read(quota_path)
        if text is None:
            continue
        fields = text.split()
        if period_path is not None:
            period = _read(period_path)
            fields = fields[:1] + ([period] if period else [])
        try:
            quota, period_us = float(fields[0]), float(fields[1])
        except (IndexError, ValueError):  # "max 100000": no quota
            return None
        if quota <= 0 or period_us <= 0:  # v1 writes -1 for no quota
            return None
        return quota / period_us
    return None


def usable_cores() -> int:
    """The cores this process may run on: its affinity, capped by a cgroup CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    limit = cgroup_cpu_limit()
    if limit is not None:
        cores = min(cores, max(1, math.ceil(limit)))
    return max(1, cores)


def other_load() -> float:
    """The one-minute load average less this process's own share (0 where unknown).

    This process's share is estimated from its CPU time: a process that has computed for ``t``
    seconds adds about ``t / 60`` to the one-minute average, up to one (a process that ran on
    several threads a minute ago and waits now is counted as one).
    """
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0
    own = min(1.0, time.process_time() / 60.0)
    return max(0.0, load - own)


def busy_cores(load: float) -> int:
    """The cores a load of other processes keeps busy: the load rounded (0.4 leaves a core
    free, 0.6 does not)."""
    return max(0, math.ceil(load - 0.5))


def step_work(points: int, parameters: int) -> int:
    """A step's work as :func:`choose_threads` measures it: points times network parameters."""
    return max(0, points) * max(0, parameters)


def choose_threads(cores: int, load: float, work: int | None) -> int:
    """The thread count for ``cores`` usable cores, ``load`` other runnable processes and a step
    of ``work`` (:func:`step_work`; None: unknown, not limited by size): at least 1, at most the
    cores the others leave free, and one more than the first only per
    :data:`MIN_WORK_PER_THREAD` of work."""
    threads = min(cores, max(1, cores - busy_cores(load)))
    if work is not None:
        threads = min(threads, 1 + work // MIN_WORK_PER_THREAD)
    return max(1, threads)


@dataclass(frozen=True)
class ThreadChoice:
    """The resolved thread count and the figures it came from."""

    threads: int
    cores: int
    load: float
    setting: int | str | None

    @property
    def busy(self) -> int:
        """Cores the other processes keep busy (their load, rounded)."""
        return busy_cores(self.load)

    @property
    def oversubscribed(self) -> bool:
        """Whether the other processes and this run's threads want more than the usable cores."""
        return self.busy + self.threads > self.cores

    def describe(self) -> str:
        """``2 threads (threads=auto; 2 usable cores, a load of 0.3 from other processes)``."""
        return (
            f"{_count(self.threads, 'thread')} (threads={self.setting}; "
            f"{_count(self.cores, 'usable core')}, a load of {self.load:.1f} from other processes)"
        )


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"


def resolve_threads(
    setting: int | str | None, points: int | None = None, parameters: int | None = None
) -> ThreadChoice:
    """``setting`` (a checked ``RunConfig.threads``) as a thread count: an int stays, None is
    torch's current count, ``"auto"`` is :func:`choose_threads` on this machine for a step of
    ``points`` points through a network of ``parameters`` parameters (either None: size
    unknown)."""
    cores, load = usable_cores(), other_load()
    if isinstance(setting, int):
        threads = setting
    elif setting is None:
        threads = torch.get_num_threads()
    else:
        work = None if points is None or parameters is None else step_work(points, parameters)
        threads = choose_threads(cores, load, work)
    return ThreadChoice(threads=threads, cores=cores, load=load, setting=setting)


def problem_points(problem: Problem) -> int:
    """The points one step of ``problem`` evaluates (its constraints' samplers' ``n_points``;
    a constraint without a sampler counts none)."""
    total = 0
    for constraint in problem.constraints:
        n = getattr(getattr(constraint, "sampler", None), "n_points", None)
        if isinstance(n, int) and not isinstance(n, bool):
            total += n
    return total


def apply_threads(
    setting: int | str | None, problem: Problem, network: torch.nn.Module
) -> ThreadChoice:
    """Resolve ``setting`` for ``problem`` and ``network``, set torch's thread count (None: left
    as it is) and say so on the ``deepinn.training`` logger: a warning when the machine is
    oversubscribed under ``auto`` or torch's default (an explicit count is the user's choice),
    an INFO line when ``auto`` left cores to other processes."""
    choice = resolve_threads(setting, problem_points(problem), count_parameters([network]))
    if setting is not None:
        torch.set_num_threads(choice.threads)
    if setting is not None and not isinstance(setting, str):
        return choice
    if choice.oversubscribed:
        hint = "" if setting is None else "; set threads=N to choose"
        logger.warning(
            "the machine is oversubscribed: training on %s%s", choice.describe(), hint
        )
    elif choice.busy:
        logger.info("other processes keep the CPU busy: training on %s", choice.describe())
    return choice


@contextmanager
def run_threads(
    setting: int | str | None, problem: Problem, network: torch.nn.Module
) -> Iterator[ThreadChoice]:
    """:func:`apply_threads` for a run inside, torch's thread count as it was after (a Python
    caller's later work is not left on the run's choice)."""
    before = torch.get_num_threads()
    try:
        yield apply_threads(setting, problem, network)
    finally:
        torch.set_num_threads(before)


def count_parameters(modules: Iterable[torch.nn.Module]) -> int:
    """The trainable parameters of ``modules`` (each counted once)."""
    seen: dict[int, int] = {}
    for module in modules:
        for parameter in module.parameters():
            if parameter.requires_grad:
                seen[id(parameter)] = parameter.numel()
    return sum(seen.values())
