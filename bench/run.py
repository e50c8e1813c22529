"""deepinn's benchmark suite: accuracy of every problem's tuned config, and two speed cases.

    python bench/run.py                        # everything, one case after the other
    python bench/run.py burgers heat P1        # some problems / speed cases
    python bench/run.py --smoke                # a few steps of everything
    python bench/run.py P2 --impls reverse auto  # the eager speed rows only (no compile)
    python bench/run.py --json bench.json      # also write every figure as JSON

Accuracy cases train ``conf/experiment/<name>.yaml`` (what ``python train.py +experiment=<name>``
runs) and report the final error against the exact or reference solution, wall time, median ms
per optimizer step over the steady part (after the first 10% of steps; per optimizer phase in the
JSON), peak resident memory, and the time and steps to first reach the target (checked at
validations every 1% of the run). Speed cases P1 and P2 (``bench/speed.py``) time deepinn with
``field_mode=reverse`` and ``auto`` against the plain PyTorch loop of ``bench/plain_loop.py``.

Every case runs in its own worker process (``bench/worker.py``), one after the other, so the
peak-memory figure is the case's own; ``--smoke`` runs all cases in one worker to stay fast.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PROBLEMS = [
    "poisson", "laplace", "helmholtz", "heat", "wave", "burgers", "allen_cahn", "kovasznay",
    "inverse_diffusion",
]
SPEED_CASES = ["P1", "P2"]
IMPLEMENTATIONS = ["plain", "reverse", "auto", "compile"]
CASE_TIMEOUT_S = 1800


def machine() -> dict[str, Any]:
    """nproc, CPU model, torch version, Python, and the load average now."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = "not installed"
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "torch": torch_version,
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _worker(
    specs: list[str], smoke: bool, overrides: list[str], timeout: float
) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "result.json"
        command = [sys.executable, str(HERE / "worker.py"), *specs, "--out", str(out)]
        command += ["--smoke"] if smoke else []
        for override in overrides:
            command += ["--override", override]
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        try:
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env,
                                  timeout=timeout)
            failure = (None if done.returncode == 0
                       else f"worker exited {done.returncode}: {done.stderr[-2000:]}")
        except subprocess.TimeoutExpired:
            failure = f"timed out after {timeout:.0f} s"
        results = json.loads(out.read_text()) if out.is_file() else []
    finished = {result["case"] for result in results}
    for spec in specs:
        name = spec.split(":")[1] if spec.startswith("accuracy:") else spec
        if failure and name not in finished and spec not in finished:
            results.append({"case": spec, "error_message": failure})
    return results


def _fmt(value: Any, spec: str = ".3g") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return format(value, spec)
    return str(value)


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
              for row in rows]
    return "\n".join(lines)


def accuracy_table(results: list[dict[str, Any]]) -> str:
    """The accuracy table (markdown)."""
    header = ["problem", "metric", "error", "target", "met", "steps", "wall s", "CPU s", "ms/step",
              "peak MiB", "to target s", "to target steps"]
    rows = []
    for r in results:
        if "error_message" in r:
            failed = "FAILED: " + r["error_message"][:80]
            rows.append([r["case"], failed] + [""] * (len(header) - 2))
            continue
        metric = "k rel. error" if "coefficient" in r["metric"] else "rel L2"
        rows.append([r["case"], metric, _fmt(r["error"], ".2e"), _fmt(r["target"], ".0e"),
                     _fmt(r["met"]), _fmt(r["steps"]), _fmt(r["wall_s"], ".0f"),
                     _fmt(r.get("cpu_s"), ".0f"),
                     _fmt(r["timing"]["ms_per_step"], ".1f"),
                     _fmt(r["peak_rss_mib"], ".0f"), _fmt(r["time_to_target_s"], ".0f"),
                     _fmt(r["steps_to_target"])])
    return _table(header, rows)


def speed_table(results: list[dict[str, Any]]) -> str:
    """The speed table (markdown): ms/step and the ratio to the plain loop.

    A deepinn row's ratio is taken against the plain-loop steps interleaved with it in the same
    process (``paired plain``), not against the separate plain run: that is the figure a drifting
    machine cannot distort.
    """
    header = ["case", "implementation", "ms/step", "paired plain ms/step", "ratio to plain",
              "CPU ratio", "first loss", "peak MiB"]
    rows = []
    for r in results:
        if "error_message" in r:
            failed = "FAILED: " + r["error_message"][:80]
            rows.append([r["case"], failed] + [""] * (len(header) - 2))
            continue
        base, base_cpu = r.get("paired_plain_ms_per_step"), r.get("paired_plain_cpu_ms_per_step")
        ratio = r["ms_per_step"] / base if base and r["ms_per_step"] else None
        cpu = r.get("cpu_ms_per_step")
        cpu_ratio = cpu / base_cpu if base_cpu and cpu else None
        names = {"plain": "plain PyTorch (alone)",
                 "compile": "deepinn field_mode=auto compile=true"}
        name = names.get(
            r["implementation"], f"deepinn field_mode={r['implementation']}"
        )
        rows.append([r["case"], name, _fmt(r["ms_per_step"], ".2f"), _fmt(base, ".2f"),
                     _fmt(ratio, ".2f"), _fmt(cpu_ratio, ".2f"), _fmt(r["first_loss"], ".6g"),
                     _fmt(r["peak_rss_mib"], ".0f")])
    return _table(header, rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="deepinn accuracy and speed benchmarks")
    parser.add_argument("names", nargs="*", help=f"problems ({', '.join(PROBLEMS)}) and/or P1, P2")
    parser.add_argument("--smoke", action="store_true", help="a few steps of everything")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--override", action="append", default=[],
                        help="Hydra override for accuracy cases")
    parser.add_argument("--impls", nargs="+", choices=IMPLEMENTATIONS, default=IMPLEMENTATIONS,
                        help="implementations of the speed cases (e.g. --impls reverse auto: the "
                        "eager ones, each with its paired plain loop)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in PROBLEMS + SPEED_CASES]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; choose from {PROBLEMS + SPEED_CASES}")
    names = args.names or PROBLEMS + SPEED_CASES
    specs = [f"accuracy:{n}" for n in names if n in PROBLEMS]
    specs += [f"speed:{c}:{i}" for c in names if c in SPEED_CASES for i in args.impls]
    info = machine()
    start = time.perf_counter()
    if args.smoke:
        results = _worker(specs, True, args.override, CASE_TIMEOUT_S)
    else:
        results = []
        for spec in specs:
            print(f"running {spec} ...", flush=True)
            results += _worker([spec], False, args.override, CASE_TIMEOUT_S)
    accuracy = [r for r in results
                if r.get("kind") == "accuracy" or str(r["case"]).startswith("accuracy:")]
    speed = [r for r in results if r not in accuracy]
    info["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    command = "python bench/run.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    print(f"\n{command}\nmachine: {info}\n")
    if accuracy:
        print(accuracy_table(accuracy) + "\n")
    if speed:
        print(speed_table(speed) + "\n")
    print(f"total {time.perf_counter() - start:.0f} s")
    if args.json:
        record = {"command": command.strip(), "machine": info, "smoke": args.smoke,
                  "accuracy": accuracy, "speed": speed}
        args.json.write_text(json.dumps(record, indent=1))
    failed = [r["case"] for r in results if "error_message" in r]
    if failed:
        print(f"failed: {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
