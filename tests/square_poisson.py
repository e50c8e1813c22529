"""The unit-square Poisson problem the TensorBoard tests train: a small problem and network."""

from __future__ import annotations

import math

import torch

import deepinn as dp
from deepinn.constraints import DirichletBC, PDEConstraint


def square_poisson() -> tuple[dp.Problem, torch.nn.Module]:
    """-laplacian(u) = 2 pi^2 sin(pi x) sin(pi y) on the unit square, u = exact on its boundary
    (64 and 32 random points), and a 2-8-1 tanh network seeded with 0."""
    square = dp.domains.Parallelogram(dp.spaces.R2("x"), (0.0, 0.0), (1.0, 0.0), (0.0, 1.0))
    exact = lambda x: torch.sin(math.pi * x[:, :1]) * torch.sin(math.pi * x[:, 1:])  # noqa: E731
    pde = PDEConstraint(
        "pde", dp.samplers.RandomUniformSampler(square, 64),
        residual=lambda f: -f.laplacian("u") / (2 * math.pi**2), source=exact,
    )
    boundary = DirichletBC(
        "boundary", dp.samplers.RandomUniformSampler(square.boundary, 32), value=exact
    )
    problem = dp.Problem("square", square, [pde, boundary], exact=exact)
    torch.manual_seed(0)
    net = dp.nn.FullyConnected([2, 8, 1], "tanh", bounds=square.bounding_box())
    return problem, net
