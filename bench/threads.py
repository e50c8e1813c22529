"""Does a small PINN gain from a second CPU thread, and what does a busy core cost it?

Bare Adam steps of deepinn's eager loss (no Lightning) on the two speed cases of
``bench/speed.py`` — P1-like Poisson (MLP 2-50x4-1, 2000 + 400 points) and P2-like Burgers
(MLP 2-20x3-1, 2540 + 80 + 160 points) — with ``torch.set_num_threads(1)`` and ``(2)``, first
on the machine as it is, then with one competing busy process (``python -c "while True: pass"``,
killed at the end). Each configuration runs for ``--seconds`` after a few warm-up steps and
prints its steps per second; the machine's usable cores and load average are printed first.

    python bench/threads.py --seconds 3
"""

from __future__ import annotations

import argparse
import copy
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

WARMUP_STEPS = 5


def _rate(case: str, threads: int, seconds: float) -> float:
    """Steps per second of ``case`` on ``threads`` threads over about ``seconds``."""
    import speed
    import torch

    from deepinn.training import RunConfig
    from deepinn.training.step._loss import PINNLoss

    torch.set_num_threads(threads)
    problem, network, points = speed._setup(case)
    net = copy.deepcopy(network)
    loss = PINNLoss(problem, net, RunConfig(field_mode="auto", compile=False))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step() -> None:
        optimizer.zero_grad()
        loss(points)[0].backward()
        optimizer.step()

    for _ in range(WARMUP_STEPS):
        step()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        steps += 1
    return steps / (time.perf_counter() - start)


def _table(cases: list[str], seconds: float) -> dict[tuple[str, int], float]:
    return {(case, threads): _rate(case, threads, seconds) for case in cases for threads in (1, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per config")
    parser.add_argument("--cases", nargs="+", default=["P1", "P2"], choices=("P1", "P2"))
    args = parser.parse_args(argv)

    from deepinn.training.service._threads import usable_cores

    print(f"usable cores {usable_cores()}, load average {os.getloadavg()[0]:.2f}")
    results: dict[str, dict[tuple[str, int], float]] = {"idle": _table(args.cases, args.seconds)}
    busy: Any = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        results["busy"] = _table(args.cases, args.seconds)
    finally:
        busy.kill()
        busy.wait()
    print(f"{'case':<5} {'machine':<28} {'threads=1':>10} {'threads=2':>10} {'2 / 1':>6}")
    for label, table in results.items():
        machine = "as it is" if label == "idle" else "+ one busy process"
        for case in args.cases:
            one, two = table[case, 1], table[case, 2]
            print(f"{case:<5} {machine:<28} {one:>8.1f}/s {two:>8.1f}/s {two / one:>6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
