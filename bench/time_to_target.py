"""Time to rel L2 <= 1e-3 on P1: deepinn against the plain loop, with the same optimizer schedule.

P1 (2-D Poisson, MLP 2-50-50-50-50-1 tanh, 2000 + 400 points, float32, 2 threads, the same
points and initial weights, see ``bench/speed.py``) trained with the same schedule by both:
Adam (lr 1e-3) for ``--adam`` steps, then L-BFGS (strong Wolfe, one iteration per step, up to 25
evaluations, history 50). The error is measured every ``--every`` steps on the same 10 000
uniform points; the time counts the optimizer steps only (measuring is excluded from both).
deepinn runs through ``deepinn.fit`` with the forward Laplacian (``field_mode=auto``, the default)
and, with ``--compile``, through ``torch.compile`` as well. The implementations alternate,
``--repeats`` times each, in one process; the table gives the median.

    python bench/time_to_target.py
    python bench/time_to_target.py --repeats 1 --max-steps 3000 --compile
"""

from __future__ import annotations

import argparse
import copy
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

TARGET = 1e-3


def plain_run(
    network: Any, points: Any, eval_x: Any, eval_u: Any, args: argparse.Namespace
) -> dict[str, Any]:
    """The plain loop with the schedule; the optimizer seconds until rel L2 <= TARGET."""
    import torch
    from speed import _plain_loop

    from deepinn.training import lbfgs as lbfgs_phase

    net, inputs, loss_fn = _plain_loop("P1", network, points)
    adam = torch.optim.Adam(net.parameters(), lr=1e-3)
    lbfgs = lbfgs_phase().optimizer(net.parameters())  # torch's LBFGS, deepinn's settings
    seconds, error = 0.0, math.nan
    for step in range(args.max_steps):
        start = time.perf_counter()
        optimizer = adam if step < args.adam else lbfgs

        def closure(optimizer=optimizer) -> torch.Tensor:
            optimizer.zero_grad()
            loss = loss_fn(net, inputs)
            loss.backward()
            return loss

        optimizer.step(closure)
        seconds += time.perf_counter() - start
        if (step + 1) % args.every == 0:
            with torch.no_grad():
                error = float((net(eval_x) - eval_u).norm() / eval_u.norm())
            if error <= TARGET:
                return {"seconds": seconds, "steps": step + 1, "error": error}
    return {"seconds": None, "steps": args.max_steps, "error": error}


def deepinn_run(
    problem: Any, network: Any, args: argparse.Namespace, compile: bool
) -> dict[str, Any]:
    """deepinn's fit with the schedule; the optimizer seconds until val/rel_l2 <= TARGET."""
    import lightning.pytorch as pl
    import torch
    from timing import CycleTimer, ErrorRecorder

    from deepinn.training import adam_lbfgs, fit

    class StopAtTarget(pl.Callback):
        def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
            error = trainer.callback_metrics.get("val/rel_l2")
            if error is not None and float(error) <= TARGET:
                trainer.should_stop = True

    timer = CycleTimer()  # whole step cycles, validation excluded
    recorder = ErrorRecorder(timer)
    fit(problem, network, phases=adam_lbfgs(adam_steps=args.adam), max_steps=args.max_steps, seed=0,
        run_dir=None, dtype=torch.float32, compile=compile, val_every=args.every,
        eval_points=10_000,
        trainer_options={"accelerator": "cpu", "devices": 1, "enable_progress_bar": False,
                         "callbacks": [timer, recorder, StopAtTarget()]},
        logger=False)
    hit = recorder.first_below("val/rel_l2", TARGET)
    last = recorder.history[-1]["val/rel_l2"] if recorder.history else math.nan
    if hit is None:
        return {"seconds": None, "steps": args.max_steps, "error": last}
    return {"seconds": hit["train_s"], "steps": int(hit["step"]), "error": hit["val/rel_l2"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adam", type=int, default=1000, help="Adam steps before L-BFGS")
    parser.add_argument("--max-steps", type=int, default=4000)
    parser.add_argument("--every", type=int, default=50, help="measure the error every N steps")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--compile", action="store_true",
                        help="also time deepinn with compile=true")
    args = parser.parse_args(argv)
    import torch
    from speed import _setup

    torch.set_num_threads(2)
    problem, network, points = _setup("P1")
    eval_x, eval_u = problem.evaluation_set(10_000)
    eval_x, eval_u = eval_x.float(), eval_u.float()
    names = ["plain", "deepinn auto"] + (["deepinn auto compile"] if args.compile else [])
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for _ in range(args.repeats):
        for name in names:
            net = copy.deepcopy(network)
            if name == "plain":
                runs[name].append(plain_run(net, points, eval_x, eval_u, args))
            else:
                runs[name].append(deepinn_run(problem, net, args, compile=name.endswith("compile")))
            print(name, runs[name][-1], flush=True)
    print(f"\nP1, Adam {args.adam} steps then L-BFGS, target rel L2 <= {TARGET:g}, "
          f"measured every {args.every} steps, median of {args.repeats}\n")
    print("| implementation | seconds to target | steps to target | error there | ratio to plain |")
    print("|---|---|---|---|---|")
    base = None
    for name in names:
        done = [r for r in runs[name] if r["seconds"] is not None]
        every_done = len(done) == len(runs[name])
        seconds = statistics.median(r["seconds"] for r in done) if every_done else None
        steps = statistics.median(r["steps"] for r in runs[name])
        error = statistics.median(r["error"] for r in runs[name])
        base = seconds if name == "plain" else base
        ratio = f"{seconds / base:.2f}" if seconds and base else "-"
        shown = f"{seconds:.1f}" if seconds else f"not reached in {args.max_steps} steps"
        print(f"| {name} | {shown} | {steps:.0f} | {error:.2e} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
