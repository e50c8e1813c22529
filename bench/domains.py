"""The main job on every registered domain: ``python train.py domain=<name>`` at its defaults.

Runs each installed domain of dimension 1 to 3 (built-in and plugin ones) through ``train.py``
in its own process, one after the other, and prints rel L2, steps, wall time and the stop reason
from each run's ``metrics.json``. The targets: rel L2 < 1e-3 in under 90 s for the default
``domain=parallelogram``, rel L2 < 1e-2 for every other domain.

    python bench/domains.py                     # every domain
    python bench/domains.py circle sphere       # some of them
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def registered_domains() -> list[str]:
    """The names of every registered domain."""
    from deepinn.plugins import load_registry

    return sorted(load_registry().names("domains"))


def run(domain: str, folder: Path) -> dict[str, object]:
    """One ``train.py domain=<domain>`` run; its metrics (or the failure)."""
    run_dir = folder / domain
    command = [sys.executable, "train.py", f"domain={domain}", f"hydra.run.dir={run_dir}",
               "logger=none", "trainer.enable_progress_bar=false"]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    metrics_file = run_dir / "metrics.json"
    if done.returncode != 0 or not metrics_file.is_file():
        return {"domain": domain, "error": (done.stderr or done.stdout)[-400:], "process_s": wall}
    metrics = json.loads(metrics_file.read_text())
    return {"domain": domain, "process_s": wall, **metrics}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("domains", nargs="*", help="domain names (default: every registered one)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    names = args.domains or registered_domains()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            print(f"running domain={name} ...", flush=True)
            results.append(run(name, Path(folder)))
    print("\n| domain | rel L2 | target | met | steps | fit s | process s | stop reason |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        target = 1e-3 if r["domain"] == "parallelogram" else 1e-2
        if "error" in r:
            failure = str(r["error"])[-120:]
            print(f"| {r['domain']} | FAILED: {failure!r} | {target:.0e} | NO | | | | |")
            continue
        met = r["rel_l2"] < target and (r["domain"] != "parallelogram" or r["wall_time_s"] < 90)
        cells = [r["domain"], f"{r['rel_l2']:.2e}", f"{target:.0e}", "yes" if met else "NO",
                 r["steps"], f"{r['wall_time_s']:.0f}", f"{r['process_s']:.0f}",
                 r.get("stop_reason") or "-"]
        print("| " + " | ".join(str(c) for c in cells) + " |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0 if all("error" not in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
