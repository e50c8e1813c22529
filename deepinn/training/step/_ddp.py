"""The module's own DDP reduction: gradients and losses summed over the ranks after every
backward, DDP's reducer kept out (L-BFGS runs several backward passes per step)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

__all__ = ["all_reduce", "is_distributed", "no_ddp_sync"]


def is_distributed(trainer: Any) -> bool:
    """Whether this step runs on several processes (a torch.distributed group is up)."""
    return (
        trainer is not None
        and trainer.world_size > 1
        and dist.is_available()
        and dist.is_initialized()
    )


@contextmanager
def no_ddp_sync(trainer: Any) -> Iterator[None]:
    """Keep DDP's reducer out of this step's backward passes (the module reduces itself).

    DDP's reducer expects one backward per forward through the wrapper; L-BFGS runs several.
    """
    model = trainer.strategy.model if trainer is not None else None
    if isinstance(model, DistributedDataParallel):
        with model.no_sync():
            yield
    else:
        yield


def all_reduce(
    parameters: Iterable[torch.nn.Parameter], losses: Mapping[str, torch.Tensor]
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Sum the gradients and the constraint losses over the ranks, in one all-reduce.

    Every parameter has a slot (zeros where this rank has no gradient), so the buffer has the
    same length on every rank; a gradient that was None stays None.

    Returns:
        The global total loss and each constraint's global loss (detached).
    """
    trainable = [p for p in parameters if p.requires_grad]
    names = list(losses)
    values = torch.stack([losses[name].detach() for name in names])
    pieces = [
        p.grad.reshape(-1) if p.grad is not None else p.new_zeros(p.numel()) for p in trainable
    ]
    flat = torch.cat([*(piece.to(values.dtype) for piece in pieces), values])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    offset = 0
    for parameter in trainable:
        count = parameter.numel()
        if parameter.grad is not None:
            parameter.grad.copy_(flat[offset : offset + count].view_as(parameter.grad))
        offset += count
    reduced = flat[offset:]
    return reduced.sum(), dict(zip(names, reduced.unbind(), strict=True))
