"""Benchmark: forward Laplacian vs nested autograd for value + gradient + Laplacian.

Network: MLP 2-50-50-50-50-1 tanh, 2000 points, float32, 2 CPU threads. Prints the median
milliseconds over 50 runs (after warm-up) of

* one evaluation of (u, grad u, Laplacian u), and
* one training step: that evaluation, a Poisson-type loss, and the backward pass to the weights.

Run: ``python bench/bench_forward_laplacian.py``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

from deepinn.nn import FullyConnected

N_POINTS = 2000
LAYERS = [2, 50, 50, 50, 50, 1]
WARMUP = 10
REPEATS = 50


def autograd_derivatives(
    net: torch.nn.Module, x: torch.Tensor, training: bool = True
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(u, grad u, Laplacian u) by nested reverse-mode autograd.

    With ``training`` the graph of the second derivatives is kept for a backward pass.
    """
    x = x.detach().requires_grad_(True)
    u = net(x)
    (grad,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    lap = torch.zeros_like(u[:, 0])
    for i in range(x.shape[1]):
        (second,) = torch.autograd.grad(
            grad[:, i].sum(), x, create_graph=training, retain_graph=True
        )
        lap = lap + second[:, i]
    return u, grad, lap


def forward_derivatives(
    net: FullyConnected, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(u, grad u, Laplacian u) by the forward Laplacian."""
    u, du, d2u = net.forward_derivatives(x)
    return u, du[:, 0, :], d2u[:, 0, :].sum(dim=1)


def median_ms(fn: Callable[[], object]) -> float:
    """Median wall time of ``fn`` in milliseconds."""
    for _ in range(WARMUP):
        fn()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def main() -> None:
    """Run the benchmark and print the figures."""
    torch.set_num_threads(2)
    torch.manual_seed(0)
    net = FullyConnected(LAYERS, activation="tanh", bounds=([0.0, 0.0], [1.0, 1.0]))
    x = torch.rand(N_POINTS, 2)
    f = torch.ones(N_POINTS)

    def evaluate(method: Callable[..., tuple[torch.Tensor, ...]]) -> Callable[[], object]:
        def run() -> object:
            if method is forward_derivatives:
                with torch.no_grad():  # no graph needed
                    return method(net, x)
            return autograd_derivatives(net, x, training=False)

        return run

    def train_step(method: Callable[..., tuple[torch.Tensor, ...]]) -> Callable[[], object]:
        def run() -> object:
            net.zero_grad(set_to_none=True)
            u, grad, lap = method(net, x)
            loss = ((lap + f) ** 2).mean() + (grad**2).mean() * 1e-3
            loss.backward()
            return loss

        return run

    # correctness check before timing
    u_a, g_a, l_a = autograd_derivatives(net, x)
    u_f, g_f, l_f = forward_derivatives(net, x)
    err = max(
        (u_a - u_f).abs().max().item(),
        (g_a - g_f).abs().max().item(),
        (l_a - l_f).abs().max().item(),
    )

    print(
        f"MLP {'-'.join(map(str, LAYERS))} tanh, {N_POINTS} points, float32, "
        f"{torch.get_num_threads()} threads, median of {REPEATS} runs"
    )
    print(f"max |autograd - forward| = {err:.2e}")
    rows = [
        ("evaluation (u, grad, laplacian)", evaluate),
        ("training step (forward + backward)", train_step),
    ]
    for label, make in rows:
        ms_autograd = median_ms(make(autograd_derivatives))
        ms_forward = median_ms(make(forward_derivatives))
        print(
            f"{label:36s} autograd {ms_autograd:8.3f} ms   forward laplacian "
            f"{ms_forward:8.3f} ms   speed-up {ms_autograd / ms_forward:5.2f}x"
        )


if __name__ == "__main__":
    main()
