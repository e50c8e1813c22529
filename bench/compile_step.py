"""Compile the network's passes or the whole loss? Bare steps (no Lightning), paired in one process.

Four step functions on copies of the same network and points, each with its own Adam, run in
interleaved blocks: the plain loop, deepinn's loss eager (forward lanes), deepinn's loss with only the
network's passes compiled (:class:`CompiledNetwork`, what ``compile=true`` falls back to where
residuals take nested autograd), and the whole loss (lanes, residuals, reductions, weighted sum)
under one ``torch.compile``, as ``compile=true`` runs it, so AOTAutograd generates its backward
too. Prints the warm-up of each compiled variant and the paired medians.

    python bench/compile_step.py P2 --steps 200 --threads 1
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=("P1", "P2"), nargs="?", default="P2")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--block", type=int, default=10)
    args = parser.parse_args(argv)

    import speed
    import torch

    from deepinn.training._loss import PINNLoss

    torch.set_num_threads(args.threads)
    problem, network, points = speed._setup(args.case)

    def deepinn_step(kind: str) -> tuple[Any, float]:
        net = copy.deepcopy(network)
        loss = PINNLoss(problem, net, field_mode="auto", compile=kind != "eager")
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        if kind == "whole":
            loss.choose_modes(points)  # what compile=true does on the first batch
            if loss.whole is None:
                raise RuntimeError("the whole loss was not compiled (see the log)")
        total = (lambda: loss(points)[0])

        def step() -> None:
            optimizer.zero_grad()
            total().backward()
            optimizer.step()

        start = time.perf_counter()
        step()
        step()  # the first calls compile (forward and backward graphs)
        compiled = loss.whole.warmup_s if loss.whole is not None else 0.0  # in choose_modes
        return step, compiled + time.perf_counter() - start

    steps: dict[str, Any] = {"plain": speed._plain_step(args.case, network, points)}
    warmup: dict[str, float] = {}
    for kind in ("eager", "network", "whole"):
        try:
            steps[kind], warmup[kind] = deepinn_step(kind)
        except Exception as error:
            print(f"{kind}: failed: {type(error).__name__}: {str(error)[:200]}")
    times: dict[str, list[float]] = {kind: [] for kind in steps}
    for _ in range(max(1, args.steps // args.block)):
        for kind, step in steps.items():
            for _ in range(args.block):
                start = time.perf_counter()
                step()
                times[kind].append(time.perf_counter() - start)
    plain = statistics.median(times["plain"][args.block:])
    print(f"{args.case}, {args.threads} thread(s), {args.steps} steps each, interleaved blocks of {args.block}")
    print("| step | ms/step | ratio to plain | warm-up s |")
    print("|---|---|---|---|")
    for kind, values in times.items():
        median = statistics.median(values[args.block:])
        print(f"| {kind} | {1e3 * median:.3f} | {median / plain:.2f} | "
              f"{warmup.get(kind, 0.0):.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
