"""The training toolbox on Burgers and Allen-Cahn: a configuration over seeds, and its ablation.

    python bench/toolbox.py burgers_toolbox --seeds 0 1 2 --budget 600   # 3 seeds, 10 minutes each
    python bench/toolbox.py allen_cahn_toolbox --ablation --seeds 0     # each feature off in turn
    python bench/toolbox.py burgers_toolbox --ablation --only full exact --budget 300
    python bench/toolbox.py burgers_toolbox --jobs 2 --json toolbox.json
    python bench/toolbox.py allen_cahn_marching --ablation --jobs 2 --budget 1200
    python bench/toolbox.py burgers_frontier --ablation --jobs 2 --budget 200

Each run is ``deepinn train +experiment=<name> seed=<s> threads=<t> <ablation overrides>
<--override ...>`` in its own process (no TensorBoard, no progress bar, run folder under
``--out``); the figures are the run's ``metrics.json``: ``rel_l2`` (against the reference grid),
``wall_time_s`` (the fit) and the process's wall time (with start-up and the final evaluation).
``--jobs 2`` runs two processes at once (one thread each by default): on a 2-core machine that is
what fits, and each run's wall time then includes the competition for memory bandwidth.

The ablation switches one feature of the configuration off per row (``ABLATIONS``).
``--budget S`` stops each run with SIGTERM after S seconds of wall time (``timeout -s TERM S``):
deepinn then evaluates and writes ``metrics.json`` as at a normal end, so "the error within S
seconds" is measured literally (the toolbox configurations set ``trainer.max_steps`` high and rely
on the budget).
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# Each row: a label and the overrides that switch one feature of the configuration off. Without
# the periodic embedding, the soft periodic condition (weight 0 in the configuration, where the
# embedding makes it vanish) is switched back on with weight 1.
ABLATIONS: dict[str, list[tuple[str, list[str]]]] = {
    "burgers_frontier": [
        ("full", []),
        ("no RAD resampling", ["sampler=latin_hypercube", "resample_every=0"]),
        ("no exact conditions", ["problem.exact_conditions=false"]),
        ("float32", ["dtype=float32", "optimizer.quasi_newton.dtype=null"]),
        ("SSBFGS instead of SSBroyden", ["optimizer=adam_ssbfgs"]),
    ],
    "burgers_toolbox": [
        ("full", []),
        ("no exact conditions", ["problem.exact_conditions=false"]),
        ("no RAD resampling", ["sampler=latin_hypercube", "resample_every=0"]),
        ("8 x 20 network", ["net.hidden=[20,20,20,20,20,20,20,20]"]),
    ],
    "allen_cahn_toolbox": [
        ("full", []),
        ("no periodic embedding", ["~net.periodic.x", "problem.weights.periodic=1.0"]),
        ("no modified MLP", ["net.architecture=plain"]),
        ("no causal weighting", ["causal.tol=0.0"]),
        ("no grad_norm", ["weighting.name=none"]),
        ("no warm-up/exp. decay", ["optimizer.scheduler.name=none"]),
    ],
    # trainer.max_steps is per window: the rows without marching or with fewer windows get the
    # same total number of steps (10 x 3500).
    "allen_cahn_marching": [
        ("full", []),
        ("no time marching", ["marching.windows=1", "trainer.max_steps=35000"]),
        ("5 windows", ["marching.windows=5", "trainer.max_steps=7000"]),
        ("no periodic embedding", ["~net.periodic.x", "problem.weights.periodic=1.0"]),
    ],
}
SHORT = {
    "full": "full",
    "no modified MLP": "modified",
    "no grad_norm": "grad_norm",
    "no RAD resampling": "rad",
    "no warm-up/exp. decay": "schedule",
    "no periodic embedding": "periodic",
    "no exact conditions": "exact",
    "8 x 20 network": "network",
    "no causal weighting": "causal",
    "no time marching": "marching",
    "5 windows": "windows5",
    "float32": "float32",
    "SSBFGS instead of SSBroyden": "ssbfgs",
}


def run_one(
    name: str, seed: int, label: str, overrides: list[str], out: Path, threads: int,
    budget: float | None = None,
) -> dict[str, Any]:
    """Train one configuration in its own process; its metrics.json figures."""
    run_dir = out / f"{name}-{SHORT.get(label, label)}-seed{seed}"
    cmd = [
        sys.executable, "-m", "deepinn", "train", f"+experiment={name}", f"seed={seed}",
        f"threads={threads}", "trainer.enable_progress_bar=false", "logger=none",
        f"hydra.run.dir={run_dir}", *overrides,
    ]
    if budget is not None:
        cmd = ["timeout", "-s", "TERM", str(budget), *cmd]
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        output = log.read()
    wall = time.perf_counter() - start
    command = " ".join(shlex.quote(c) for c in cmd)
    row: dict[str, Any] = {
        "config": name, "ablation": label, "seed": seed, "overrides": overrides,
        "command": command.replace(f"{sys.executable} -m deepinn", "deepinn"),
        "process_wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
        "returncode": proc.returncode,
    }
    metrics_file = run_dir / "metrics.json"
    # 124/143: stopped by the budget (SIGTERM), metrics.json written at the stop
    if proc.returncode not in (0, 124, 143) or not metrics_file.exists():
        row["error"] = output.strip().splitlines()[-3:]
        return row
    metrics = json.loads(metrics_file.read_text())
    row.update(
        rel_l2=metrics.get("rel_l2"), fit_wall_s=metrics.get("wall_time_s"),
        steps=metrics.get("steps"), stop_reason=metrics.get("stop_reason"),
    )
    return row


def table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table: one line per ablation row, the median over its seeds."""
    lines = [
        "| run | seeds | rel. L2 (median) | rel. L2 per seed | fit wall s (median) "
        "| CPU s (median) | steps |",
        "|---|---|---|---|---|---|---|",
    ]
    labels = list(dict.fromkeys(r["ablation"] for r in rows))
    for label in labels:
        group = [r for r in rows if r["ablation"] == label]
        ok = [r for r in group if r.get("rel_l2") is not None]
        if not ok:
            lines.append(f"| {label} | {len(group)} | failed: {group[0].get('error')} | | | | |")
            continue
        errors = [r["rel_l2"] for r in ok]
        walls = [r["fit_wall_s"] for r in ok]
        cpus = [r["cpu_s"] for r in ok]
        lines.append(
            f"| {label} | {','.join(str(r['seed']) for r in ok)} | "
            f"{statistics.median(errors):.2e} | {' '.join(f'{e:.2e}' for e in errors)} | "
            f"{statistics.median(walls):.0f} | {statistics.median(cpus):.0f} | "
            f"{'/'.join(str(r['steps']) for r in ok)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", choices=sorted(ABLATIONS), help="conf/experiment/<config>.yaml")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--ablation", action="store_true", help="also each feature off in turn")
    parser.add_argument("--only", nargs="+", help="rows by short name: full, modified, ...")
    parser.add_argument("--override", action="append", default=[], help="Hydra override, every run")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once (2 at most on 2 cores)")
    parser.add_argument("--budget", type=float, default=None, help="wall seconds per run (SIGTERM)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--out", type=Path, default=None, help="run folders (default: a temp dir)")
    parser.add_argument("--json", type=Path, default=None, help="write every row as JSON")
    args = parser.parse_args(argv)

    variants = ABLATIONS[args.config] if args.ablation else ABLATIONS[args.config][:1]
    if args.only:
        names = [SHORT.get(v[0], v[0]) for v in ABLATIONS[args.config]]
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            parser.error(f"--only {unknown}: {args.config}'s rows are {names}")
        variants = [v for v in ABLATIONS[args.config] if SHORT.get(v[0], v[0]) in args.only]
    out = args.out or Path(tempfile.mkdtemp(prefix="toolbox-"))
    jobs = [
        (label, [*overrides, *args.override], seed)
        for label, overrides in variants for seed in args.seeds
    ]

    def one(job: tuple[str, list[str], int]) -> dict[str, Any]:
        label, overrides, seed = job
        return run_one(args.config, seed, label, overrides, out, args.threads, args.budget)

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        rows = list(pool.map(one, jobs))
    keys = ("ablation", "seed", "rel_l2", "fit_wall_s", "cpu_s", "steps", "stop_reason", "error")
    for row in rows:
        print(json.dumps({k: row.get(k) for k in keys}))
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0 if all(r.get("rel_l2") is not None for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
