"""A benchmark worker process: runs cases and writes their results as JSON.

Started by ``bench/run.py`` (one process per case in a full run, so each peak-memory figure is
its own; one process for all cases with ``--smoke``). Not meant to be run by hand, but it can be:

    python bench/worker.py --out result.json accuracy:poisson speed:P1:auto --smoke
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

SPEED_STEPS = 300
SMOKE_SPEED_STEPS = 12


def run(spec: str, smoke: bool, overrides: list[str]) -> dict:
    """Run one case ``accuracy:<name>`` or ``speed:<P1|P2>:<plain|reverse|auto>``."""
    kind, _, rest = spec.partition(":")
    if kind == "accuracy":
        from accuracy import run_case

        return run_case(rest, smoke=smoke, overrides=overrides)
    if kind == "speed":
        from speed import run_speed

        case, _, implementation = rest.partition(":")
        return run_speed(case, implementation, SMOKE_SPEED_STEPS if smoke else SPEED_STEPS)
    raise SystemExit(f"unknown case {spec!r}; use accuracy:<name> or speed:<case>:<impl>")


def main() -> None:
    parser = argparse.ArgumentParser(description="deepinn benchmark worker")
    parser.add_argument("cases", nargs="+")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--override", action="append", default=[], help="Hydra override")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    warnings.filterwarnings("ignore")
    import logging

    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    logging.getLogger("lightning").setLevel(logging.ERROR)
    results = []
    for spec in args.cases:
        try:
            results.append(run(spec, args.smoke, args.override))
        except Exception as error:
            results.append({"case": spec, "error_message": f"{type(error).__name__}: {error}",
                            "traceback": traceback.format_exc()})
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
