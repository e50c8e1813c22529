"""The PINN loss: a problem's constraints evaluated on a network, without a Trainer."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, final

import torch

from deepinn._errors import ConfigurationError
from deepinn.constraints import AbstractConstraint, Batch, infer_hints
from deepinn.nn import OutputTransform
from deepinn.operators import FIELD_MODES, Field
from deepinn.operators._cache import DerivativeCache
from deepinn.operators._field import offers_forward_derivatives, time_modes
from deepinn.operators._names import resolve_columns
from deepinn.problems import Problem
from deepinn.problems._problem import mostly_outside
from deepinn.spaces import Space
from deepinn.training.step._compile import (
    CompiledGradient,
    CompiledLoss,
    CompiledNetwork,
    compile_choice,
)
from deepinn.training.toolbox._causal import CausalConfig, CausalWeighting, Reduce

__all__ = ["PINNLoss", "group_by_order"]

Points = Mapping[str, Batch]
"""One batch of points: each constraint's name to its sampled batch (``{"x": ..., ...}``)."""


class _Group(NamedTuple):
    """Constraints evaluated in one forward pass, and what their residuals need."""

    second_order: tuple[str, ...] | None
    laplacian_only: bool
    members: list[AbstractConstraint]


def group_by_order(constraints: Sequence[AbstractConstraint], space: Space) -> list[_Group]:
    """Constraints of one derivative order, with the union of their second-order hints.

    Hints are compared by the columns they name (``'x'`` and ``('x0', 'x1')`` agree). The group
    takes a single Laplacian lane only when every member asks for the Laplacian over the same
    columns: a member without that promise may ask for a single second derivative, which the lane
    cannot give without a double backward (not available under compile).

    Returns:
        One group per derivative order, in increasing order; members keep the problem's order.
    """
    groups: dict[int, list[AbstractConstraint]] = {}
    for constraint in constraints:
        groups.setdefault(constraint.order, []).append(constraint)
    names = space.coordinate_names()
    result = []
    for order in sorted(groups):
        members = groups[order]
        hints = [
            frozenset(resolve_columns(space, list(c.second_order)))
            for c in members
            if c.second_order is not None
        ]
        second = tuple(names[i] for i in sorted(frozenset().union(*hints))) if hints else None
        laplacian_only = len(set(hints)) == 1 and all(
            c.second_order is not None and c.laplacian_only for c in members
        )
        result.append(_Group(second, laplacian_only, members))
    return result


