"""``torch.compile`` of the loss (or of the network's passes), with an eager fallback."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch._functorch.config

__all__ = ["CompiledGradient", "CompiledLoss", "CompiledNetwork"]

Setting = tuple[Any, str, Any]
"""A torch config module, the name of one of its settings, and the value a compiled call needs."""

NO_DONATED_BUFFERS: tuple[Setting, ...] = ((torch._functorch.config, "donated_buffer", False),)
"""Compile without donated buffers, so that a backward with ``retain_graph=True`` (grad-norm
weighting differentiates each loss term before the total) may run through the graph."""


def cpu_settings() -> tuple[Setting, ...]:
    """Inductor settings for a whole loss compiled for the CPU: a C++ wrapper.

    Inductor's default Python wrapper builds every fused kernel as a shared library of its own,
    one C++ compiler run each (a PINN loss and its gradient make tens of them); the C++ wrapper
    puts the kernels and the wrapper in one file, one compiler run, which halves a cold compile
    (nothing in the on-disk cache) and calls the kernels without Python in between. The settings
    are constants, so inductor's cache key stays that of the graph and its shapes: a second run
    of a problem of the same shape loads the compiled loss from the cache.

    It also takes the vector instructions the CPU reports (``cpp.vec_isa_ok``) without inductor's
    probe, which builds and loads a test library per instruction set: about 6 s of a cold
    compile (a fresh cache) and a second of every warm one (a child process per probe). A
    compiler that cannot build them fails the compile, and the loss runs eager. Where
    ``TORCHINDUCTOR_VEC_ISA_OK`` is set, its value is kept.
    """
    import torch._inductor.config  # here, not at import: importing inductor is slow

    settings: tuple[Setting, ...] = ((torch._inductor.config, "cpp_wrapper", True),)
    if torch._inductor.config.cpp.vec_isa_ok is None:  # not set by the user
        settings += ((torch._inductor.config.cpp, "vec_isa_ok", True),)
    return settings


class _Settings:
    """Torch config ``settings`` for the length of a ``with`` block, restored after it.

    What ``config.patch`` does, at a fraction of its cost: it is entered at every compiled call,
    since a call that recompiles reads the settings.
    """

    def __init__(self, settings: Sequence[Setting]) -> None:
        self.settings = settings
        self._saved: list[list[Setting]] = []  # a stack: the block may be entered again inside

    def __enter__(self) -> None:
        self._saved.append([(module, name, getattr(module, name)) for module, name, _ in
                            self.settings])
        for module, name, value in self.settings:
            setattr(module, name, value)

    def __exit__(self, *exc: object) -> None:
        for module, name, value in reversed(self._saved.pop()):
            setattr(module, name, value)


class _CompiledCall:
    """What a compiled callable keeps for :func:`_run`.

    Attributes:
        quiet: Log a fallback to eager mode at INFO instead of warning (``compile=auto``).
        failure: None until compilation fails, then why.
        warmup_s: The time of the first two calls (the forward and backward graphs are compiled
            then), or of the ``warm_up`` that compiled them.
        settings: The torch config the compiled call runs under.
    """

    def __init__(self, quiet: bool, settings: Sequence[Setting] = NO_DONATED_BUFFERS) -> None:
        self.quiet = quiet
        self.failure: str | None = None
        self.warmup_s = 0.0
        self._calls = 0
        self.settings = _Settings(settings)


def _run(
    owner: _CompiledCall,
    compiled: Callable[..., Any],
    eager: Callable[..., Any],
    what: str,
    *args: Any,
) -> Any:
    """Call ``compiled`` under ``owner.settings``; on a backend failure warn once (log, when
    ``owner.quiet``) and run ``eager`` from then on."""
    if owner.failure is not None:
        return eager(*args)
    start = time.perf_counter()
    try:
        with owner.settings:
            result = compiled(*args)
    except Exception as error:  # any backend failure falls back to eager
        owner.failure = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
        message = (
            f"torch.compile {what} is not available here ({owner.failure}); training continues "
            "in eager mode."
        )
        if owner.quiet:  # compile=auto: eager is a normal outcome
            logging.getLogger("deepinn.training").info("compile=auto: %s", message)
        else:
            warnings.warn(
                message + " Set compile=false to silence this.", RuntimeWarning, stacklevel=3
            )
        return eager(*args)
    if owner._calls < 2:
        owner.warmup_s += time.perf_counter() - start
        owner._calls += 1
    return result


class CompiledNetwork(_CompiledCall):
    """Calls a network through ``torch.compile`` (inductor: C++ on CPUs, Triton on GPUs).

    Compiled are the plain forward (only where no derivative is taken through it: compiled graphs
    do not support the double backward of nested autograd) and the network's forward-derivative
    pass (``forward_derivatives`` or ``forward_laplacian``, used for residuals that need second
    derivatives). When compilation is not available (no compiler, an unsupported operation), a
    warning says why and training goes on in eager mode. ``warmup_s`` is the time the first
    compiled calls took.

    Args:
        network: The network (its parameters stay those of the module being trained).
        compile_forward: Compile the plain forward too (for value-only constraints).
    """

    def __init__(self, network: torch.nn.Module, compile_forward: bool) -> None:
        super().__init__(quiet=False)  # compile=true only: a fallback is warned
        self.network = network
        self._forward = torch.compile(network.forward, dynamic=False) if compile_forward else None
        for name in ("forward_derivatives", "forward_laplacian"):
            method = getattr(network, name, None)
            if callable(method):
                setattr(self, name, self._compiled_method(method))

    def _compiled_method(self, method: Callable[..., Any]) -> Callable[..., Any]:
        compiled = torch.compile(method, dynamic=False)
        return lambda *args: _run(self, compiled, method, "of this network", *args)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self._forward is None:
            return self.network(x)
        result: torch.Tensor = _run(self, self._forward, self.network, "of this network", x)
        return result


class CompiledLoss(_CompiledCall):
    """A whole loss function under one ``torch.compile``: forward lanes, residuals, reductions
    and the weighted sum in one graph, so AOTAutograd generates the backward with it.

    Calls ``loss(*args)`` (a :class:`~deepinn.training.PINNLoss` or any callable returning
    ``(total, losses)``) through the compiled function. The loss must not take a double
    backward (nested ``autograd.grad``): use it with the forward-derivative lanes
    (``field_mode=auto`` on a network that offers them). When compilation fails, a warning says
    why and every later call runs eager. ``warmup_s`` is the time of the first two calls (the
    forward and backward graphs are compiled then; time the backward too by calling
    ``.backward()`` on the result between them).

    The first graph is specialised to the shapes of the first points; if a later batch has other
    row counts (an adaptive sampler that adds points, a time-marching window), the loss is
    compiled once more with dynamic shapes, which then serves every count.

    Args:
        loss: The loss callable.
        quiet: Log a fallback to eager mode at INFO instead of warning (``compile=auto``).
        cpu: The points are on the CPU (compile with :func:`cpu_settings`).
    """

    def __init__(
        self, loss: Callable[..., Any], quiet: bool = False, cpu: bool = False
    ) -> None:
        super().__init__(quiet, NO_DONATED_BUFFERS + (cpu_settings() if cpu else ()))
        self.loss = loss
        self._compiled = torch.compile(loss)

    def __call__(self, *args: Any) -> Any:
        return _run(self, self._compiled, self.loss, "of the whole loss", *args)

    def warm_up(self, parameters: Sequence[torch.Tensor], *args: Any) -> None:
        """Compile the forward and the backward graphs now, on ``args`` (no ``.grad`` is
        touched); ``warmup_s`` is then their compile time, and later calls are not counted.

        Raises:
            Exception: Whatever the compiled backward raises (e.g. a double backward taken
                inside the loss), for the caller to fall back on.
        """
        start = time.perf_counter()
        total = self(*args)[0]
        if parameters and total.requires_grad:
            torch.autograd.grad(total, list(parameters), allow_unused=True)
        if self.failure is None:
            self.warmup_s = time.perf_counter() - start
        self._calls = 2


class CompiledGradient(_CompiledCall):
    """A whole loss and its gradient under one ``torch.compile``: one graph from the points to
    the parameters' gradients.

    Where :class:`CompiledLoss` returns a total whose ``backward`` runs a second compiled graph
    through autograd's engine, this traces ``torch.autograd.grad`` into the loss's own graph, so
    inductor fuses the backward with the forward and a step makes one compiled call (faster than
    :class:`CompiledLoss`). The caller writes the gradients to ``.grad`` (see
    ``Stepper.assign``); nothing here
    can be differentiated again. Same rules as :class:`CompiledLoss`: no nested ``autograd.grad``
    inside the loss, an eager fallback (the same function, run eager) that warns or, ``quiet``,
    logs, and ``warmup_s``, the time of the first call (the compile).

    Args:
        loss: Returns ``(total, losses)`` for the call's arguments.
        quiet: Log a fallback to eager mode at INFO instead of warning (``compile=auto``).
        cpu: The points are on the CPU (compile with :func:`cpu_settings`).
    """

    def __init__(
        self, loss: Callable[..., Any], quiet: bool = False, cpu: bool = False
    ) -> None:
        import torch._dynamo.config  # here, not at import: importing dynamo is slow

        # dynamo traces autograd.grad into the graph only with trace_autograd_ops
        super().__init__(
            quiet,
            (*NO_DONATED_BUFFERS, (torch._dynamo.config, "trace_autograd_ops", True),
             *(cpu_settings() if cpu else ())),
        )
        self.loss = loss
        self._compiled = torch.compile(self._loss_and_gradient)

    def _loss_and_gradient(
        self, parameters: Sequence[torch.Tensor], *args: Any
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], tuple[torch.Tensor | None, ...]]:
        total, losses = self.loss(*args)
        gradients = torch.autograd.grad(total, list(parameters), allow_unused=True)
        return total.detach(), {name: value.detach() for name, value in losses.items()}, gradients

    def __call__(
        self, parameters: Sequence[torch.Tensor], *args: Any
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], tuple[torch.Tensor | None, ...]]:
        """The detached total and losses, and the gradient of the total with respect to each of
        ``parameters`` (None where the loss does not depend on it)."""
        result: Any = _run(
            self, self._compiled, self._loss_and_gradient, "of the loss and its gradient",
            parameters, *args,
        )
        return result

    def warm_up(self, parameters: Sequence[torch.Tensor], *args: Any) -> None:
        """Compile now, on ``args``; ``warmup_s`` is then the compile time, and later calls are
        not counted.

        Raises:
            Exception: Whatever the compiled call raises, for the caller to fall back on.
        """
        start = time.perf_counter()
        self(parameters, *args)
        if self.failure is None:
            self.warmup_s = time.perf_counter() - start
        self._calls = 2
