"""The baseline of the speed cases: a plain, hand-written PyTorch PINN training loop.

No framework: an ``nn.Sequential`` of Linear + tanh, nested ``torch.autograd.grad`` for the
derivatives, Adam (lr 1e-3), full batch, float32. ``bench/speed.py`` gives it the same points and
the same initial weights as the deepinn run it is compared with, so both minimise the same loss
from the same start (their first losses agree).

P1: -lap u = 2 pi^2 sin(pi x) sin(pi y) on the unit square (residual divided by 2 pi^2, as in
deepinn's ``poisson``), u = 0 on the boundary. P2: Burgers, u_t + u u_x - (0.01/pi) u_xx = 0,
u = 0 at x = +-1, u(x, 0) = -sin(pi x).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Mapping

import torch
from torch import nn

__all__ = ["burgers_loss", "make_network", "poisson_loss", "poisson_source", "train"]

NU = 0.01 / math.pi
Points = Mapping[str, torch.Tensor]


def make_network(
    layers: list[int], state: Mapping[str, torch.Tensor] | None = None
) -> nn.Sequential:
    """``Linear, Tanh, ..., Linear``; ``state`` holds deepinn's ``linears.<i>.weight/bias``."""
    modules: list[nn.Module] = []
    for index, (a, b) in enumerate(itertools.pairwise(layers)):
        modules.append(nn.Linear(a, b))
        if index < len(layers) - 2:
            modules.append(nn.Tanh())
    net = nn.Sequential(*modules)
    if state is not None:
        linears = [m for m in net if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for index, linear in enumerate(linears):
                linear.weight.copy_(state[f"linears.{index}.weight"])
                linear.bias.copy_(state[f"linears.{index}.bias"])
    return net


def _gradient(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    return g


def poisson_source(x: torch.Tensor) -> torch.Tensor:
    """The right-hand side divided by 2 pi^2: sin(pi x) sin(pi y), precomputed once."""
    return torch.sin(math.pi * x[:, 0:1]) * torch.sin(math.pi * x[:, 1:2])


def poisson_loss(net: nn.Module, points: Points) -> torch.Tensor:
    """P1: mean squared PDE residual + mean squared boundary value."""
    x = points["pde"].requires_grad_(True)
    u = net(x)
    g = _gradient(u, x)
    laplacian = _gradient(g[:, 0], x)[:, 0:1] + _gradient(g[:, 1], x)[:, 1:2]
    pde = -laplacian / (2 * math.pi**2) - points["source"]
    boundary = net(points["boundary"])
    return pde.square().mean() + boundary.square().mean()


def burgers_loss(net: nn.Module, points: Points) -> torch.Tensor:
    """P2: mean squared PDE residual + boundary (u = 0) + initial (u = -sin(pi x)) terms."""
    x = points["pde"].requires_grad_(True)
    u = net(x)
    g = _gradient(u, x)
    u_x, u_t = g[:, 0:1], g[:, 1:2]
    u_xx = _gradient(u_x, x)[:, 0:1]
    pde = u_t + u * u_x - NU * u_xx
    boundary = net(points["boundary"])
    initial = net(points["initial"]) + torch.sin(math.pi * points["initial"][:, 0:1])
    return pde.square().mean() + boundary.square().mean() + initial.square().mean()


def train(
    net: nn.Module, loss_fn: Callable[[nn.Module, Points], torch.Tensor], points: Points, steps: int
) -> tuple[list[float], list[float], float]:
    """Adam (lr 1e-3) for ``steps`` full-batch steps.

    Returns:
        The wall seconds and the process CPU seconds of each step, and the first loss.
    """
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    seconds: list[float] = []
    cpu_seconds: list[float] = []
    first = float("nan")
    for step in range(steps):
        start, cpu_start = time.perf_counter(), time.process_time()
        optimizer.zero_grad()
        loss = loss_fn(net, points)
        loss.backward()
        optimizer.step()
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - cpu_start)
        if step == 0:
            first = float(loss.detach())
    return seconds, cpu_seconds, first
