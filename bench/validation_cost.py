"""What validation costs under a cadence: the CLI's run of a YAML problem, with timers around
Lightning's evaluation loop, the solution figure and the training batches.

    python bench/validation_cost.py                                  # the default cadence
    python bench/validation_cost.py monitor.val_every=200            # a figure every validation

The problem is 1-D advection ``u_t + u_x = 0`` on [0, 1] x [0, 1] written in YAML
(``problem=custom``; ``u = sin(2 pi (x - t))``), 2 000 + 200 + 200 points, the default MLP,
``trainer.max_steps`` 2 000 Adam steps, ``compile=false``, TensorBoard on. Extra arguments are
Hydra overrides. Prints the validation loop's time as a share of the training batches' time.
Interleave cadences (one run each, in turns) on a shared machine.
"""

from __future__ import annotations

import atexit
import collections
import functools
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ADVECTION = """\
# @package _global_
defaults:
  - override /problem: custom
  - override /domain: interval
  - _self_
problem:
  label: advection
  coordinates: [x, t]
  time: [0.0, 1.0]
  parameters: {c: 1.0}
  constraints:
    pde: {kind: pde, n: 2000, residual: "u_t + c*u_x"}
    ends: {kind: dirichlet, n: 200, value: "sin(2*pi*(x - c*t))"}
    start: {kind: initial, n: 200, value: "sin(2*pi*x)"}
  exact: "sin(2*pi*(x - c*t))"
trainer: {max_steps: 2000}
"""

TIMES: dict[str, list[float]] = collections.defaultdict(list)


def _timed(owner: Any, name: str, label: str) -> None:
    function = getattr(owner, name)

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            TIMES[label].append(time.perf_counter() - start)

    setattr(owner, name, wrapper)


def _report() -> None:
    for label, values in TIMES.items():
        print(f"{label}: {len(values)} calls, {sum(values):.3f} s")
    batches, validation = sum(TIMES["training batches"]), sum(TIMES["validation loop"])
    if batches:
        print(f"validation / training: {100 * validation / batches:.1f}%")


def main(argv: list[str]) -> None:
    from lightning.pytorch.loops import _EvaluationLoop

    import deepinn.training.service._callbacks as callbacks
    from deepinn.__main__ import main as deepinn_main
    from deepinn.training.step._module import PINNModule

    _timed(_EvaluationLoop, "run", "validation loop")
    _timed(callbacks.FigureLogger, "_log_solution", "solution figures drawn")
    _timed(PINNModule, "training_step", "training batches")
    atexit.register(_report)
    folder = Path(tempfile.mkdtemp(prefix="validation_cost_"))
    (folder / "experiment").mkdir()
    (folder / "experiment" / "advection.yaml").write_text(ADVECTION)
    sys.argv = ["deepinn", "train", "--config-dir", str(folder), "+experiment=advection",
                "optimizer=adam", "compile=false", f"hydra.run.dir={folder / 'run'}", *argv]
    deepinn_main()


if __name__ == "__main__":
    main(sys.argv[1:])
