"""A 1-D problem whose boundary term outweighs its PDE term: what loss weighting must balance."""

from __future__ import annotations

import math

import torch

import deepinn as dp
from deepinn.constraints import DirichletBC, PDEConstraint


def scaled_boundary_problem(scale: float, n: int) -> dp.Problem:
    """u'' = -pi^2 sin(pi x) on (0, 1) on ``n`` grid points; the boundary target is ``scale``."""
    interval = dp.domains.Interval(dp.spaces.R1("x"), 0.0, 1.0)
    pde = PDEConstraint(
        "pde", dp.samplers.GridSampler(interval, n), residual=lambda f: f.laplacian("u"),
        source=lambda x: -math.pi**2 * torch.sin(math.pi * x),
    )
    bc = DirichletBC(
        "boundary", dp.samplers.GridSampler(interval.boundary, 2), value=lambda x: scale + 0 * x
    )
    return dp.Problem("scaled", interval, [pde, bc])
