"""The PINN loss: a problem's constraints evaluated on a network, without a Trainer."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, final

import torch

from deepinn.constraints import AbstractConstraint, Batch, infer_hints
from deepinn.nn import OutputTransform
from deepinn.operators import Field
from deepinn.operators._cache import DerivativeCache
from deepinn.problems import Problem
from deepinn.training.settings._settings import RunConfig, auto_compile_steps
from deepinn.training.step._checks import check_first_batch, check_weights
from deepinn.training.step._compile import CompiledGradient, CompiledLoss, CompiledNetwork
from deepinn.training.step._compile_record import compile_key, record_compiled, was_compiled
from deepinn.training.step._modes import field_mode_for, probe_group
from deepinn.training.step._plan import Points, differentiable_inputs, group_by_order
from deepinn.training.step._residual import pointwise_residual
from deepinn.training.step._whole import compile_whole
from deepinn.training.toolbox._causal import CausalWeighting, Reduce

__all__ = ["PINNLoss", "Points", "group_by_order"]


def _pays_back(
    compile_for: Callable[[int, bool], bool | str],
    max_steps: int | None,
    network: torch.nn.Module,
    points: Points,
    key: str,
) -> bool | str:
    """``compile=auto`` resolved (by ``compile_for``, for a run of ``max_steps``) on the first
    batch, whose size (``network``'s trained parameters x ``points``) is now known: the compile
    is priced warm where a loss of ``key`` was compiled on this machine before (looked up only
    where that can decide), cold otherwise; the choice is logged at INFO."""
    size = sum(len(batch["x"]) for batch in points.values()) * sum(
        p.numel() for p in network.parameters() if p.requires_grad
    )
    warm = bool(compile_for(size, True)) and was_compiled(key)
    choice, steps = compile_for(size, warm), auto_compile_steps(size, warm)
    how = ("the warm compile (a loss of this shape was compiled on this machine before)"
           if warm else "a cold compile")
    if choice:
        logging.getLogger("deepinn.training").info(
            "compile=auto: compiling: a run of %d steps pays back %s from about %d steps",
            max_steps, how, steps,
        )
    else:
        logging.getLogger("deepinn.training").info(
            "compile=auto: the loss runs eager: a run this short would not pay back a compile "
            "of this size (%d parameters x points): %s pays back from about %d steps",
            size, how, steps,
        )
    return choice


def _shape_key(
    loss: PINNLoss,
    points: Points,
    rows: Mapping[str, int] | None,
    parameters: Sequence[torch.Tensor] | None,
) -> str:
    """The key of ``loss``'s compiled graphs for these points (:func:`compile_key`): the loss
    alone, or (``parameters`` given) with its gradient."""
    variant = "loss" if parameters is None else "loss and gradient"
    return compile_key(loss.network, loss.problem.constraints, points, rows, variant, loss._shape)


@final
class PINNLoss:
    """``sum_c weight_c * mean(residual_c ** 2)`` over a problem's constraints.

    Constraints that take derivatives of the same order share one forward pass (their points are
    concatenated and each gets its rows of one :class:`Field`); derivatives go through the
    Field's per-pass cache. A plain callable: no Lightning, no optimizer, no device handling.

    Args:
        problem: The problem whose constraints make the loss.
        network: Maps (N, d) inputs to (N, len(problem.outputs)) outputs. When the problem has
            an ``output_transform``, :attr:`network` is this network wrapped in it
            (:class:`~deepinn.nn.OutputTransform`): the solution is the transformed output.
        run: The run's knobs (default :class:`RunConfig`); read here: ``field_mode`` (see
            :meth:`choose_modes`, :attr:`group_modes` and :attr:`mode_probe`), ``compile``
            (resolved for ``max_steps`` by :meth:`RunConfig.compile_mode`; what it compiles:
            :meth:`choose_modes`) and ``causal`` (its last weights are in
            ``self.causal.last_weights``).
        max_steps: The length of the run the loss trains, if known (for ``compile=auto``).

    Attributes:
        reduce: None, or a function summing a tensor over the DDP ranks; the training module
            sets it under DDP so the causal chunk losses (hence the weights) are global.

    Raises:
        ConfigurationError: Every constraint has weight 0, or causal training is asked of a
            problem without a space-time PDE constraint.
    """

    def __init__(
        self,
        problem: Problem,
        network: torch.nn.Module,
        run: RunConfig | None = None,
        *,
        max_steps: int | None = None,
    ) -> None:
        run = run if run is not None else RunConfig()
        self.problem = problem
        transform = problem.output_transform
        if transform is not None and getattr(network, "transform", None) is not transform:
            network = OutputTransform(network, transform)  # not twice (a fit's result network)
        self.network = network
        self.field_mode = run.field_mode
        check_weights(problem)
        for constraint in problem.constraints:
            if constraint.infer_hints:  # a Python residual without hints: record them once
                infer_hints(constraint, network, problem.outputs)
                constraint.infer_hints = False
        self.groups = group_by_order(problem.constraints, problem.space)
        self.causal = CausalWeighting(run.causal, problem.constraints)
        self.reduce: Reduce | None = None
        self.compile = run.compile_mode(max_steps)
        self._compile_for = functools.partial(run.compile_mode, max_steps)  # and a size
        self._max_steps = max_steps
        # what of the run, besides the network and the points, shapes the compiled graphs
        self._shape = (run.field_mode, repr(run.causal), repr(problem.space), *problem.outputs)
        self._passes: tuple[CompiledNetwork, CompiledNetwork] | None = None
        if self.compile is True:
            self._passes = (CompiledNetwork(network, True), CompiledNetwork(network, False))
        self.whole: CompiledLoss | CompiledGradient | None = None
        """The whole loss under ``torch.compile`` (with its gradient when :meth:`choose_modes`
        was given the parameters), once :meth:`choose_modes` found it possible."""
        self.group_modes: dict[str, str] | None = None  # first member's name -> mode (auto)
        self.mode_probe: dict[str, dict[str, float]] = {}  # first member's name -> seconds
        self._joins: list[tuple[list[torch.Tensor], torch.Tensor]] = []
        self.saved_modes: dict[str, str] | None = None
        """A resumed checkpoint's ``group_modes``: taken, under ``compile=auto``, when the
        whole loss cannot be compiled (the probe is not run again)."""

    @property
    def compiled(
        self,
    ) -> tuple[CompiledLoss | CompiledGradient] | tuple[CompiledNetwork, CompiledNetwork] | None:
        """What runs compiled (each with ``warmup_s`` and ``failure``): the whole loss (with its
        gradient), or the network's passes (value-only, derivatives); None in eager mode."""
        return (self.whole,) if self.whole is not None else self._passes

    def _network_for(self, order: int) -> Any:
        """The callable a group of ``order`` evaluates: compiled forward for values only."""
        if self._passes is None:
            return self.network
        return self._passes[0] if order == 0 else self._passes[1]

    def choose_modes(
        self,
        points: Points,
        rows: Mapping[str, int] | None = None,
        parameters: Sequence[torch.Tensor] | None = None,
    ) -> dict[str, str]:
        """``auto``: per group, forward lanes or nested autograd, whichever a probe finds faster.

        Only groups where the network offers forward derivatives and the residuals declared their
        second derivatives have a choice; under ``compile`` the lanes are kept (they compile).
        The training module calls this once, on its first batch (cached for the run, logged at
        INFO); until then (a loss used on its own) ``auto`` takes the lanes wherever offered.
        The first batch is checked first (see :func:`check_first_batch`).

        Under ``compile`` it then decides whether the whole loss is compiled
        (:class:`CompiledLoss`: forward lanes, residuals, reductions, weighted sum, and so its
        backward): where an eager evaluation takes no nested ``autograd.grad`` (compiled graphs
        cannot be differentiated twice). Otherwise ``compile=true`` compiles the network's
        passes (:class:`CompiledNetwork`, as it did until then) and ``compile=auto`` runs eager:
        the probe runs (or a resumed run's :attr:`saved_modes` are taken). ``rows`` are the
        training step's (as for :meth:`__call__`), so the graph compiled here is the one the
        steps run.

        ``parameters``: the caller takes the gradients from :meth:`loss_and_gradient`, with
        respect to these: the whole loss is compiled with its gradient in one graph
        (:class:`CompiledGradient`), no longer for :meth:`__call__`, which then runs eager.
        """
        self.group_modes = {}
        check_first_batch(
            self.problem, self.network, points, rows,
            lambda points, rows: self._evaluate(points, rows, self.network)[1],
        )
        auto = self.compile == "auto"
        key = _shape_key(self, points, rows, parameters) if self.compile else None
        if auto and key is not None:  # now the size is known: does a compile pay back?
            self.compile = _pays_back(self._compile_for, self._max_steps, self.network, points,
                                      key)
        if self.compile:
            self.whole = compile_whole(
                lambda points, rows: self._evaluate(points, rows, self.network),
                self.network, self.compile, points, rows, parameters,
            )
            if self.whole is not None and self.whole.failure is None and key is not None:
                record_compiled(key)  # a later run of this shape finds the compile warm
            if self.compile is True or self.whole is not None:
                return self.group_modes
        if auto and self.saved_modes is not None:  # a resumed run: no probe again
            self.group_modes = dict(self.saved_modes)
            return self.group_modes
        if self.field_mode != "auto":
            return self.group_modes
        for second_order, laplacian_only, members in self.groups:
            probed = probe_group(self.network, self.problem.space, self.problem.outputs, members,
                                 points, second_order, laplacian_only)
            if probed is not None:
                self.group_modes[members[0].name], self.mode_probe[members[0].name] = probed
        return self.group_modes

    def __call__(
        self, points: Points, rows: Mapping[str, int] | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The total loss and each constraint's weighted loss for one batch of points.

        ``rows`` holds each constraint's global number of points: a shard contributes
        ``weight * sum(residual ** 2) / (rows * columns)``, its part of the global mean, so the
        sum of the shards' losses is the global loss and the sum of their gradients its gradient
        (the training module sums them over the DDP ranks in one all-reduce). Without ``rows``
        the batch is the whole set: each constraint's loss is ``weight * mean(residual ** 2)``.

        Args:
            points: Each constraint's batch, by constraint name.
            rows: Each constraint's global number of points (default: its batch's rows).

        Returns:
            The total (a 0-d tensor with a graph) and each constraint's loss, by name.
        """
        if isinstance(self.whole, CompiledLoss):
            result: tuple[torch.Tensor, dict[str, torch.Tensor]] = self.whole(
                differentiable_inputs(points), rows
            )
            return result
        total, losses, _ = self._evaluate(points, rows)
        return total, losses

    def loss_and_gradient(
        self,
        points: Points,
        rows: Mapping[str, int] | None,
        parameters: Sequence[torch.Tensor],
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], tuple[torch.Tensor | None, ...]]:
        """:meth:`__call__`'s total and losses, detached, and the total's gradient with respect
        to each of ``parameters`` (None where it does not depend on one): through the compiled
        loss and gradient when :meth:`choose_modes` made one, else eager."""
        if isinstance(self.whole, CompiledGradient):
            return self.whole(parameters, differentiable_inputs(points), rows)
        total, losses = self(points, rows)
        gradients = torch.autograd.grad(total, list(parameters), allow_unused=True)
        return total.detach(), {name: value.detach() for name, value in losses.items()}, gradients

    def _joined(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        """``torch.cat(inputs)``, made again only when an input is another tensor or was
        written to since (full-batch training passes the same points at every step)."""
        if torch.compiler.is_compiling():
            return torch.cat(inputs)
        key = [(id(t), t._version) for t in inputs]
        for cached, joined in self._joins:
            if [(id(t), t._version) for t in cached] == key:
                return joined
        joined = torch.cat(inputs)
        if joined.requires_grad:  # a graph of this step: never kept
            return joined
        self._joins = [(inputs, joined), *self._joins[:3]]  # holds the inputs: ids stay theirs
        return joined

    def _evaluate(
        self, points: Points, rows: Mapping[str, int] | None, network: Any = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], DerivativeCache]:
        """:meth:`__call__` eager, through ``network`` (default: the compiled passes or the
        network), with the derivative cache its Fields shared (``calls``: nested grads)."""
        losses: dict[str, torch.Tensor] = {}
        modes = self.group_modes or {}
        cache = DerivativeCache()
        for second_order, laplacian_only, members in self.groups:
            inputs = [c.inputs(points[c.name]) for c in members]
            x = inputs[0] if len(inputs) == 1 else self._joined(inputs)
            field = Field(
                network if network is not None else self._network_for(members[0].order),
                x,
                self.problem.space,
                output_names=self.problem.outputs,
                mode=field_mode_for(self.field_mode, modes.get(members[0].name)),
                second_order=second_order,
                laplacian_only=laplacian_only,
                cache=cache,
            )
            start = 0
            for constraint, part in zip(members, inputs, strict=True):
                view = field if len(members) == 1 else field.rows(slice(start, start + len(part)))
                start += len(part)
                batch = points[constraint.name]
                residual = constraint.checked_residual(view, batch)
                count = rows[constraint.name] if rows is not None else batch["x"].shape[0]
                if self.causal.applies_to(constraint.name):
                    causal = self.causal.loss(
                        constraint.name, batch["x"], residual, count, self.reduce
                    )
                    losses[constraint.name] = constraint.weight * causal
                    continue
                scale = constraint.weight / (count * residual.shape[1])  # one multiply
                losses[constraint.name] = residual.square().sum() * scale
        terms = iter(losses.values())
        total = next(terms)
        for term in terms:  # a few adds: no stack and sum, each a kernel forward and backward
            total = total + term
        return total, losses, cache

    def pointwise_residual(
        self,
        constraint: AbstractConstraint | str,
        batch: Batch | torch.Tensor,
        chunk: int = 32_768,
    ) -> torch.Tensor:
        """``|residual|`` of ``constraint`` at each point, (N,): see :func:`pointwise_residual`
        (the adaptive samplers' score)."""
        return pointwise_residual(self, constraint, batch, chunk)
