"""``fit``: check a run's arguments, then train once or, under time marching, window by window."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from deepinn._errors import ConfigurationError
from deepinn.problems import Problem
from deepinn.training.marching._marching_fit import fit_marching
from deepinn.training.service._chosen_callbacks import CallbackChoice, chosen_callbacks
from deepinn.training.service._compatible import describe_python_run, optimizer_name
from deepinn.training.service._fit import FitResult, train_once
from deepinn.training.settings._optim import Phase
from deepinn.training.settings._presets import adam
from deepinn.training.settings._settings import RunConfig

__all__ = ["fit"]


def fit(
    problem: Problem,
    network: torch.nn.Module,
    config: RunConfig | None = None,
    *,
    phases: Sequence[Phase] | Phase | None = None,
    max_steps: int = 2000,
    run_dir: str | Path | None = None,
    trainer_options: Mapping[str, Any] | None = None,
    logger: bool = True,
    hparams: Mapping[str, Any] | None = None,
    callbacks: CallbackChoice = None,
    **knobs: Any,
) -> FitResult:
    """Train ``network`` on ``problem`` and return the metrics.

    Args:
        problem: The PDE problem.
        network: The network; moved to the run's dtype.
        config: The run's knobs (:class:`RunConfig`: seed, dtype, field_mode, compile,
            resample_every, eval_points, resume, threads, allocator, monitor intervals).
        phases: Optimizer phases (default: Adam, lr 1e-3, for all steps), or one phase
            (``deepinn.training.lbfgs()``).
        max_steps: Total number of optimizer steps over all phases.
        run_dir: Folder for TensorBoard logs, checkpoints, plots, ``metrics.json`` and
            ``predictions.npz``; None keeps nothing on disk.
        trainer_options: Extra ``lightning.Trainer`` arguments (accelerator, devices, strategy).
        logger: Log to TensorBoard (needs ``run_dir``).
        hparams: The plain configuration, stored in checkpoints and TensorBoard. Without it (a
            run started from Python) a description of the run stands in
            (``describe_python_run``: the problem's name, outputs and constraints, the domain,
            the network's size, the samplers, dtype, seed and optimizers), so that resuming
            into another problem or setting is refused as for a run from the command line.
        callbacks: Lightning callbacks given to the trainer after deepinn's own: callback
            objects or registered callback names (``["early_stop"]``; ``deepinn plugins
            --kind callbacks`` lists them), or a mapping of names to their parameters
            (``{"early_stop": {"patience": 200}}``). A time-marching run gives the same
            objects to every window's trainer.
        **knobs: Fields of ``config`` to change, by name (``seed=1,
            dtype=torch.float64, log_every=5``; monitor intervals may be given flat).

    Returns:
        A :class:`FitResult` with ``metrics`` (rel_l2, final_loss, loss_per_constraint, steps,
        wall_time_s).

    Raises:
        ConfigurationError: An unknown knob or a bad value (before anything is trained).
    """
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps <= 0:
        raise ConfigurationError(f"max_steps = {max_steps!r}; use a positive number of steps.")
    _check_network(problem, network)
    run = (config or RunConfig()).replace(**knobs)
    if isinstance(phases, Phase):
        phases = [phases]
    if phases is not None and (
        isinstance(phases, str) or not all(isinstance(p, Phase) for p in phases)
    ):
        raise ConfigurationError(
            f"fit: phases = {phases!r}; give optimizer phases, e.g. "
            "phases=deepinn.training.adam(lr=1e-3), adam_lbfgs(adam_steps=1000) or lbfgs(), or "
            "a list of deepinn.training.Phase."
        )
    phases = list(phases) if phases is not None else adam()
    _warn_unreached_phases(phases, max_steps)
    extra = chosen_callbacks(callbacks)
    if extra:
        options = dict(trainer_options or {})
        trainer_options = {**options, "callbacks": [*options.get("callbacks", []), *extra]}
    if hparams is None:  # a run started from Python: what a resume must share with it
        hparams = describe_python_run(problem, network, run, phases)
    strategy = fit_marching if run.marching.enabled else train_once
    return strategy(
        problem, network, run, phases, max_steps, run_dir, trainer_options, logger, hparams
    )


def _warn_unreached_phases(phases: Sequence[Phase], max_steps: int) -> None:
    """Warn of optimizer phases that start at or after ``max_steps``: they would never run."""
    start = 0
    for index, phase in enumerate(phases):
        if index > 0 and start >= max_steps:
            warnings.warn(
                f"Optimizer phase {index} ({optimizer_name(phase)}) starts at step {start}, but "
                f"the run stops at max_steps = {max_steps}: it never runs. Raise max_steps "
                "(trainer.max_steps) above the steps before it, or shorten those "
                "(optimizer.adam_steps).",
                UserWarning,
                stacklevel=3,
            )
            return
        start += phase.steps or 0


def _check_network(problem: Problem, network: Any) -> None:
    """Refuse what cannot be ``problem``'s network: not a torch module, or (where the network
    says so, as ``in_dim`` / ``out_dim``) another number of inputs or outputs."""
    if not isinstance(problem, Problem):
        raise ConfigurationError(
            f"fit: problem = {problem!r} is a {type(problem).__name__}, not a deepinn.Problem; "
            "build one with dp.Problem(name, domain, constraints, ...)."
        )
    dim, names = problem.space.dim, problem.space.coordinate_names()
    outputs = len(problem.outputs)
    example = f"dp.nn.FullyConnected([{dim}, 32, 32, {outputs}], 'tanh')"
    if not isinstance(network, torch.nn.Module):
        raise ConfigurationError(
            f"fit: network = {network!r} is a {type(network).__name__}, not a torch.nn.Module "
            f"(its weights are what fit trains); give one, e.g. {example}."
        )
    in_dim, out_dim = getattr(network, "in_dim", None), getattr(network, "out_dim", None)
    if isinstance(in_dim, int) and in_dim != dim:
        raise ConfigurationError(
            f"fit: the network takes {in_dim} inputs, but problem {problem.name!r} is posed in "
            f"{problem.space!r}: {dim} coordinate(s) {list(names)}. Build the network with "
            f"{dim} inputs, e.g. {example}."
        )
    if isinstance(out_dim, int) and out_dim != outputs:
        raise ConfigurationError(
            f"fit: the network has {out_dim} outputs, but problem {problem.name!r} has "
            f"{outputs}: {list(problem.outputs)}. Build it with one output per problem output, "
            f"e.g. {example}."
        )
