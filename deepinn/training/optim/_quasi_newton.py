"""Full-memory self-scaled quasi-Newton methods (SSBFGS, SSBroyden) as a torch optimizer.

The inverse Hessian approximation ``H`` is a dense (n, n) float64 matrix on the parameters'
device, whatever their dtype; each iteration takes the direction ``-H g``, a strong Wolfe line
search along it (torch's, as L-BFGS uses), and a rank-two update of ``H`` from the step ``s``
and the gradient change ``y``:

``H+ = (H - H y yᵀ H / (yᵀ H y) + φ (yᵀ H y) v vᵀ) / τ + s sᵀ / (sᵀ y)``, with
``v = s / (sᵀ y) - H y / (yᵀ H y)``.

``φ = 1`` is BFGS. The self-scaled methods choose the scaling ``τ`` (and, for SSBroyden, the
Broyden parameter ``φ``) at every iteration from ``h = yᵀ H y / sᵀ y`` and
``b = sᵀ B s / sᵀ y = -α sᵀ g / sᵀ y`` (Al-Baali's self-scaled family as used for PINNs by
Urbán et al., J. Comput. Phys. 2025, and Kiyani et al., arXiv 2501.16371):

- ``ssbfgs``: BFGS with ``τ = min(1, 1/b)``;
- ``ssbroyden``: ``θ`` clipped between the bounds that keep ``H`` positive definite and
  ``(1 - b)/b``, ``φ = (1 - θ)/(1 + a θ)`` with ``a = b h - 1``, and ``τ`` from ``θ``, ``b``
  and ``σ = 1 + θ a``.

The first update scales ``H = I`` to the observed curvature (``τ = yᵀy / sᵀy`` for SSBFGS).
An update whose numbers are not finite, or that meets ``sᵀ y <= 0``, is skipped; a direction
that is not a descent direction resets ``H`` to the identity. Memory is ``8 n²`` bytes: about
72 MiB for 3,000 parameters and 800 MiB for 10,000.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim.lbfgs import _strong_wolfe

from deepinn._errors import ConfigurationError, Setting

__all__ = ["METHODS", "SelfScaledQuasiNewton", "hessian_mib"]

logger = logging.getLogger("deepinn.training")

_LABELS = {"ssbroyden": "SSBroyden", "ssbfgs": "SSBFGS", "bfgs": "BFGS"}
_REPORT_EVERY = 60.0  # seconds between two progress lines of the optimizer's own figures

METHODS = ("ssbroyden", "ssbfgs", "bfgs")
"""The inverse-Hessian updates :class:`SelfScaledQuasiNewton` offers."""


def hessian_mib(parameters: int) -> float:
    """The memory of the dense float64 inverse Hessian for ``parameters`` unknowns, in MiB."""
    return 8.0 * parameters * parameters / 2**20


def _scaling(
    method: str, first: bool, h: float, b: float, ys: float, yy: float, n: int
) -> tuple[float, float]:
    """The update's scaling ``τ`` and Broyden parameter ``φ`` (``φ = 1``: BFGS)."""
    if method == "bfgs":
        return (yy / ys if first else 1.0), 1.0
    if method == "ssbfgs":
        return (yy / ys if first else min(1.0, 1.0 / b)), 1.0
    a = b * h - 1.0
    if abs(a) < 1e-12 or 1.0 + a <= 0.0:  # H already matches the curvature: BFGS, no scaling
        return (yy / ys if first else 1.0), 1.0
    rho_minus = min(1.0, h * (1.0 - math.sqrt(abs(a) / (1.0 + a))))
    theta_minus = (rho_minus - 1.0) / a
    theta_plus = 1.0 / rho_minus if rho_minus > 0 else math.inf
    theta = max(theta_minus, min(theta_plus, (1.0 - b) / b))
    sigma = 1.0 + theta * a
    if first:
        tau = h / sigma
    else:
        rho = min(1.0, 1.0 / b)
        sigma_root = abs(sigma) ** (1.0 / (1.0 - n)) if n > 1 else 1.0
        tau = min(rho * sigma_root, sigma) if theta <= 0 else rho * min(sigma_root, 1.0 / theta)
    return tau, (1.0 - theta) / sigma


