"""Where a speed case's step goes: deepinn's fit against the plain loop, profiled and paired.

Two measurements, both in this one process:

1. **Paired timing.** ``deepinn.fit`` runs with a :class:`PairedPlainLoop` callback whose step
   function alternates (every ``--block`` steps) between the plain loop and deepinn's *bare* step
   (the same :class:`PINNLoss`, ``backward`` and fit's fused Adam, no Lightning; ``--modes
   compile``: the whole loss and its gradient compiled in both) on copies of the network.
   The fit cycle minus the bare step is the framework's overhead; the bare step minus the plain
   step is the loss's own cost (Field, residuals) against hand-written code.
2. **cProfile** of ``--steps`` steps of ``fit`` and of the plain loop. The time each function
   spends itself is put into a category by the file it lives in; the time of a C function
   (a torch kernel call) goes to the file of its caller, and the autograd engine's time is split
   between the loss's ``backward`` and the nested ``autograd.grad`` of the derivatives. cProfile
   slows Python-heavy code more than kernels, so read its figures as shares of a profiled step.

    python bench/profile_step.py P2 --steps 200 --threads 1
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

CATEGORIES = (
    ("backward (loss.backward)", None),
    ("derivatives: nested autograd.grad", None),
    ("Lightning loop, hooks, optimizer and closure wrappers",
     ("lightning/", "lightning_utilities/")),
    ("torch optimizer wrapper (Optimizer.step, zero_grad, hooks)", ("torch/optim/optimizer.py",)),
    ("Adam update arithmetic", ("torch/optim/adam.py", "torch/optim/_functional")),
    ("network forward (and forward-derivative lanes)", ("torch/nn/", "deepinn/nn/")),
    ("Field and derivative cache", ("deepinn/operators/",)),
    ("residual arithmetic (constraints, problem)",
     ("deepinn/constraints/", "deepinn/problems/", "deepinn/expressions/")),
    ("loss assembly (PINNLoss: grouping, sums)", ("deepinn/training/step/_loss.py",)),
    ("deepinn module loop (closure, finite check, logging)", ("deepinn/training/",)),
    ("plain loop code", ("bench/plain_loop.py",)),
    ("torch Python glue (autograd, tensor, functional)", ("torch/",)),
)


def _category(filename: str) -> str:
    path = filename.replace("\\", "/")
    for name, prefixes in CATEGORIES:
        if prefixes and any(prefix in path for prefix in prefixes):
            return name
    return "other"


def breakdown(stats: pstats.Stats) -> dict[str, float]:
    """Self time (seconds) per category; see the module docstring for the attribution."""
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    # The share of the autograd engine that serves torch.autograd.grad (derivatives).
    grad_ct = backward_ct = 0.0
    for func, (_, _, _, _, callers) in raw.items():
        if func[2] == "_engine_run_backward":
            for caller, edge in callers.items():
                if caller[2] == "grad":
                    grad_ct += edge[3]
                else:
                    backward_ct += edge[3]
    grad_share = grad_ct / (grad_ct + backward_ct) if grad_ct + backward_ct else 0.0
    totals: dict[str, float] = defaultdict(float)
    for func, (_, _, tottime, _, callers) in raw.items():
        filename, _, name = func
        if "run_backward" in name and filename == "~":
            totals["derivatives: nested autograd.grad"] += tottime * grad_share
            totals["backward (loss.backward)"] += tottime * (1 - grad_share)
        elif filename == "~" and callers:  # a C function: its caller's category
            edge_total = sum(edge[2] for edge in callers.values()) or 1.0
            for caller, edge in callers.items():
                totals[_category(caller[0])] += tottime * edge[2] / edge_total
        else:
            totals[_category(filename)] += tottime
    return dict(totals)


def _profile(run: Any) -> tuple[pstats.Stats, float]:
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.runcall(run)
    return pstats.Stats(profiler), time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=("P1", "P2"), nargs="?", default="P2")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--paired-steps", type=int, default=400)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--block", type=int, default=10)
    parser.add_argument("--modes", default="reverse,auto",
                        help="field modes to profile (or compile)")
    parser.add_argument("--no-cprofile", action="store_true")
    args = parser.parse_args(argv)

    import plain_loop
    import speed
    import torch
    from timing import PairedPlainLoop, steady_median

    from deepinn.training import RunConfig, adam, fit
    from deepinn.training.step._loss import PINNLoss

    torch.set_num_threads(args.threads)
    problem, network, points = speed._setup(args.case)
    print(f"{args.case}: {speed.CASES[args.case]['description']}; {args.threads} thread(s); "
          f"torch {torch.__version__}")

    def bare_step(mode: str) -> Any:
        net = copy.deepcopy(network)
        compiled = mode == "compile"
        loss = PINNLoss(
            problem, net, RunConfig(field_mode="auto" if compiled else mode, compile=compiled)
        )
        parameters = list(net.parameters())
        # as fit does on its first batch: compile=true compiles the loss and its gradient;
        # field_mode=auto times each group's paths and keeps the faster (printed: fit's own
        # probe may choose otherwise on a noisy machine, which the log then shows)
        loss.choose_modes(points, parameters=parameters if compiled else None)
        if mode == "auto":
            print(f"[auto] the bare step's probe chose {loss.group_modes}")
        optimizer = adam(1e-3)[0].optimizer(parameters)  # fit's own (fused) Adam

        def step() -> None:
            optimizer.zero_grad()
            if compiled:
                gradients = loss.loss_and_gradient(points, None, parameters)[2]
                for parameter, gradient in zip(parameters, gradients, strict=True):
                    parameter.grad = gradient
            else:
                loss(points)[0].backward()
            optimizer.step()

        return step

    def run_fit(mode: str, steps: int, callbacks: list[Any]) -> Any:
        compiled = mode == "compile"
        return fit(
            problem, copy.deepcopy(network), phases=adam(1e-3), max_steps=steps, seed=speed.SEED,
            run_dir=None, dtype=torch.float32, field_mode="auto" if compiled else mode,
            compile=compiled, val_every=steps, eval_points=1000,
            trainer_options={"accelerator": "cpu", "devices": 1, "enable_progress_bar": False,
                             "callbacks": callbacks},
            logger=False,
        )

    modes = [m for m in args.modes.split(",") if m]
    for mode in modes:
        plain = speed._plain_step(args.case, network, points)
        bare = bare_step(mode)
        which = {"plain": [], "bare": []}
        state = {"n": 0}

        def alternate(plain=plain, bare=bare, which=which, state=state) -> None:
            # blocks of plain and bare steps, alternating
            kind = "plain" if (state["n"] // args.block) % 2 == 0 else "bare"
            state["n"] += 1
            start = time.perf_counter()
            (plain if kind == "plain" else bare)()
            which[kind].append(time.perf_counter() - start)
            if state["n"] % args.block == 0:  # each step of a block gets the block's mean, as
                block = which[kind][-args.block:]  # the fit's batches of steps are timed whole
                which[kind][-args.block:] = [sum(block) / args.block] * args.block

        timer = PairedPlainLoop(alternate, args.block)
        run_fit(mode, args.paired_steps, [timer])
        fit_ms = 1e3 * (steady_median(timer.seconds) or float("nan"))
        plain_ms = 1e3 * (steady_median(which["plain"]) or float("nan"))
        bare_ms = 1e3 * (steady_median(which["bare"]) or float("nan"))
        print(f"\n[{mode}] paired medians over {len(timer.seconds)} fit steps: "
              f"fit cycle {fit_ms:.3f} ms, "
              f"bare deepinn step {bare_ms:.3f} ms, plain step {plain_ms:.3f} ms")
        print(f"[{mode}] framework overhead (fit - bare) {fit_ms - bare_ms:.3f} ms "
              f"= {100 * (fit_ms - bare_ms) / fit_ms:.1f}% of the fit step; "
              f"loss cost vs plain (bare - plain) {bare_ms - plain_ms:+.3f} ms; "
              f"fit / plain {fit_ms / plain_ms:.3f}")

    if args.no_cprofile:
        return 0
    profiles: dict[str, dict[str, float]] = {}
    walls: dict[str, float] = {}
    for mode in modes:
        run_fit(mode, 20, [])  # warm
        stats, wall = _profile(lambda mode=mode: run_fit(mode, args.steps, []))
        profiles[f"fit {mode}"], walls[f"fit {mode}"] = breakdown(stats), wall
    net, inputs, loss_fn = speed._plain_loop(args.case, network, points)
    stats, wall = _profile(lambda: plain_loop.train(net, loss_fn, inputs, args.steps))
    profiles["plain"], walls["plain"] = breakdown(stats), wall

    names = [name for name, _ in CATEGORIES] + ["other"]
    header = list(profiles)
    print(f"\ncProfile, {args.steps} steps, ms per step (self time by category):\n")
    print("| category | " + " | ".join(header) + " |")
    print("|---|" + "---|" * len(header))
    for name in names:
        cells = [profiles[h].get(name, 0.0) * 1e3 / args.steps for h in header]
        if max(cells) >= 0.005:
            print(f"| {name} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
    totals = [sum(profiles[h].values()) * 1e3 / args.steps for h in header]
    print("| **total (profiled)** | " + " | ".join(f"{t:.3f}" for t in totals) + " |")
    print("| wall incl. setup, per step | " + " | ".join(
        f"{walls[h] * 1e3 / args.steps:.3f}" for h in header) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
