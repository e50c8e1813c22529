"""Peak resident memory of a P1 run: deepinn's ``fit`` against the plain loop, each in its own
subprocess (``ru_maxrss`` of that process alone), plus what the imports alone cost and, package by
package, what importing Lightning brings in.

    python bench/memory.py --steps 200
    python bench/memory.py --case P2 --slope 1 8 --repeats 2   # growth per point

``--slope A B`` runs the plain loop and deepinn's ``fit`` with A and B times the case's points
(every constraint scaled) and reports, for each, the peak resident memory beyond the process's
resident memory just before training (after the imports and the points are built), and the slope
of that growth per point between the two sizes: what a run costs for each point it trains on.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent

CHILD = r"""
import json, resource, sys
sys.path.insert(0, {bench!r})
kind, steps, case, scale = {kind!r}, {steps}, {case!r}, {scale!r}
def resident_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20
base = None
import torch
torch.set_num_threads(1)
if kind == "import torch":
    pass
elif kind == "import deepinn.training":
    import deepinn.training
elif kind == "import lightning.pytorch":
    import lightning.pytorch
else:
    import speed  # light: it imports deepinn only inside its functions
    if kind == "plain":  # only torch: the points and weights come from a file
        import plain_loop
        saved = torch.load({points_file!r})
        net = plain_loop.make_network(speed.CASES[case]["layers"], saved["state"])
        loss_fn = plain_loop.poisson_loss if case == "P1" else plain_loop.burgers_loss
        inputs = saved["inputs"]
        if case == "P1":
            inputs["source"] = plain_loop.poisson_source(inputs["pde"])
        base = resident_mib()
        plain_loop.train(net, loss_fn, inputs, steps)
    elif kind == "save points":
        problem, network, points = speed._setup(case, scale)
        inputs = {{name: batch["x"].clone() for name, batch in points.items()}}
        torch.save({{"state": network.state_dict(), "inputs": inputs}}, {points_file!r})
    else:
        problem, network, points = speed._setup(case, scale)
        from deepinn.training import adam, fit
        import lightning.pytorch
        base = resident_mib()
        fit(problem, network, phases=adam(1e-3), max_steps=steps, seed=0, run_dir=None,
            dtype=torch.float32, val_every=steps, eval_points=1000, logger=False,
            trainer_options={{"accelerator": "cpu", "devices": 1, "enable_progress_bar": False}})
heavy = {{"lightning", "hydra", "tensorboard", "torchmetrics", "matplotlib", "omegaconf"}}
modules = sorted({{m.split(".")[0] for m in sys.modules}} & heavy)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
points = sum(len(x) for x in torch.load({points_file!r})["inputs"].values()) if base else 0
print(json.dumps({{"kind": kind, "peak_mib": peak, "heavy_modules": modules, "base_mib": base,
                  "points": points}}))
"""

KINDS = (
    "import torch", "import lightning.pytorch", "import deepinn.training", "plain", "deepinn fit",
)
"""Each in a fresh process; "plain" is the plain loop with nothing but torch imported."""


IMPORTS = (
    ("torch", "torch"),
    ("scipy.signal", "torchmetrics' audio functions, at import"),
    ("matplotlib.pyplot", "torchmetrics' plotting, at import"),
    ("sympy", "torch._dynamo (below)"),
    ("torch._dynamo", "lightning.fabric.wrappers, at import"),
    ("torchmetrics", "lightning.fabric.utilities.imports (a version check)"),
    ("lightning.pytorch", "deepinn.training"),
    ("deepinn", "-"),
    ("deepinn.training", "-"),
)
"""Imported one after the other in one process: each row's resident memory is what it adds to the
rows above it (so a package shows its own cost, not that of what an earlier row loaded)."""

IMPORTS_CHILD = r"""
import importlib, json, sys
def resident_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20
rows, before = [], resident_mib()
for name in sys.argv[1:]:
    importlib.import_module(name)
    now = resident_mib()
    rows.append([name, now - before])
    before = now
