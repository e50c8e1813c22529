"""The compile choice: the whole loss under one ``torch.compile``, where it can be."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping, Sequence

import torch

from deepinn.operators._cache import DerivativeCache
from deepinn.training.step._compile import CompiledGradient, CompiledLoss
from deepinn.training.step._plan import Points, differentiable_inputs

__all__ = ["compile_whole"]

Evaluate = Callable[
    [Points, Mapping[str, int] | None],
    tuple[torch.Tensor, dict[str, torch.Tensor], DerivativeCache],
]
"""The loss of a batch, eager: total, each constraint's loss, and the derivative cache."""


def compile_whole(
    evaluate: Evaluate,
    network: torch.nn.Module,
    compile: bool | str,
    points: Points,
    rows: Mapping[str, int] | None,
    parameters: Sequence[torch.Tensor] | None,
) -> CompiledLoss | CompiledGradient | None:
    """The whole loss compiled (with its gradient when ``parameters`` are given), when one eager
    evaluation runs no nested ``autograd.grad`` and the compiled loss and its gradient can be
    computed; None otherwise. Says which was compiled, or why not (``compile="auto"``: at INFO;
    ``True``: a warning where torch cannot compile it, and then the compiled loss that runs
    eager, so it is not warned again).
    """
    log = logging.getLogger("deepinn.training")
    auto = compile == "auto"
    setting = "compile=auto" if auto else "compile=true"
    instead = "the loss runs eager" if auto else "the network's passes are compiled"
    with torch.enable_grad():
        cache = evaluate(points, rows)[2]
    if cache.calls:
        log.info(
            "%s: %s, not the whole loss: its residuals take %d nested autograd.grad "
            "call(s), which a compiled graph cannot differentiate again (forward lanes need "
            "a network that offers them and residuals that declare their second "
            "derivatives)", setting, instead, cache.calls,
        )
        return None

    def loss(
        points: Points, rows: Mapping[str, int] | None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        total, losses, _ = evaluate(points, rows)
        return total, losses

    whole: CompiledLoss | CompiledGradient
    trained: list[torch.Tensor]
    cpu = all(batch["x"].device.type == "cpu" for batch in points.values())
    if parameters is None:
        whole = CompiledLoss(loss, quiet=auto, cpu=cpu)
        trained = [p for p in network.parameters() if p.requires_grad]
    else:
        whole, trained = CompiledGradient(loss, quiet=auto, cpu=cpu), list(parameters)
    try:
        whole.warm_up(trained, differentiable_inputs(points), rows)
    except Exception as error:  # e.g. a residual that calls torch.autograd.grad itself
        message = (
            f"{setting}: the whole loss cannot be compiled here "
            f"({type(error).__name__}: {str(error).splitlines()[0][:300]}); {instead}"
        )
        if auto:
            log.info(message + ".")
        else:
            warnings.warn(message + " instead.", RuntimeWarning, stacklevel=3)
        return None
    if whole.failure is not None:  # no compiler here: warned (true) or logged (auto)
        return None if auto else whole  # true: runs eager from now on, without a second warning
    log.info(
        "%s: the whole loss (forward lanes, residuals, reductions) is compiled%s "
        "(warm-up %.1f s)", setting, "" if parameters is None else " with its gradient",
        whole.warmup_s,
    )
    return whole
