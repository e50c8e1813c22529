"""Whole-run wall time: what a user waits for, compile warm-up included, against the plain loop.

    python bench/whole_run.py P1 P2 --steps 1000 --reps 2
    python bench/whole_run.py P2 --steps 5000 --reps 3 --impls plain default

Each run is a fresh process (``python bench/whole_run.py --one ...``) on 1 thread (``--threads``),
with the same points and initial weights as ``bench/speed.py``. Per rep, the implementations run
one after the other (their order rotated from rep to rep), so plain and deepinn share the same
minutes of a drifting machine. Implementations:

- ``plain``: the plain PyTorch loop of ``bench/plain_loop.py``.
- ``default``: ``deepinn.fit`` with every default (``compile=auto``, ``field_mode=auto``).
- ``eager``: ``deepinn.fit`` with ``compile=False``.
- ``compile``: ``deepinn.fit`` with ``compile=True``.

The inductor cache is a fresh ``TORCHINDUCTOR_CACHE_DIR`` (and ``TRITON_CACHE_DIR``) for the whole
invocation: the first rep of a compiling implementation starts **cold** (nothing cached), later reps
are **warm** (a second run of a problem of the same shape). ``--cache DIR`` reuses a folder.

Figures per run: ``whole_s``, the wall time of ``fit`` (or of the plain loop) from its call to its
return — Trainer set-up, compile warm-up, every step, validation and teardown included, the
problem and the points built before it excluded on both sides; ``ms_per_step``, the median step
over the steady part (the first 10% dropped); ``peak_mib`` and ``base_mib``, the peak resident
memory and the resident memory just before the run (after imports and set-up), whose difference
is what the run itself grew.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
IMPLS = ("plain", "default", "eager", "compile")


def _resident_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def one(case: str, impl: str, steps: int, threads: int, allocator: str) -> dict[str, Any]:
    """One run in this process (the ``--one`` mode)."""
    import logging
    import resource
    import warnings

    warnings.filterwarnings("ignore")
    sys.path.insert(0, str(HERE))
    import torch

    torch.set_num_threads(threads)
    import plain_loop
    import speed
    from timing import steady_median

    problem, network, points = speed._setup(case)
    record: dict[str, Any] = {}
    if impl == "plain":
        net, inputs, loss_fn = speed._plain_loop(case, network, points)
        base = _resident_mib()
        start = time.perf_counter()
        seconds, _, first = plain_loop.train(net, loss_fn, inputs, steps)
        whole = time.perf_counter() - start
    else:
        import lightning.pytorch as pl

        from deepinn.training import adam, fit

        logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

        class Steps(pl.Callback):
            def __init__(self) -> None:
                self.seconds: list[float] = []
                self.mark = 0.0

                self.step = 0

            def on_train_batch_start(self, trainer: Any, *args: Any) -> None:
                self.mark, self.step = time.perf_counter(), trainer.global_step

            def on_train_batch_end(self, trainer: Any, *args: Any) -> None:
                steps = max(1, trainer.global_step - self.step)  # a batch runs several steps
                self.seconds += [(time.perf_counter() - self.mark) / steps] * steps

        timer = Steps()
        options: dict[str, Any] = {"field_mode": "auto"} if impl == "default" else {}
        if impl != "default":
            options["compile"] = impl == "compile"
        options["allocator"] = allocator
        base = _resident_mib()
        start = time.perf_counter()
        result = fit(
            problem, network, phases=adam(1e-3), max_steps=steps, seed=speed.SEED, run_dir=None,
            dtype=torch.float32, threads=threads, logger=False,
            trainer_options={"accelerator": "cpu", "devices": 1, "enable_progress_bar": False,
                             "callbacks": [timer]},
            **options,
        )
        whole = time.perf_counter() - start
        seconds, first = timer.seconds, float("nan")
        compiled = result.module.compiled
        record["compiled"] = [type(c).__name__ for c in compiled] if compiled else []
        record["warmup_s"] = sum(c.warmup_s for c in compiled) if compiled else 0.0
        record["modes"] = result.module.loss.group_modes  # field_mode=auto's probe, if it ran
        del first
    median = steady_median(seconds)
    record.update({
        "case": case, "impl": impl, "steps": steps, "whole_s": whole,
        "ms_per_step": median and 1e3 * median,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "base_mib": base,
    })
    return record


def _spawn(
    case: str, impl: str, steps: int, threads: int, cache: str, allocator: str
) -> dict[str, Any]:
    env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache, TRITON_CACHE_DIR=cache + "/triton",
               PYTHONWARNINGS="ignore", OMP_NUM_THREADS=str(threads))
    command = [sys.executable, str(HERE / "whole_run.py"), "--one", case, impl,
               "--steps", str(steps), "--threads", str(threads), "--allocator", allocator]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return {"case": case, "impl": impl, "error": done.stderr[-1500:]}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="whole-run wall time against the plain loop")
    parser.add_argument("cases", nargs="*", default=["P1", "P2"])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--impls", nargs="+", default=["plain", "default", "eager"],
                        choices=IMPLS)
    parser.add_argument("--allocator", default="auto", choices=("auto", "system"),
                        help="deepinn's allocator setting (system: glibc's own thresholds)")
    parser.add_argument("--cache", help="inductor cache folder (default: a fresh one, cold)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--one", nargs=2, metavar=("CASE", "IMPL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(one(args.one[0], args.one[1], args.steps, args.threads, args.allocator)))
        return 0
    command = "python bench/whole_run.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    with tempfile.TemporaryDirectory() as fresh:
        cache = args.cache or fresh
        records = []
        for rep in range(args.reps):
            for case in args.cases:
                order = args.impls[rep % len(args.impls):] + args.impls[:rep % len(args.impls)]
                for impl in order:
                    record = _spawn(case, impl, args.steps, args.threads, cache, args.allocator)
                    record["rep"] = rep
                    records.append(record)
                    shown = {k: (round(v, 3) if isinstance(v, float) else v)
                             for k, v in record.items() if k != "error"}
                    print(json.dumps(shown), record.get("error", ""), flush=True)
    print(f"\n{command}  (load average {os.getloadavg()[0]:.2f})\n")
    print("| case | implementation | whole s, each rep (cold first) | median whole / plain "
          "| ms/step median | step / plain | run's own peak MiB (peak - base) |")
    print("|---|---|---|---|---|---|---|")
    for case in args.cases:
        mine = [r for r in records if r["case"] == case and "error" not in r]

        def median(impl: str, key: str, rs: list[dict[str, Any]] = mine) -> float | None:
            values = [r[key] for r in rs if r["impl"] == impl and r.get(key) is not None]
            return statistics.median(values) if values else None

        plain_whole, plain_step = median("plain", "whole_s"), median("plain", "ms_per_step")
        for impl in args.impls:
            whole = [r["whole_s"] for r in mine if r["impl"] == impl]
            w, s = median(impl, "whole_s"), median(impl, "ms_per_step")
            grown = [r["peak_mib"] - r["base_mib"] for r in mine if r["impl"] == impl]
            speedup = f"{plain_whole / w:.2f}x" if w and plain_whole else "-"
            step = f"{plain_step / s:.2f}x" if s and plain_step else "-"
            print(f"| {case} | {impl} | {', '.join(f'{x:.1f}' for x in whole)} | {speedup} "
                  f"| {s or 0:.2f} | {step} | {statistics.median(grown) if grown else 0:.0f} |")
    if args.json:
        args.json.write_text(json.dumps({"command": command, "records": records}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
