"""Whether a sound checkpoint belongs to the run that resumes it.

A checkpoint records the configuration that made it (a Python run: a description of it). A
resume whose problem, points, network, dtype, seed, optimizer preset or loss balancing differ is
refused, naming each differing key with both values (and, from the command line, the override
that changed it); a checkpoint that records nothing is refused; weights are checked by name and
shape against the network they are loaded into.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from deepinn._errors import ConfigurationError, Setting

if TYPE_CHECKING:
    from deepinn.problems import Problem
    from deepinn.training.settings._optim import Phase
    from deepinn.training.settings._settings import RunConfig

__all__ = [
    "COMPATIBLE_SECTIONS",
    "PYTHON_API",
    "check_compatible",
    "check_fits",
    "check_steps_left",
    "describe_python_run",
    "optimizer_name",
]

COMPATIBLE_SECTIONS = (
    "problem", "domain", "net", "sampler", "dtype", "seed", "resample_every", "optimizer.name",
    "weighting.name",
)
"""Configuration keys (dotted paths) a resumed run must share with its checkpoint: the problem
and its points (the data module restores the checkpoint's seed and rounds), the network, and the
optimizer preset and loss balancing whose saved state the resumed run loads. The rest may change:
trainer.max_steps, monitor.*, the optimizer's numbers (lr, ...), eval_points, ..."""


def _at(config: Mapping[str, Any] | None, path: str) -> Any:
    node: Any = config
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _flatten(node: Any, prefix: str) -> dict[str, Any]:
    if isinstance(node, Mapping):
        flat: dict[str, Any] = {}
        for key, value in node.items():
            flat.update(_flatten(value, f"{prefix}.{key}"))
        return flat or {prefix: {}}
    return {prefix: node}


PYTHON_API = "python"
"""``hparams["api"]`` of a run started from Python (:func:`describe_python_run`); a Hydra
configuration has no such key. Only configurations of the same kind are compared."""


def optimizer_name(phase: Phase) -> str:
    """The optimizer class a phase builds (``Adam``), looked for in ``functools.partial``s."""
    factory: Any = phase.optimizer
    candidates = [factory]
    while hasattr(factory, "func"):
        candidates += [factory.func, *getattr(factory, "args", ())]
        factory = factory.func
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, torch.optim.Optimizer):
            return candidate.__name__
    return getattr(factory, "__qualname__", type(factory).__name__)


def describe_python_run(
    problem: Problem, network: torch.nn.Module, run: RunConfig, phases: Sequence[Phase]
) -> dict[str, Any]:
    """What a run started from Python keeps on resume, in :data:`COMPATIBLE_SECTIONS`' keys.

    A Python run has no Hydra configuration to store in its checkpoints; this stands in for it,
    so resuming it into another problem, domain, network, sampler, dtype, seed or optimizer is
    refused as it is for a run from the command line. Functions (residuals, sources) are not
    compared: only names, types and sizes, which are the same in every process.
    """
    samplers = {}
    for constraint in problem.constraints:
        sampler: Any = getattr(constraint, "sampler", None)
        if hasattr(sampler, "n_points"):
            samplers[constraint.name] = f"{type(sampler).__name__}({sampler.n_points} points)"
    parameters = sum(p.numel() for p in network.parameters())
    return {
        "api": PYTHON_API,
        "problem": {
            "name": problem.name,
            "outputs": list(problem.outputs),
            "constraints": {c.name: type(c).__name__ for c in problem.constraints},
        },
        "domain": repr(problem.domain),
        "net": f"{type(network).__name__} with {parameters} parameters",
        "sampler": samplers,
        "dtype": run.dtype,
        "seed": run.seed,
        "resample_every": run.resample_every,
        "optimizer": {"name": " then ".join(optimizer_name(phase) for phase in phases)},
        "weighting": {"name": run.weighting.name},
    }


def check_steps_left(path: Path, checkpoint: Mapping[str, Any], max_steps: int) -> None:
    """Refuse a resume that would train nothing: the checkpoint is at ``max_steps`` or beyond."""
    step = int(checkpoint.get("global_step", 0))
    if step >= max_steps:
        raise ConfigurationError(
            f"resume={path}: the checkpoint is at step {step}, and max_steps = {max_steps}, so "
            f"nothing is left to train. Raise max_steps above {step} to train on: {{fix}}",
            fix=[Setting("trainer.max_steps", f"<more than {step}>")],
        )


