"""fit() on a tiny 1-D Poisson problem, Adam then L-BFGS, dumping each rank's parameters.

Run by tests/training/test_ddp.py in a subprocess (never inside pytest: Lightning's ``ddp`` strategy
re-executes this script once per rank):

    python tests/ddp_fit_script.py OUT_DIR --devices 2     # DDP on 2 CPU processes (gloo)
    python tests/ddp_fit_script.py OUT_DIR --devices 1     # one process, the reference

Each rank writes ``OUT_DIR/rank<r>.pt`` (its parameters after the last step) and rank zero
``OUT_DIR/metrics.json``.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch

import deepinn as dp
from deepinn.constraints import DirichletBC, PDEConstraint
from deepinn.training import Phase, fit, lbfgs

ADAM_STEPS = 3
MAX_STEPS = 10


class DumpParameters(pl.Callback):
    """Saves this rank's parameters at the end of training."""

    def __init__(self, out: Path) -> None:
        self.out = out

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        state = {name: p.detach().cpu().clone() for name, p in pl_module.named_parameters()}
        torch.save(state, self.out / f"rank{trainer.global_rank}.pt")


def problem() -> dp.Problem:
    interval = dp.domains.Interval(dp.spaces.R1("x"), 0.0, 1.0)

    def exact(x):
        return torch.sin(math.pi * x)

    pde = PDEConstraint(
        "pde",
        dp.samplers.RandomUniformSampler(interval, 61, seed=0),  # odd: unequal shards
        residual=lambda f: -f.laplacian("u") / math.pi**2,
        source=exact,
    )
    bc = DirichletBC("boundary", dp.samplers.GridSampler(interval.boundary, 2), value=exact)
    return dp.Problem("poisson1d", interval, [pde, bc], exact=exact)


def run(out: Path, devices: int, accelerator: str = "cpu") -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    problem_ = problem()
    net = dp.nn.FullyConnected([1, 12, 12, 1], "tanh", bounds=problem_.domain.bounding_box())
    phases = [Phase(lambda params: torch.optim.Adam(params, lr=1e-2), steps=ADAM_STEPS), lbfgs()]
    options: dict[str, Any] = {
        "accelerator": accelerator,
        "devices": devices,
        "enable_progress_bar": False,
        "callbacks": [DumpParameters(out)],
    }
    if devices > 1:
        options["strategy"] = "ddp"
    result = fit(
        problem_, net, phases=phases, max_steps=MAX_STEPS, dtype=torch.float64, eval_points=500,
        log_every=1, trainer_options=options, logger=False,
    )
    if result.trainer.is_global_zero:
        (out / "metrics.json").write_text(json.dumps(result.metrics, indent=2))
    return result.metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--accelerator", default="cpu")
    args = parser.parse_args()
    run(args.out, args.devices, args.accelerator)


if __name__ == "__main__":
    main()
