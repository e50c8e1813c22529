"""Composing an MLP-type network from its options: embeddings, then a plain or gated body.

    x -> [periodic embedding] -> [Fourier features] -> MLP or modified MLP (dense layers
         optionally factorised by RWF) -> u

Every stage propagates forward-mode lanes exactly, so the composition keeps the forward-Laplacian
fast path (``forward_derivatives`` / ``forward_laplacian``). Input normalisation (bounds onto
[-1, 1]^d) is folded into the first stage: the non-periodic coordinates of the periodic
embedding, else the Fourier matrix, else the body's first layer(s).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

import torch

from deepinn.nn import _forward_laplacian as fl
from deepinn.nn._base import AbstractLaneNetwork, as_points, check_last_dim
from deepinn.nn._bounds import Bounds
from deepinn.nn._embeddings import AbstractEmbedding, FourierEmbedding, PeriodicEmbedding
from deepinn.nn._mlp import FullyConnected
from deepinn.nn._modified import ModifiedMLP

__all__ = ["EmbeddedNetwork", "compose_network"]


class EmbeddedNetwork(AbstractLaneNetwork):
    """Embedding stages followed by a body network (both with forward lanes).

    Args:
        embeddings: Stages applied in order; each one's ``out_dim`` feeds the next.
        body: A :class:`FullyConnected` or :class:`ModifiedMLP` whose input width is the last
            stage's ``out_dim``.
    """

    def __init__(self, embeddings: Sequence[AbstractEmbedding], body: AbstractLaneNetwork) -> None:
        super().__init__()
        self.embeddings = torch.nn.ModuleList(embeddings)
        self.body = body
        self.in_dim = embeddings[0].in_dim
        self.out_dim: int = body.out_dim  # type: ignore[assignment]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate on ``(N, in_dim)`` (or ``(in_dim,)``) points."""
        x = as_points(x, self.in_dim)
        check_last_dim(x, self.in_dim, next(self.body.parameters()).dtype)
        single = x.dim() == 1
        h = x.unsqueeze(0) if single else x
        for stage in self.embeddings:
            h = stage(h)
        out = self.body(h)
        return out.squeeze(0) if single else out

    def forward_lanes(self, lanes: fl.Lanes, marked: fl.Marked) -> fl.Lanes:
        """Propagate forward-mode lanes through the stages and the body."""
        for stage in cast("Sequence[AbstractEmbedding]", self.embeddings):
            lanes = stage.lanes(lanes, marked)
        return self.body.forward_lanes(lanes, marked)


def compose_network(
    in_dim: int,
    out_dim: int,
    hidden: Sequence[int],
    *,
    activation: str = "tanh",
    initialiser: str = "xavier_normal",
    bounds: Bounds | None = None,
    architecture: str = "plain",
    rwf: tuple[float, float] | None = None,
    periodic: Mapping[int, float] | None = None,
    periodic_modes: int = 1,
    fourier: tuple[int, float] | None = None,
) -> AbstractLaneNetwork:
    """Build the network the options describe (see the module doc).

    Args:
        in_dim: The number of input coordinates.
        out_dim: The number of outputs.
        hidden: Hidden widths.
        activation: The body's activation.
        initialiser: The body's weight initialiser.
        bounds: The input box for normalisation, or None.
        architecture: ``plain`` (:class:`FullyConnected`) or ``modified`` (:class:`ModifiedMLP`).
        rwf: ``(mean, std)`` of random weight factorisation, or None.
        periodic: Column -> period of the exact periodic embedding, or None/empty.
        periodic_modes: Harmonics per periodic coordinate.
        fourier: ``(n_features, sigma)`` of random Fourier features, or None.

    Returns:
        The body alone when no embedding is asked, else an :class:`EmbeddedNetwork`.
    """
    stages: list[AbstractEmbedding] = []
    width, body_bounds = in_dim, bounds
    if periodic:
        stages.append(PeriodicEmbedding(in_dim, periodic, periodic_modes, bounds))
        width, body_bounds = stages[-1].out_dim, None
    if fourier is not None:
        stages.append(FourierEmbedding(width, fourier[0], fourier[1], body_bounds))
        width, body_bounds = stages[-1].out_dim, None
    body_class = ModifiedMLP if architecture == "modified" else FullyConnected
    body = body_class([width, *hidden, out_dim], activation, initialiser, body_bounds, rwf=rwf)
    return EmbeddedNetwork(stages, body) if stages else body
