"""The networks of time marching: one window's network, and the trained windows as one.

:class:`WindowNetwork` shows a network built for the whole time range a window stretched onto
that range; :class:`TimeMarchingNetwork` sends each point to the window of its time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from deepinn._errors import ConfigurationError

__all__ = ["TimeMarchingNetwork", "WindowNetwork"]


class WindowNetwork(torch.nn.Module):
    """``network`` on the window ``(a, b)``: the time column is stretched onto ``span`` first.

    ``forward(x) = network(scale * x + shift)`` with ``scale`` and ``shift`` the affine map of the
    time column, so a network built for the whole time range (its input normalisation, its
    embeddings) sees a window as it would see that range. The forward-derivative protocol of
    ``network`` (``forward_derivatives``, ``forward_laplacian``) is offered too, with the time
    derivatives scaled by the chain rule.
    """

    network: torch.nn.Module
    scale: torch.Tensor
    shift: torch.Tensor

    def __init__(
        self,
        network: torch.nn.Module,
        column: int,
        window: tuple[float, float],
        span: tuple[float, float],
    ) -> None:
        super().__init__()
        self.network = network
        self.column, self.window, self.span = column, window, span
        in_dim = getattr(network, "in_dim", None)
        if in_dim is None:
            raise ConfigurationError(
                f"Time marching needs the network's input size: {type(network).__name__} has no "
                "in_dim attribute. Give the network an in_dim (deepinn's networks have one)."
            )
        for name in ("in_dim", "out_dim"):
            if hasattr(network, name):
                setattr(self, name, getattr(network, name))
        (a, b), (t0, t1) = window, span
        stretch = (t1 - t0) / (b - a)
        scale = torch.ones(in_dim, dtype=torch.float64)
        shift = torch.zeros(in_dim, dtype=torch.float64)
        scale[column], shift[column] = stretch, t0 - a * stretch
        self.register_buffer("scale", scale, persistent=False)
        self.register_buffer("shift", shift, persistent=False)
        if callable(getattr(network, "forward_derivatives", None)):
            self.forward_derivatives = self._forward_derivatives
            if callable(getattr(network, "forward_laplacian", None)):
                self.forward_laplacian = self._forward_laplacian

    def _inner(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale.to(x.dtype) + self.shift.to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(self._inner(x))

    def _forward_derivatives(
        self, x: torch.Tensor, second: Any = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        network: Any = self.network
        u, du, d2u = network.forward_derivatives(self._inner(x), second)
        scale = self.scale.to(du.dtype)
        return u, du * scale, d2u * scale.square()

    def _forward_laplacian(
        self, x: torch.Tensor, second: Any = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if second is None or bool(second[self.column]):  # the time column in the sum: rescale it
            u, du, d2u = self._forward_derivatives(x, second)
            return u, du, d2u.sum(dim=2)
        network: Any = self.network
        u, du, laplacian = network.forward_laplacian(self._inner(x), second)
        return u, du * self.scale.to(du.dtype), laplacian


class TimeMarchingNetwork(torch.nn.Module):
    """The trained windows as one network: each point goes to the window of its time.

    Window ``k`` answers for ``t_k <= t < t_k+1`` (the last one up to and past ``T1``, the first
    one before ``T0``).

    Args:
        windows: The window networks, in time order.
        column: The time column of the inputs.
        edges: The ``len(windows) + 1`` window boundaries.
    """

    def __init__(
        self, windows: Sequence[torch.nn.Module], column: int, edges: Sequence[float]
    ) -> None:
        super().__init__()
        if not windows or len(edges) != len(windows) + 1:
            raise ConfigurationError(
                f"TimeMarchingNetwork: {len(windows)} windows need {len(windows) + 1} edges, got "
                f"{len(edges)}."
            )
        self.windows = torch.nn.ModuleList(windows)
        self.column = column
        self.edges = [float(edge) for edge in edges]
        for name in ("in_dim", "out_dim"):
            if hasattr(windows[0], name):
                setattr(self, name, getattr(windows[0], name))

    def window_index(self, t: torch.Tensor) -> torch.Tensor:
        """The window of each time in ``t`` (N,)."""
        inner = torch.tensor(self.edges[1:-1], dtype=t.dtype, device=t.device)
        return torch.bucketize(t.detach().contiguous(), inner, right=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        index = self.window_index(x[:, self.column])
        out: torch.Tensor | None = None
        for k, window in enumerate(self.windows):
            rows = (index == k).nonzero().squeeze(1)
            if len(rows) == 0:
                continue
            dtype = next(window.parameters(), x).dtype  # windows may differ (float64 L-BFGS)
            part = window(x.index_select(0, rows).to(dtype)).to(x.dtype)
            if out is None:
                out = part.new_zeros(len(x), part.shape[1])
            out = out.index_copy(0, rows, part)
        if out is None:  # no points
            out = self.windows[0](x)
        return out