print(json.dumps(rows))
"""


def import_costs() -> list[tuple[str, float]]:
    """Each of :data:`IMPORTS`' resident MiB over the rows above it, in one fresh process."""
    names = [name for name, _ in IMPORTS]
    out = subprocess.run([sys.executable, "-c", IMPORTS_CHILD, *names], capture_output=True,
                         text=True, check=True)
    return [(name, float(mib)) for name, mib in json.loads(out.stdout.strip().splitlines()[-1])]


def measure(kind: str, steps: int, case: str, points_file: str, scale: float = 1.0) -> dict:
    code = CHILD.format(
        bench=str(BENCH), kind=kind, steps=steps, case=case, points_file=points_file, scale=scale
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="peak RSS of a P1 run: deepinn against the plain loop"
    )
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--case", default="P1", choices=("P1", "P2"))
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--slope", type=float, nargs=2, metavar=("A", "B"),
                        help="growth per point between A and B times the case's points")
    args = parser.parse_args(argv)
    if args.slope:
        return slope(args.case, args.steps, args.slope, args.repeats)
    results: dict[str, list[dict]] = {kind: [] for kind in KINDS}
    with tempfile.TemporaryDirectory() as folder:
        points_file = str(Path(folder) / "points.pt")
        measure("save points", 0, args.case, points_file)
        for _ in range(args.repeats):
            for kind in KINDS:
                results[kind].append(measure(kind, args.steps, args.case, points_file))
    print(f"| process ({args.case}, {args.steps} steps) | peak MiB | heavy modules loaded |")
    print("|---|---|---|")
    for kind, records in results.items():
        peak = min(r["peak_mib"] for r in records)
        print(f"| {kind} | {peak:.0f} | {', '.join(records[0]['heavy_modules']) or '-'} |")
    plain = min(r["peak_mib"] for r in results["plain"])
    ours = min(r["peak_mib"] for r in results["deepinn fit"])
    print(f"\ndeepinn fit / plain loop: {ours / plain:.3f} ({100 * (ours / plain - 1):+.1f}%)")
    if Path("/proc/self/statm").exists():
        importers = dict(IMPORTS)
        print("\n| import (in this order, one process) | resident MiB added | imported by |")
        print("|---|---|---|")
        for name, mib in import_costs():
            print(f"| {name} | {mib:+.0f} | {importers[name]} |")
    return 0


def slope(case: str, steps: int, scales: list[float], repeats: int) -> int:
    """Peak memory beyond the state before training, at two point counts, and its slope."""
    growth: dict[tuple[str, float], list[float]] = {}
    points: dict[float, int] = {}
    with tempfile.TemporaryDirectory() as folder:
        for scale in scales:
            points_file = str(Path(folder) / f"points_{scale}.pt")
            measure("save points", 0, case, points_file, scale)
            for _ in range(repeats):  # interleaved: plain and deepinn in the same minutes
                for kind in ("plain", "deepinn fit"):
                    record = measure(kind, steps, case, points_file, scale)
                    growth.setdefault((kind, scale), []).append(
                        record["peak_mib"] - record["base_mib"]
                    )
                    points[scale] = record["points"]
    low, high = scales
    print(f"| {case}, {steps} steps | " + " | ".join(
        f"{points[s]} points: peak beyond start, MiB" for s in scales
    ) + " | slope, KiB per point |")
    print("|---|---|---|---|")
    slopes = {}
    for kind in ("plain", "deepinn fit"):
        lo, hi = (min(growth[(kind, s)]) for s in scales)
        slopes[kind] = 1024 * (hi - lo) / (points[high] - points[low])
        print(f"| {kind} | {lo:.1f} | {hi:.1f} | {slopes[kind]:.2f} |")
    print(f"\ndeepinn / plain, per point: {slopes['deepinn fit'] / slopes['plain']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
