"""Benchmark: forward Laplacian vs nested autograd for value + gradient + Laplacian.

Network: MLP 2-50-50-50-50-1 tanh, 2000 points, float32, 2 CPU threads. Prints the median
milliseconds over 50 runs (after warm-up) of

* one evaluation of (u, grad u, Laplacian u), and
* one training step: that evaluation, a Poisson-type loss, and the backward pass to the weights,

for nested reverse-mode autograd, ``forward_derivatives`` (one second-derivative lane per
coordinate) and ``forward_laplacian`` (a single Laplacian lane).

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
BLOCK = 10


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
    """(u, grad u, Laplacian u) from the forward Hessian diagonal."""
    u, du, d2u = net.forward_derivatives(x)
    return u, du[:, 0, :], d2u[:, 0, :].sum(dim=1)


def forward_laplacian(
    net: FullyConnected, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(u, grad u, Laplacian u) carrying a single Laplacian lane."""
    u, du, lap = net.forward_laplacian(x)
    return u, du[:, 0, :], lap[:, 0]


def median_ms(fns: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Median wall time of each function in milliseconds.

    The functions are timed in interleaved blocks, so a burst of load on the machine hits all of
    them alike.
    """
    for fn in fns.values():
        for _ in range(WARMUP):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(REPEATS // BLOCK):
        for name, fn in fns.items():
            for _ in range(BLOCK):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    return {name: 1000.0 * statistics.median(ts) for name, ts in times.items()}


def main() -> None:
    """Run the benchmark and print the figures."""
    torch.set_num_threads(2)
    torch.manual_seed(0)
    net = FullyConnected(LAYERS, activation="tanh", bounds=([0.0, 0.0], [1.0, 1.0]))
    x = torch.rand(N_POINTS, 2)
    f = torch.ones(N_POINTS)

    def evaluate(method: Callable[..., tuple[torch.Tensor, ...]]) -> Callable[[], object]:
        def run() -> object:
            if method is autograd_derivatives:
                return autograd_derivatives(net, x, training=False)
            with torch.no_grad():  # forward mode needs no graph
                return method(net, x)

        return run

    def train_step(method: Callable[..., tuple[torch.Tensor, ...]]) -> Callable[[], object]:
        def run() -> object:
            net.zero_grad(set_to_none=True)
            _u, grad, lap = method(net, x)
            loss = ((lap + f) ** 2).mean() + (grad**2).mean() * 1e-3
            loss.backward()
            return loss

        return run

    methods = {
        "autograd": autograd_derivatives,
        "forward_derivatives": forward_derivatives,
        "forward_laplacian": forward_laplacian,
    }
    # correctness check before timing
    reference = autograd_derivatives(net, x)
    err = max(
        (a - b).abs().max().item()
        for method in list(methods.values())[1:]
        for a, b in zip(reference, method(net, x), strict=True)
    )
    print(
        f"MLP {'-'.join(map(str, LAYERS))} tanh, {N_POINTS} points, float32, "
        f"{torch.get_num_threads()} threads, median ms of {REPEATS} runs after {WARMUP} warm-up"
    )
    print(f"max |autograd - forward| = {err:.2e}")
    print(f"{'':36s}" + "".join(f"{name:>22s}" for name in methods))
    for label, make in (
        ("evaluation (u, grad, laplacian)", evaluate),
        ("training step", train_step),
    ):
        times = median_ms({name: make(method) for name, method in methods.items()})
        cells = [f"{times['autograd']:12.3f} ms      "]
        for name in list(methods)[1:]:
            cells.append(f"{times[name]:8.3f} ms ({times['autograd'] / times[name]:.2f}x)")
        print(f"{label:36s}" + "".join(f"{c:>22s}" for c in cells))


if __name__ == "__main__":
    main()
