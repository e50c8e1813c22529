"""A trained network as a standalone file: TorchScript that runs with plain ``torch.jit.load``.

The file maps an (N, d) tensor of points (columns in the order of the problem's coordinates,
any float dtype) to the (N, k) outputs in the network's dtype; deepinn need not be installed
where it runs. It is a trace, checked against the network on other points (of another count)
before it is written, so a network whose trace would not generalise is refused, not exported.
"""

from __future__ import annotations

import copy
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from deepinn._errors import ConfigurationError

if TYPE_CHECKING:
    from deepinn.runs._trained import TrainedRun

__all__ = ["EXPORT_FORMATS", "export"]

EXPORT_FORMATS = ("torchscript",)
"""The formats :func:`export` writes."""


class _Standalone(torch.nn.Module):
    """``forward(x) = network(x in the network's dtype)``: the traced module."""

    def __init__(self, network: torch.nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.network = network
        self.dtype = dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x.to(self.dtype))


def _points(run: TrainedRun, n: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return run.problem.domain.sample_uniform(n, generator).to(torch.float64)


def export(run: TrainedRun, path: str | os.PathLike[str], format: str = "torchscript") -> Path:
    """Write ``run``'s network to ``path`` in ``format`` and return the path.

    Raises:
        ConfigurationError: An unknown format, a network that cannot be traced (a time-marching
            composite routes points by their time), or a trace that does not reproduce the
            network.
    """
    if format not in EXPORT_FORMATS:
        raise ConfigurationError(
            f"export: format={format!r}; deepinn writes {', '.join(EXPORT_FORMATS)}."
        )
    if type(run.network).__name__ == "TimeMarchingNetwork":
        raise ConfigurationError(
            "export: a time-marching run's network sends each point to the network of its time "
            "window, which a trace cannot hold. Predict with deepinn.load(run).predict(points) "
            "instead."
        )
    target = Path(path)
    network = _Standalone(copy.deepcopy(run.network), run.dtype).to("cpu").eval()
    network.requires_grad_(False)  # a file for inference: no graph kept by its outputs
    example, check = _points(run, 64, 0), _points(run, 37, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is the format asked
        try:
            traced = torch.jit.trace(network, example, check_trace=False)
        except Exception as error:
            detail = " ".join(str(error).split())[:200]
            raise ConfigurationError(
                f"export: the network ({type(run.network).__name__}) cannot be traced to "
                f"TorchScript ({type(error).__name__}: {detail})."
            ) from None
    with torch.no_grad():
        expected, got = network(check), traced(check)
    if got.shape != expected.shape or not torch.allclose(got, expected, rtol=1e-6, atol=1e-9):
        raise ConfigurationError(
            f"export: the TorchScript trace of {type(run.network).__name__} does not reproduce "
            "the network on other points (its forward depends on the points' values or count), "
            "so it is not written. Predict with deepinn.load(run).predict(points) instead."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        traced.save(str(target))
    return target