def _differences(stored: Mapping[str, Any], current: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Each key of :data:`COMPATIBLE_SECTIONS` whose value differs: (key, "old in the checkpoint,
    new now")."""
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for section in COMPATIBLE_SECTIONS:
        old.update(_flatten(_at(stored, section), section))
        new.update(_flatten(_at(current, section), section))
    missing = object()
    return [
        (key, f"{key}: {old.get(key, '(unset)')!r} in the checkpoint, "
              f"{new.get(key, '(unset)')!r} now")
        for key in sorted(set(old) | set(new))
        if old.get(key, missing) != new.get(key, missing)
    ]


def _culprit(key: str, overrides: Mapping[str, str]) -> str | None:
    """The override (as typed) that set ``key`` or a section above it, if one did."""
    for name, typed in overrides.items():
        bare = name.lstrip("+~")
        if key == bare or key.startswith(bare + "."):
            return typed
    return None


_MAY_CHANGE = ("trainer.max_steps, monitor.*, threads, eval_points and the optimizer's numbers "
               "(optimizer.lr, ...) may change")


def check_compatible(
    path: Path,
    stored: Mapping[str, Any],
    current: Mapping[str, Any],
    overrides: Mapping[str, str] | None = None,
) -> None:
    """Refuse a resume whose configuration differs from the checkpoint's in a section of
    :data:`COMPATIBLE_SECTIONS`, or whose checkpoint records no configuration at all (a Python
    run resuming a command-line one or the reverse is not compared: :func:`check_fits` checks
    its weights).

    Args:
        overrides: The overrides given now, by key (``{"net.hidden": "net.hidden=[16]"}``): a
            difference they make is named by its override.

    Raises:
        ConfigurationError: Naming each differing key with both values, and its override.
    """
    if not stored:
        raise ConfigurationError(
            f"resume={path}: the checkpoint records no configuration (its hyper_parameters are "
            "missing or empty), so nothing tells which problem, network and settings it was "
            "made for, and its weights could continue as another problem's. deepinn resumes "
            "only the checkpoints it wrote: resume from the run's own checkpoints/last.ckpt, or "
            "start a new run without resume=."
        )
    if not current or stored.get("api") != current.get("api"):
        return
    differing = _differences(stored, current)
    if not differing:
        return
    keeps = f"A resumed run keeps {', '.join(COMPATIBLE_SECTIONS)}; {_MAY_CHANGE}."
    culprits = {key: _culprit(key, overrides or {}) for key, _ in differing}
    if overrides and all(culprits.values()):
        named: dict[str, list[str]] = {}
        for key, text in differing:
            named.setdefault(str(culprits[key]), []).append(text)
        shown = "; ".join(
            f"the override {typed} changes {'; '.join(texts[:4])}"
            + (f" and {len(texts) - 4} more" if len(texts) > 4 else "")
            for typed, texts in named.items()
        )
        raise ConfigurationError(
            f"resume={path}: {shown}. {keeps} Drop {' '.join(named)} to resume the run, or start "
            "a new run without resume=."
        )
    more = f"; and {len(differing) - 6} more" if len(differing) > 6 else ""
    shown = "; ".join(text for _, text in differing[:6]) + more
    raise ConfigurationError(
        f"resume={path}: the checkpoint was made by another configuration ({shown}). {keeps} "
        + (
            "Resume with the problem, network and settings the checkpoint was made with, or "
            "start a new run without resume=."
            if current.get("api") == PYTHON_API
            else "Resume with the checkpoint's settings (its run folder's .hydra/config.yaml) "
            "or start a new run without resume=."
        )
    )


def check_fits(
    path: Path, saved: Mapping[str, Any], expected: Mapping[str, torch.Tensor]
) -> None:
    """Refuse weights ``saved`` (a checkpoint's ``state_dict``) whose names or shapes differ from
    ``expected`` (the module's), naming the first differences.

    Raises:
        ConfigurationError: The checkpoint does not fit this network.
    """
    missing = [k for k in expected if k not in saved]
    unexpected = [k for k in saved if k not in expected]
    resized = [
        f"{k}: {list(saved[k].shape)} in the checkpoint, {list(v.shape)} in this run"
        for k, v in expected.items()
        if isinstance(saved.get(k), torch.Tensor) and saved[k].shape != v.shape
    ]
    details = (
        ([f"missing {', '.join(missing[:3])}"] if missing else [])
        + ([f"not in this run {', '.join(unexpected[:3])}"] if unexpected else [])
        + resized[:3]
    )
    if details:
        raise ConfigurationError(
            f"resume={path}: the checkpoint does not fit this network ({'; '.join(details)}). "
            "Resume with the problem and network the checkpoint was made with, or start a new "
            "run without resume=."
        )