def _differentiable_inputs(points: Points) -> dict[str, Batch]:
    """``points`` with each batch's ``x`` a leaf that requires grad.

    For the compiled whole loss: made here, outside the graph. A :class:`Field` given points
    that do not require grad calls ``requires_grad_`` on them, which splits a compiled graph at
    that point (one piece per group of constraints, each a graph of its own and a separate
    backward, about 1.5x slower on Burgers).
    """
    return {
        name: dict(batch, x=batch["x"].detach().requires_grad_(True))
        for name, batch in points.items()
    }


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
        field_mode: ``auto`` (per group, the forward Laplacian where the network offers it or
            nested autograd, whichever a short timed probe on the first batch finds faster;
            see :attr:`group_modes` and :attr:`mode_probe`), ``reverse`` or
            ``forward`` (torch.func forward mode), passed to :class:`Field`.
        compile: ``True``: run through ``torch.compile``, falling back to eager mode with a
            warning. :meth:`choose_modes` (the training module calls it on the first batch)
            compiles the whole loss (:class:`CompiledLoss`: forward lanes, residuals,
            reductions, weighted sum, and so its backward) when an eager evaluation takes no
            nested ``autograd.grad`` (compiled graphs cannot be differentiated twice); otherwise,
            and until then, the network's passes (:class:`CompiledNetwork`). ``"auto"``: the
            whole loss where it can be compiled, else eager (with ``field_mode=auto``'s probe),
            every fallback logged at INFO, not warned. ``False``: eager. (``fit`` turns
            ``auto`` into ``False`` for runs shorter than :data:`AUTO_COMPILE_STEPS`.)
        causal: Causal weighting in time of the space-time PDE residuals
            (:class:`CausalConfig`; default off). Its last weights are in
            ``self.causal.last_weights``.

    Attributes:
        reduce: None, or a function summing a tensor over the DDP ranks; the training module
            sets it under DDP so the causal chunk losses (hence the weights) are global.

    Raises:
        ConfigurationError: ``field_mode`` is not one of :data:`FIELD_MODES`, or causal
            training is asked of a problem without a space-time PDE constraint.
    """

    def __init__(
        self,
        problem: Problem,
        network: torch.nn.Module,
        field_mode: str = "auto",
        compile: bool | str = False,
        causal: CausalConfig | None = None,
    ) -> None:
        if field_mode not in FIELD_MODES:
            raise ConfigurationError(
                f"field_mode = {field_mode!r}; valid modes are {list(FIELD_MODES)}."
            )
        compile = compile_choice(compile)
        self.problem = problem
        transform = problem.output_transform
        if transform is not None and getattr(network, "transform", None) is not transform:
            network = OutputTransform(network, transform)  # not twice (a fit's result network)
        self.network = network
        self.field_mode = field_mode
        if all(constraint.weight == 0 for constraint in problem.constraints):
            raise ConfigurationError(
                f"Every constraint of problem {problem.name!r} has weight 0, so the loss is 0 "
                "and training would change nothing; give at least one a positive weight "
                "(problem.weights.<name>=1, weight: in a problem=custom entry, or "
                "constraint.weight in Python)."
            )
        for constraint in problem.constraints:
            if constraint.infer_hints:  # a Python residual without hints: record them once
                infer_hints(constraint, network, problem.outputs)
                constraint.infer_hints = False
        self.groups = group_by_order(problem.constraints, problem.space)
        self.causal = CausalWeighting(causal or CausalConfig(), problem.constraints)
        self.reduce: Reduce | None = None
        self.compile = compile
        self._passes: tuple[CompiledNetwork, CompiledNetwork] | None = None
        if compile is True:
            self._passes = (CompiledNetwork(network, True), CompiledNetwork(network, False))
        self.whole: CompiledLoss | CompiledGradient | None = None
        """The whole loss under ``torch.compile`` (with its gradient when :meth:`choose_modes`
        was given the parameters), once :meth:`choose_modes` found it possible."""
        self.group_modes: dict[str, str] | None = None  # first member's name -> mode (auto)
        self.mode_probe: dict[str, dict[str, float]] = {}  # first member's name -> seconds
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
        Under ``compile`` it first decides whether the whole loss is compiled (see the
        ``compile`` argument); ``rows`` are the training step's (as for :meth:`__call__`), so the
        graph compiled here is the one the steps run. Under ``compile="auto"``, when it is not,
        the probe runs (or a resumed run's :attr:`saved_modes` are taken).

        ``parameters``: the caller takes the gradients from :meth:`loss_and_gradient`, with
        respect to these: the whole loss is compiled with its gradient in one graph
        (:class:`CompiledGradient`), no longer for :meth:`__call__`, which then runs eager.
        """
        self.group_modes = {}
        self._check_terms_train(points, rows)
        if self.compile:
            self._compile_whole_if_possible(points, rows, parameters)
            if self.compile is True or self.whole is not None:
                return self.group_modes
            if self.saved_modes is not None:
                self.group_modes = dict(self.saved_modes)
                return self.group_modes
        if self.field_mode != "auto":
            return self.group_modes
        for second_order, laplacian_only, members in self.groups:
            if second_order is None or not offers_forward_derivatives(self.network, laplacian_only):
                continue

            def evaluate(
                mode: str,
                members: list[AbstractConstraint] = members,
                second_order: tuple[str, ...] = second_order,
                laplacian_only: bool = laplacian_only,
            ) -> torch.Tensor:
                inputs = [c.inputs(points[c.name]) for c in members]
                field = Field(self.network, torch.cat(inputs), self.problem.space,
                              output_names=self.problem.outputs, mode=mode,
                              second_order=second_order, laplacian_only=laplacian_only)
                terms, start = [], 0
                for c, part in zip(members, inputs, strict=True):
                    view = field.rows(slice(start, start + len(part)))
                    start += len(part)
                    terms.append(c.checked_residual(view, points[c.name]).square().mean())
                return torch.stack(terms).sum()

            chosen, seconds = time_modes(evaluate, list(self.network.parameters()))
            self.group_modes[members[0].name] = chosen
            self.mode_probe[members[0].name] = seconds
            logging.getLogger("deepinn.training").info(
                "field_mode=auto: %s for %s (probe ms: %s)", chosen, [c.name for c in members],
                {m: round(1e3 * t, 3) for m, t in seconds.items()},
            )
        return self.group_modes

    def _check_points_inside(self, points: Points) -> None:
        """Refuse a constraint most of whose network inputs lie outside the problem's domain: an
        initial time outside the time range, a periodic shift along the wrong coordinate."""
        for constraint in self.problem.constraints:
            x = constraint.inputs(points[constraint.name])
            outside = mostly_outside(self.problem.domain, x)
            if outside is not None:
                raise ConfigurationError(
                    f"Constraint {constraint.name!r}: {100 * outside[0]:.0f}% of its points (e.g. "
                    f"{outside[1]}) lie outside the problem's domain {self.problem.domain!r}, "
                    "where the network is not trained to mean anything. Check its placement: an "
                    "initial time t0 inside the time range, a periodic shift along the periodic "
                    "coordinate (in the order of the coordinates), data inside the domain."
                )

    def _named_trained(self) -> list[tuple[str, torch.Tensor]]:
        """The network's and the problem's parameters that train, by name."""
        named = getattr(self.network, "named_parameters", None)  # a module, or a plain function
        pairs = list(named()) if callable(named) else []
        pairs += list(self.problem.parameters.items())
        return [(name, p) for name, p in pairs if p.requires_grad]

    def _check_terms_train(self, points: Points, rows: Mapping[str, int] | None) -> None:
        """Refuse a weighted term that no trained weight reaches: training could not lower it
        (a residual that names no output, a constant), so the run would only pretend to fit it.

        One eager evaluation on the first batch; nothing is checked when nothing is trained.
        """
        self._check_points_inside(points)
        named = self._named_trained()
        trained = [p for _, p in named]
        if not trained:
            return
        bad_weights = [name for name, p in named if not bool(p.isfinite().all())]
        if bad_weights:
            raise ConfigurationError(
                f"The network's initial weights are not finite ({bad_weights[:3]}); check its "
                "initialisation and settings, or the checkpoint it was loaded from."
            )
        with torch.enable_grad():
            losses = self._evaluate(points, rows, self.network)[1]
        infinite = [name for name, loss in losses.items() if not bool(torch.isfinite(loss))]
        if infinite:
            raise ConfigurationError(
                f"Constraint(s) {infinite}: the loss is not finite at the initial weights, before "
                "any step, so no learning rate would help. The network's outputs overflow there "
                "(check its settings: net.rwf_mean, net.fourier_scale, the activation) or the "
                "residual is not finite at some points (a division by zero, a log or sqrt of a "
                "negative number)."
            )
        weights = {c.name: c.weight for c in self.problem.constraints}
        dead = []
        for name, loss in losses.items():
            if weights[name] == 0:
                continue
            reached = loss.requires_grad and any(
                gradient is not None
                for gradient in torch.autograd.grad(
                    loss, trained, allow_unused=True, retain_graph=True
                )
            )
            if not reached:
                dead.append(name)
        if dead:
            raise ConfigurationError(
                f"Constraint(s) {dead}: the residual does not depend on the network's outputs "
                "(nor on a learnable coefficient), so training cannot lower it. Write it in "
                "terms of the outputs and their derivatives (e.g. -u_xx - u_yy - f, or in Python "
                "lambda f: -f.laplacian('u') - source), or remove the constraint."
            )

    def _compile_whole_if_possible(
        self,
        points: Points,
        rows: Mapping[str, int] | None,
        parameters: Sequence[torch.Tensor] | None,
    ) -> None:
        """Compile the whole loss (with its gradient when ``parameters`` are given) when one
        eager evaluation runs no nested ``autograd.grad`` and the compiled loss and its gradient
        can be computed; say which was compiled."""
        log = logging.getLogger("deepinn.training")
        auto = self.compile == "auto"
        setting = "compile=auto" if auto else "compile=true"
        instead = "the loss runs eager" if auto else "the network's passes are compiled"
        with torch.enable_grad():
            cache = self._evaluate(points, rows, self.network)[2]
        if cache.calls:
            log.info(
                "%s: %s, not the whole loss: its residuals take %d nested autograd.grad "
                "call(s), which a compiled graph cannot differentiate again (forward lanes need "
                "a network that offers them and residuals that declare their second "
                "derivatives)", setting, instead, cache.calls,
            )
            return

        def evaluate(
            points: Points, rows: Mapping[str, int] | None
        ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            total, losses, _ = self._evaluate(points, rows, self.network)
            return total, losses

        whole: CompiledLoss | CompiledGradient
        trained: list[torch.Tensor]
        if parameters is None:
            whole = CompiledLoss(evaluate, quiet=auto)
            trained = [p for p in self.network.parameters() if p.requires_grad]
        else:
            whole, trained = CompiledGradient(evaluate, quiet=auto), list(parameters)
        try:
            whole.warm_up(trained, _differentiable_inputs(points), rows)
        except Exception as error:  # e.g. a residual that calls torch.autograd.grad itself
            message = (
                f"{setting}: the whole loss cannot be compiled here "
                f"({type(error).__name__}: {str(error).splitlines()[0][:300]}); {instead}"
            )
            if auto:
                log.info(message + ".")
            else:
                warnings.warn(message + " instead.", RuntimeWarning, stacklevel=2)
            return
        if whole.failure is not None:  # no compiler here: warned (true) or logged (auto)
            if not auto:
                self.whole = whole  # runs eager from now on, without a second warning
            return
        log.info(
            "%s: the whole loss (forward lanes, residuals, reductions) is compiled%s "
            "(warm-up %.1f s)", setting, "" if parameters is None else " with its gradient",
            whole.warmup_s,
        )
        self.whole = whole

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
                _differentiable_inputs(points), rows
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
            return self.whole(parameters, _differentiable_inputs(points), rows)
        total, losses = self(points, rows)
        gradients = torch.autograd.grad(total, list(parameters), allow_unused=True)
        return total.detach(), {name: value.detach() for name, value in losses.items()}, gradients

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
            x = inputs[0] if len(inputs) == 1 else torch.cat(inputs)
            field = Field(
                network if network is not None else self._network_for(members[0].order),
                x,
                self.problem.space,
                output_names=self.problem.outputs,
                mode=modes.get(members[0].name, self.field_mode),
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
                scale = 1.0 / (count * residual.shape[1])
                losses[constraint.name] = constraint.weight * residual.square().sum() * scale
        total = torch.stack(list(losses.values())).sum()
        return total, losses, cache

    def pointwise_residual(
        self,
        constraint: AbstractConstraint | str,
        batch: Batch | torch.Tensor,
        chunk: int = 32_768,
    ) -> torch.Tensor:
        """``|residual|`` (the norm over its columns) of ``constraint`` at each point, (N,).

        Evaluated with the network as it is now, in eager mode, in chunks of ``chunk`` rows, on
        the network's device and dtype; the result is detached, on the CPU, float64.

        Args:
            constraint: A constraint of the problem, or its name.
            batch: Its batch (``constraint.sample(...)``: points and per-point data) or bare
                (N, d) points (for constraints whose residual needs nothing else).
        """
        if isinstance(constraint, str):
            constraint = next(c for c in self.problem.constraints if c.name == constraint)
        group = next(g for g in self.groups if constraint in g.members)
        if isinstance(batch, torch.Tensor):
            batch = {"x": batch}
        reference = next(iter(self.network.parameters()), None)
        device = reference.device if reference is not None else torch.device("cpu")
        dtype = reference.dtype if reference is not None else torch.get_default_dtype()
        n = batch["x"].shape[0]
        norms = []
        with torch.enable_grad():
            for start in range(0, n, chunk):
                part = {
                    key: (value[start : start + chunk]).to(
                        device, dtype if value.is_floating_point() else value.dtype
                    )
                    for key, value in batch.items()
                }
                field = Field(
                    self.network,
                    constraint.inputs(part),
                    self.problem.space,
                    output_names=self.problem.outputs,
                    mode=self.field_mode,
                    second_order=group.second_order,
                    laplacian_only=group.laplacian_only,
                )
                residual = constraint.checked_residual(field, part)
                norms.append(residual.detach().norm(dim=1).to("cpu", torch.float64))
        return torch.cat(norms)
