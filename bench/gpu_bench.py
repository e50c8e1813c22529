"""The speed cases on one GPU: the plain loop, deepinn eager (reverse, auto) and compiled.

Cases: P1 and P2 of ``bench/speed.py`` and P3, a 2-D Poisson with 100 000 interior and 4 000
boundary points (MLP 2-50-50-50-50-1). Every deepinn row is a ``deepinn.fit`` run (Lightning's
loop included, on ``accelerator=gpu``); the plain loop runs on the same device from the same
weights and points. Each step is timed with a ``torch.cuda.synchronize`` at its end, so the
figure is the device's time, not the launch queue's. ``bench/gpu_check.sh`` runs this.

    python bench/gpu_bench.py --steps 300                 # on a CUDA machine
    python bench/gpu_bench.py --cpu-dry-run               # tiny sizes on the CPU (a smoke test)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

P3 = {
    "problem": "poisson",
    "params": {"n_interior": 100_000, "n_boundary": 4_000},
    "layers": [2, 50, 50, 50, 50, 1],
    "description": "2-D Poisson, MLP 2-50-50-50-50-1 tanh, 100 000 + 4 000 points",
}
TINY = {"P1": {"n_interior": 64, "n_boundary": 16},
        "P2": {"n_interior": 64, "n_boundary": 8, "n_initial": 8},
        "P3": {"n_interior": 128, "n_boundary": 16}}


def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median_ms(seconds: list[float], skip: int) -> float | None:
    steady = seconds[skip:] or seconds
    return 1e3 * statistics.median(steady) if steady else None


def plain(case: str, steps: int, device: Any, skip: int) -> dict[str, Any]:
    import speed
    import torch

    _, network, points = speed._setup(case)
    # P3 is P1's problem and network with more points: the same plain loss
    net, inputs, loss_fn = speed._plain_loop("P1" if case == "P3" else case, network, points)
    net = net.to(device)
    inputs = {name: value.to(device) for name, value in inputs.items()}
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    seconds = []
    for _ in range(steps):
        start = time.perf_counter()
        optimizer.zero_grad()
        loss_fn(net, inputs).backward()
        optimizer.step()
        _sync(device)
        seconds.append(time.perf_counter() - start)
    return {"ms_per_step": _median_ms(seconds, skip)}


def deepinn_run(case: str, mode: str, steps: int, device: Any, skip: int) -> dict[str, Any]:
    import lightning.pytorch as pl
    import speed
    import torch

    from deepinn.training import adam, fit

    class SyncedCycles(pl.Callback):
        def __init__(self) -> None:
            self.seconds: list[float] = []
            self.mark: float | None = None
            self.step = 0

        def on_train_batch_end(self, trainer: Any, pl_module: Any, *args: Any) -> None:
            _sync(device)
            now = time.perf_counter()
            steps = max(1, trainer.global_step - self.step)  # a batch runs several steps
            if self.mark is not None:
                self.seconds += [(now - self.mark) / steps] * steps
            self.mark, self.step = now, trainer.global_step

    problem, network, _ = speed._setup(case)
    timer = SyncedCycles()
    compiled = mode.startswith("compile")
    start = time.perf_counter()
    result = fit(
        problem, network, phases=adam(1e-3), max_steps=steps, seed=speed.SEED, run_dir=None,
        dtype=torch.float32, field_mode="auto" if compiled else mode, compile=compiled,
        val_every=steps, eval_points=1000, logger=False,
        trainer_options={"accelerator": "gpu" if device.type == "cuda" else "cpu", "devices": 1,
                         "enable_progress_bar": False, "callbacks": [timer]},
    )
    module = result.module
    return {
        "ms_per_step": _median_ms(timer.seconds, skip),
        "fit_s": time.perf_counter() - start,
        "field_modes": module.loss.group_modes,
        "compile_warmup_s": sum(c.warmup_s for c in module.compiled) if module.compiled else None,
        "compile_failure": next((c.failure for c in module.compiled or () if c.failure), None),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--cases", default="P1,P2,P3")
    parser.add_argument("--modes", default="plain,reverse,auto,compile")
    parser.add_argument("--cpu-dry-run", action="store_true", help="tiny sizes on the CPU")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    import speed
    import torch

    speed.CASES["P3"] = P3
    if args.cpu_dry_run:
        device = torch.device("cpu")
        steps = min(args.steps, 6)
        for case, params in TINY.items():
            speed.CASES[case] = dict(speed.CASES[case], params=params)
        torch.set_num_threads(1)
    else:
        if not torch.cuda.is_available():
            print("no CUDA device: use --cpu-dry-run for a smoke test", file=sys.stderr)
            return 2
        device = torch.device("cuda")
        steps = args.steps
        print(f"device: {torch.cuda.get_device_name(device)}, torch {torch.__version__}")
    skip = max(2, steps // 10)
    rows = []
    for case in args.cases.split(","):
        for mode in args.modes.split(","):
            try:
                if mode == "plain":
                    record = plain(case, steps, device, skip)
                else:
                    record = deepinn_run(case, mode, steps, device, skip)
            except Exception as error:
                record = {"ms_per_step": None, "error": f"{type(error).__name__}: {error}"[:300]}
            record.update(case=case, implementation=mode, steps=steps)
            rows.append(record)
            ms = record["ms_per_step"]
            shown = ("field_modes", "compile_warmup_s", "compile_failure", "error")
            extra = {k: v for k, v in record.items() if k in shown and v}
            figure = f"{ms:.3f}" if ms else "-"
            print(f"{case} {mode:8s} {figure:>9} ms/step  {extra or ''}", flush=True)
    print("\n| case | implementation | ms/step | ratio to plain |")
    print("|---|---|---|---|")
    for row in rows:
        base = next((r["ms_per_step"] for r in rows
                     if r["case"] == row["case"] and r["implementation"] == "plain"), None)
        ms = row["ms_per_step"]
        ratio = f"{ms / base:.2f}" if ms and base else "-"
        figure = f"{ms:.3f}" if ms else "-"
        print(f"| {row['case']} | {row['implementation']} | {figure} | {ratio} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0 if all(r["ms_per_step"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
