"""Benchmark: time per optimizer step on one process and on two DDP processes (CPU, gloo).

Problem: Poisson 2-D on the unit square, 40 000 interior and 4 000 boundary points (global: two
ranks take half each), MLP 2-50-50-50-1 tanh, float32, Adam. Each configuration runs
``fit()`` in its own subprocess (Lightning's ``ddp`` strategy re-executes the command once per
rank) and reports the median milliseconds per optimizer step over the steady part (steps after
the first ``WARMUP``), measured on rank zero between consecutive ``on_train_batch_end`` calls.
It also reports rank zero's CPU time per step (``time.process_time``, all its threads): on a
machine shared with other work, wall time suffers from the contention but CPU time still shows
how the work splits between the processes.

Configurations: 1 process x 1 thread, 2 DDP processes x 1 thread (the split alone), and 1 process
x 2 threads (the same two cores used by intra-op threads instead).

With ``--repeats R`` the three configurations run R times in turn and each reports its best
median (the run least disturbed by other load on the machine).

Run: ``python bench/bench_ddp.py`` (``--steps``, ``--interior`` to change the size).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

WARMUP = 10
LAYERS = [2, 50, 50, 50, 1]


def _worker(args: argparse.Namespace) -> None:
    """One configuration: fit() with a step timer; rank zero writes the step times."""
    import lightning.pytorch as pl
    import torch

    import deepinn as dp
    from deepinn.constraints import DirichletBC, PDEConstraint
    from deepinn.training import adam, fit

    torch.set_num_threads(args.threads)

    class StepTimer(pl.Callback):
        def __init__(self) -> None:
            self.ends: list[float] = []
            self.cpu: list[float] = []
            self.steps: list[int] = []

        def on_train_batch_end(self, trainer: pl.Trainer, *_: Any) -> None:
            self.ends.append(time.perf_counter())
            self.cpu.append(time.process_time())
            self.steps.append(trainer.global_step)  # a batch runs several steps

    square = dp.domains.Parallelogram(dp.spaces.R2("x"), [0, 0], [1, 0], [0, 1])

    def exact(x: torch.Tensor) -> torch.Tensor:
        return torch.sin(math.pi * x[:, :1]) * torch.sin(math.pi * x[:, 1:])

    pde = PDEConstraint(
        "pde", dp.samplers.RandomUniformSampler(square, args.interior, seed=0),
        residual=lambda f: -f.laplacian("u"), source=lambda x: 2 * math.pi**2 * exact(x),
    )
    bc = DirichletBC(
        "boundary", dp.samplers.RandomUniformSampler(square.boundary, args.interior // 10, seed=1),
        value=exact,
    )
    problem = dp.Problem("poisson2d", square, [pde, bc], exact=exact)
    torch.manual_seed(0)
    net = dp.nn.FullyConnected(LAYERS, "tanh", bounds=square.bounding_box())
    timer = StepTimer()
    options: dict[str, Any] = {
        "accelerator": "cpu", "devices": args.devices, "enable_progress_bar": False,
        "callbacks": [timer],
    }
    if args.devices > 1:
        options["strategy"] = "ddp"
    result = fit(
        problem, net, phases=adam(), max_steps=args.steps, val_every=args.steps, eval_points=1000,
        logger=False, trainer_options=options,
    )
    if result.trainer.is_global_zero:
        counts = [b - a for a, b in itertools.pairwise(timer.steps)]
        ends = itertools.pairwise(timer.ends)
        steps = [(b - a) / n for (a, b), n in zip(ends, counts, strict=False)
                 for _ in range(n)][WARMUP:]
        cpu = [(b - a) / n for (a, b), n in zip(itertools.pairwise(timer.cpu), counts, strict=False)
               for _ in range(n)][WARMUP:]
        Path(args.out).write_text(json.dumps({
            "ms": 1000 * statistics.median(steps), "cpu_ms": 1000 * statistics.median(cpu),
            "n": len(steps), "loss": result.metrics["final_loss"],
        }))


def _run(devices: int, threads: int, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    out = folder / f"d{devices}t{threads}.json"
    command = [
        sys.executable, str(Path(__file__).resolve()), "--worker", "--devices", str(devices),
        "--threads", str(threads), "--steps", str(args.steps), "--interior", str(args.interior),
        "--out", str(out),
    ]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONWARNINGS="ignore")
    done = subprocess.run(command, check=False, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(
            f"{devices} process(es) failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
        )
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60,
                        help=f"optimizer steps per run (at least {WARMUP + 20}: the first "
                        f"{WARMUP} are warm-up, and steps are timed ten to a batch)")
    parser.add_argument("--interior", type=int, default=40_000, help="global interior points")
    parser.add_argument("--repeats", type=int, default=1, help="rounds; best median reported")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--devices", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--out", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.steps < WARMUP + 20:
        parser.error(f"--steps {args.steps}: give at least {WARMUP + 20} (the first {WARMUP} are "
                     "warm-up, and steps are timed ten to a batch)")
    if args.worker:
        _worker(args)
        return
    print(
        f"Poisson 2-D, {args.interior} interior + {args.interior // 10} boundary points (global), "
        f"MLP {'-'.join(map(str, LAYERS))} tanh, float32, Adam, {args.steps} steps; median ms per "
        f"optimizer step after {WARMUP} warm-up steps, best of {args.repeats}; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    configurations = {"one": (1, 1), "two": (2, 1), "threads": (1, 2)}
    best: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            for name, (devices, threads_) in configurations.items():
                result = _run(devices, threads_, args, Path(tmp))
                if name not in best or result["ms"] < best[name]["ms"]:
                    best[name] = result
    one, two, threads = best["one"], best["two"], best["threads"]
    rows = [
        ("1 process   x 1 thread ", one, ""),
        ("2 processes x 1 thread ", two, " (DDP, gloo)"),
        ("1 process   x 2 threads", threads, " (intra-op threads)"),
    ]
    for label, figures, note in rows:
        print(
            f"{label}: {figures['ms']:8.1f} ms/step, speed-up {one['ms'] / figures['ms']:.2f}x; "
            f"rank-zero CPU {figures['cpu_ms']:7.1f} ms/step{note}"
        )
    print(f"final loss: 1 process {one['loss']:.6e}, 2 processes {two['loss']:.6e}")


if __name__ == "__main__":
    main()
