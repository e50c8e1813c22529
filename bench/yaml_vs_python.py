"""YAML-written problems against their built-in Python twins: error and step time, paired.

Each pair is composed exactly as ``deepinn train`` would (``+experiment=yaml_heat`` against
``+experiment=heat``, ...), built with ``deepinn.app.build_components`` (same network, dtype,
point counts and initial weights), then trained in this one process with the same plain loop:
full-batch Adam (lr 1e-3) on :class:`deepinn.training.step._loss.PINNLoss` (``field_mode=auto``).
The two runs of a pair alternate step by step, so both see the same machine load; the step
time is the median over the steps. ``rel_l2`` is measured on each problem's evaluation set
(10000 uniform points against the exact solution, or the reference grid).

    python bench/yaml_vs_python.py --steps 300            # all four pairs
    python bench/yaml_vs_python.py --steps 300 --pairs heat burgers

Targets: YAML error within 2x of the Python problem's, step time within 10%.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import torch

from deepinn.app import build_components, compose, register_configs
from deepinn.plugins import load_registry
from deepinn.training import RunConfig
from deepinn.training.service._metrics import relative_l2
from deepinn.training.step._data import round_generator
from deepinn.training.step._loss import PINNLoss

L_SHAPE = "[[-1.0,-1.0],[1.0,-1.0],[1.0,0.0],[0.0,0.0],[0.0,1.0],[-1.0,1.0]]"

PAIRS: dict[str, tuple[list[str], list[str]]] = {
    "poisson_lshape": (
        ["+experiment=yaml_poisson_lshape"],
        [
            "problem=poisson", "domain=polygon", f"domain.vertices={L_SHAPE}", "dtype=float64",
            "net.hidden=[50,50,50]", "problem.n_interior=2000", "problem.n_boundary=400",
        ],
    ),
    "heat": (["+experiment=yaml_heat"], ["+experiment=heat"]),
    "burgers": (["+experiment=yaml_burgers"], ["+experiment=burgers"]),
    "inverse": (["+experiment=yaml_inverse"], ["+experiment=inverse_diffusion"]),
}


class Run:
    """One problem, its network, its points and its Adam, stepped one at a time."""

    def __init__(self, overrides: list[str], registry: Any) -> None:
        cfg = compose(overrides)
        self.dtype = torch.float64 if cfg.dtype == "float64" else torch.float32
        torch.set_default_dtype(self.dtype)
        self.problem, self.network, _ = build_components(cfg, registry)
        self.network.to(self.dtype)
        parameters = list(self.network.parameters()) + list(self.problem.parameters.values())
        for parameter in self.problem.parameters.values():
            parameter.data = parameter.data.to(self.dtype)
        self.loss = PINNLoss(self.problem, self.network, RunConfig(field_mode="auto"))
        self.points = {}
        for c in self.problem.constraints:
            batch = c.sample(round_generator(0, c.name, 0))
            self.points[c.name] = {k: v.to(self.dtype) for k, v in batch.items()}
        torch.set_default_dtype(torch.float32)
        self.optimizer = torch.optim.Adam(parameters, lr=1e-3)
        self.times: list[float] = []

    def step(self) -> None:
        start = time.perf_counter()
        self.optimizer.zero_grad(set_to_none=True)
        total, _ = self.loss(self.points)
        total.backward()
        self.optimizer.step()
        self.times.append(time.perf_counter() - start)

    def error(self) -> float:
        points, values = self.problem.evaluation_set(10_000)
        with torch.no_grad():
            prediction = self.network(points.to(self.dtype)).to(torch.float64)
        return float(relative_l2(prediction, values))

    def coefficient(self) -> str:
        errors = [
            f"{name}={float(p.detach()):.4f}"
            for name, p in self.problem.parameters.items()
            if name in self.problem.true_parameters
        ]
        return " ".join(errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--pairs", nargs="*", default=list(PAIRS), choices=list(PAIRS))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    registry = load_registry(strict=True)
    register_configs(registry)
    print(f"{args.steps} Adam steps (lr 1e-3), full batch, field_mode=auto, "
          f"{args.threads} thread(s); paired: the two runs alternate step by step")
    header = (f"{'pair':<16}{'rel_l2 yaml':>13}{'rel_l2 python':>15}{'ratio':>8}"
              f"{'ms/step yaml':>14}{'ms/step python':>16}{'ratio':>8}  coefficients")
    print(header)
    for pair in args.pairs:
        yaml_overrides, python_overrides = PAIRS[pair]
        runs = [Run(yaml_overrides, registry), Run(python_overrides, registry)]
        for _ in range(args.steps):
            for run in runs:
                run.step()
        errors = [run.error() for run in runs]
        ms = [1e3 * statistics.median(run.times[5:] or run.times) for run in runs]
        coefficients = " | ".join(run.coefficient() for run in runs if run.coefficient())
        print(f"{pair:<16}{errors[0]:>13.3e}{errors[1]:>15.3e}{errors[0] / errors[1]:>8.2f}"
              f"{ms[0]:>14.2f}{ms[1]:>16.2f}{ms[0] / ms[1]:>8.3f}  {coefficients}", flush=True)


if __name__ == "__main__":
    main()