def _figures(label: str, size: int, stats: dict[str, float]) -> str:
    """The log line of an optimizer's figures (:attr:`SelfScaledQuasiNewton.stats`)."""
    per_iteration = stats["evaluations"] / max(1.0, stats["iterations"])
    gpu = stats.get("cuda_peak_mib")
    return (
        f"{label}: {size} parameters, inverse Hessian {stats['hessian_mib']:.1f} MiB (float64), "
        f"{1e3 * stats['seconds_per_step']:.1f} ms per step, {stats['iterations']:.0f} "
        f"iterations, {per_iteration:.2f} evaluations per iteration, {stats['resets']:.0f} resets"
        + ("" if gpu is None else f", peak GPU memory {gpu:.0f} MiB")
    )


class SelfScaledQuasiNewton(torch.optim.Optimizer):
    """SSBroyden / SSBFGS / BFGS with a dense float64 inverse Hessian and a strong Wolfe line
    search; one optimizer step runs up to ``iterations`` quasi-Newton iterations.

    Each step evaluates the closure once at its start, then iterates from the line search's
    accepted points. It stops by itself, setting
    :attr:`stop_reason`, when the largest gradient entry is at most ``tolerance_grad``, when
    an iteration changes the loss by less than ``tolerance_change`` times |loss| (0: never), or
    when the line search makes no progress twice in a row (once it resets ``H``
    to the identity and tries the steepest descent).

    Args:
        params: The parameters (one group).
        method: ``ssbroyden``, ``ssbfgs`` or ``bfgs``.
        iterations: Quasi-Newton iterations per optimizer step.
        max_ls: Line-search evaluations per iteration.
        tolerance_grad: Stop when max |gradient| <= this.
        tolerance_change: Stop when an iteration changes the loss by less than this times
            |loss| (0, the default: never; an iteration that keeps the loss is no reason to stop,
            a line search that fails twice is).
        max_parameters: Refuse more unknowns than this (the dense matrix grows as n²).
        max_seconds: Stop once this optimizer has run this many seconds (its own steps, in
            this process; None: no limit): a wall-clock budget for a run that must end in time.
    """

    def __init__(
        self,
        params: Iterable[Any],
        method: str = "ssbroyden",
        iterations: int = 1,
        max_ls: int = 25,
        tolerance_grad: float = 1e-12,
        tolerance_change: float = 0.0,
        max_parameters: int = 20_000,
        max_seconds: float | None = None,
    ) -> None:
        if method not in METHODS:
            raise ConfigurationError(f"method = {method!r}; valid methods are {list(METHODS)}.")
        defaults = {
            "lr": 1.0, "method": method, "iterations": iterations, "max_ls": max_ls,
            "tolerance_grad": tolerance_grad, "tolerance_change": tolerance_change,
        }
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("SelfScaledQuasiNewton takes one parameter group.")
        self._params: list[torch.Tensor] = self.param_groups[0]["params"]
        size = sum(p.numel() for p in self._params)
        if size > max_parameters:
            raise ConfigurationError(
                f"{size} parameters need a {hessian_mib(size):.0f} MiB dense inverse Hessian; "
                f"full-memory quasi-Newton takes at most max_parameters={max_parameters}. Raise "
                "max_parameters where the memory allows it, or train this network with "
                "L-BFGS: {fix}",
                fix=[Setting("optimizer", "adam_lbfgs",
                             python="phases=deepinn.training.adam_lbfgs()")],
            )
        self.size = size
        self.label = _LABELS[method]
        self.stop_reason: str | None = None
        self.stats: dict[str, float] = {}
        """Figures of the last step (time, memory, iterations, evaluations), for the log."""
        self._reported: float | None = None
        self._max_seconds = max_seconds
        self._seconds = 0.0  # spent in this optimizer's steps, in this process

    # ------------------------------------------------------------------ flat views
    def _flat_grad(self) -> torch.Tensor:
        return torch.cat([
            (p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
            for p in self._params
        ]).to(torch.float64)

    def _flat_params(self) -> torch.Tensor:
        return torch.cat([p.detach().reshape(-1) for p in self._params]).to(torch.float64)

    def _set_params(self, flat: torch.Tensor) -> None:
        offset = 0
        for p in self._params:
            n = p.numel()
            p.copy_(flat[offset:offset + n].view_as(p))
            offset += n

    def _evaluate(
        self, closure: Callable[[], torch.Tensor], state: dict[str, Any]
    ) -> tuple[float, torch.Tensor]:
        with torch.enable_grad():
            loss = float(closure().detach())
        state["func_evals"] = state.get("func_evals", 0) + 1
        return (loss if math.isfinite(loss) else math.inf), self._flat_grad()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """torch casts a loaded state's tensors to the parameters' dtype: ``H`` stays float64."""
        kept = {
            key: value["H"] for key, value in state_dict["state"].items()
            if isinstance(value, dict) and "H" in value
        }
        super().load_state_dict(state_dict)
        for key, matrix in kept.items():
            param = self.param_groups[0]["params"][int(key)]
            self.state[param]["H"] = matrix.to(device=param.device, dtype=torch.float64)

    # ------------------------------------------------------------------ the step
    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        """Up to ``iterations`` iterations; returns the loss at the step's start."""
        started = time.perf_counter()
        group = self.param_groups[0]
        state = self.state[self._params[0]]
        with torch.enable_grad():
            first_loss = closure()
        loss = float(first_loss.detach())
        state["func_evals"] = state.get("func_evals", 0) + 1
        grad = self._flat_grad()
        x = self._flat_params()
        if "H" not in state:
            state["H"] = torch.eye(self.size, dtype=torch.float64, device=x.device)
            state["n_iter"], state["updates"], state["resets"] = 0, 0, 0
            state["failed"] = False
        hg = state["H"] @ grad
        for _ in range(group["iterations"]):
            if not math.isfinite(loss):
                break  # the training loop reports the non-finite loss
            if float(grad.abs().max()) <= group["tolerance_grad"]:
                self.stop_reason = (
                    f"converged: max |gradient| <= tolerance_grad {group['tolerance_grad']:.1e}"
                )
                break
            loss, grad, x, hg = self._iterate(closure, state, loss, grad, x, hg)
            if self.stop_reason is not None:
                break
        self.stats = {
            "seconds_per_step": time.perf_counter() - started,
            "hessian_mib": hessian_mib(self.size),
            "iterations": float(state["n_iter"]),
            "evaluations": float(state["func_evals"]),
            "resets": float(state["resets"]),
        }
        self._seconds += self.stats["seconds_per_step"]
        if self.stop_reason is None and self._max_seconds is not None and (
            self._seconds >= self._max_seconds
        ):
            self.stop_reason = f"stopped: its time budget max_seconds={self._max_seconds:g} spent"
        if x.is_cuda:
            self.stats["cuda_peak_mib"] = torch.cuda.max_memory_allocated(x.device) / 2**20
        self._report()
        return first_loss

    def _report(self) -> None:
        """A log line with the figures: at the first step, then every minute or so."""
        now = time.perf_counter()
        if self._reported is None or now - self._reported >= _REPORT_EVERY:
            self._reported = now
            logger.info(_figures(self.label, self.size, self.stats))

    def _iterate(
        self, closure: Callable[[], torch.Tensor], state: dict[str, Any], loss: float,
        grad: torch.Tensor, x: torch.Tensor, hg: torch.Tensor,
    ) -> tuple[float, torch.Tensor, torch.Tensor, torch.Tensor]:
        """One iteration from ``(loss, grad)`` at ``x`` (``hg = H grad``); the accepted point's
        loss, gradient, parameters and ``H grad``. One product with the dense ``H`` per
        iteration: ``H+ g+`` follows from ``H g+`` and the update's vectors."""
        group = self.param_groups[0]
        hess: torch.Tensor = state["H"]
        direction = -hg
        slope = float(grad @ direction)
        if not slope < 0 or not math.isfinite(slope):  # not a descent direction: start afresh
            self._reset(state)
            hg = grad
            direction, slope = -grad, -float(grad @ grad)
        # H = I (first iteration or a reset) has no scale yet: a unit step in parameter space
        t = 1.0 if state["updates"] > 0 else min(1.0, 1.0 / float(grad.norm()))
        dtype = self._params[0].dtype

        def objective(x0: torch.Tensor, step: float, d: torch.Tensor) -> tuple[float, torch.Tensor]:
            self._set_params((x0 + step * d).to(dtype))
            return self._evaluate(closure, state)

        new_loss, new_grad, t, _ = _strong_wolfe(
            objective, x, t, direction, loss, grad, slope, tolerance_change=1e-30,
            max_ls=group["max_ls"],
        )
        t = float(t)
        state["n_iter"] += 1
        if not (t > 0 and new_loss <= loss):  # the line search made no progress
            self._set_params(x.to(dtype))
            if state["failed"]:
                self.stop_reason = "converged: the line search made no progress, also along " \
                    "the steepest descent"
            state["failed"] = True
            self._reset(state)
            return loss, grad, x, grad.clone()
        state["failed"] = False
        self._set_params((x + t * direction).to(dtype))
        x_new = self._flat_params()  # the step taken, in the parameters' precision
        s = x_new - x
        h_new = hess @ new_grad
        hg_new = self._update(
            state, s, new_grad - grad, h_new - hg, t, grad, new_grad, h_new
        )
        change = abs(loss - new_loss)
        if change < group["tolerance_change"] * abs(loss):
            self.stop_reason = (
                f"converged: loss changed by {change:.2e} < tolerance_change "
                f"{group['tolerance_change']:.1e}"
            )
        return new_loss, new_grad, x_new, hg_new

    def _reset(self, state: dict[str, Any]) -> None:
        """``H`` back to the identity (the steepest descent, scaled again at the next update)."""
        hess: torch.Tensor = state["H"]
        hess.zero_()
        hess.diagonal().fill_(1.0)
        state["updates"], state["resets"] = 0, state["resets"] + 1

    def _update(
        self, state: dict[str, Any], s: torch.Tensor, y: torch.Tensor, hy: torch.Tensor,
        t: float, grad: torch.Tensor, new_grad: torch.Tensor, h_new: torch.Tensor,
    ) -> torch.Tensor:
        """The update of ``H`` from the step ``s``, the gradient change ``y`` and ``hy = H y``,
        as one rank-three product (one pass over the matrix); returns ``H+ new_grad`` from
        ``h_new = H new_grad`` (``h_new`` itself when the update is skipped)."""
        hess: torch.Tensor = state["H"]
        ys = float(y @ s)
        yhy = float(y @ hy)
        if not (ys > 1e-300 and yhy > 0):
            return h_new  # no positive curvature along s: keep H
        h = yhy / ys
        b = -float(s @ grad) / ys * t
        if not b > 0:
            return h_new
        first = state["updates"] == 0
        tau, phi = _scaling(
            self.param_groups[0]["method"], first, h, b, ys, float(y @ y), self.size
        )
        if not (math.isfinite(tau) and math.isfinite(phi) and tau > 0):
            return h_new
        v = s / ys - hy / yhy
        # H+ = (H - hy hyᵀ / yHy + φ yHy v vᵀ) / τ + s sᵀ / sᵀy
        vectors = torch.stack([hy, v, s], dim=1)
        coefficients = torch.tensor(
            [-1.0 / (yhy * tau), phi * yhy / tau, 1.0 / ys], dtype=s.dtype, device=s.device
        )
        scaled = vectors * coefficients
        hess.addmm_(scaled, vectors.T, beta=1.0 / tau)
        state["updates"] += 1
        return h_new / tau + scaled @ (vectors.T @ new_grad)
