"""The original DeepINN tutorial's trainer: ``dp.Model(problem, net).compile(...).train(...)``.

A thin layer over :func:`deepinn.training.fit` (Lightning underneath, so
:mod:`deepinn.notebook` imports this module on first use of ``Model``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from deepinn._errors import ConfigurationError, unknown_name_message
from deepinn.problems import Problem
from deepinn.training import FitResult, Phase, adam, fit, lbfgs

__all__ = ["Model"]

_OPTIMIZERS = {"adam": "adam", "lbfgs": "lbfgs", "l-bfgs": "lbfgs"}


class Model:
    """Couples a problem and a network; ``compile`` chooses the optimizer, ``train`` runs it."""

    def __init__(self, problem: Problem, network: torch.nn.Module) -> None:
        if not isinstance(problem, Problem):
            raise ConfigurationError(
                f"Model(problem, network): problem must be a deepinn Problem (e.g. from "
                f"dp.domain.Generic), got {problem!r}."
            )
        self.problem = problem
        self.network = network
        self._phases: list[Phase] | None = None
        self.device = "cpu"
        self.result: FitResult | None = None
        self.history: list[dict[str, Any]] = []

    def compile(
        self, optimiser: str = "adam", lr: float = 1e-3, loss: str = "MSE", device: str = "cpu"
    ) -> Model:
        """Choose the optimizer (``adam`` or ``lbfgs``), learning rate, loss and device."""
        key = optimiser.lower()
        if key not in _OPTIMIZERS:
            raise ConfigurationError(unknown_name_message("optimiser", optimiser, _OPTIMIZERS))
        if loss.upper() != "MSE":
            raise ConfigurationError(
                f"loss={loss!r}: only 'MSE' (mean squared residual) is supported."
            )
        if not (device == "cpu" or device.startswith("cuda")):
            raise ConfigurationError(f"device={device!r}; use 'cpu', 'cuda' or 'cuda:N'.")
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigurationError(
                f"device={device!r} but CUDA is not available here; use 'cpu'."
            )
        self._phases = adam(lr) if _OPTIMIZERS[key] == "adam" else [lbfgs()]
        self.device = device
        return self

    def train(
        self, iterations: int = 1000, run_dir: str | Path | None = None, **options: Any
    ) -> dict[str, Any]:
        """Train for ``iterations`` optimizer steps; returns the metrics (also in ``history``)."""
        if self._phases is None:
            raise ConfigurationError("Call model.compile(...) before model.train(...).")
        if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations <= 0:
            raise ConfigurationError(
                f"model.train(iterations={iterations!r}): give a positive number of optimizer "
                "steps, e.g. model.train(iterations=2000)."
            )
        trainer_options: dict[str, Any] = {"accelerator": "cpu", "enable_progress_bar": False}
        if self.device.startswith("cuda"):
            index = int(self.device.split(":")[1]) if ":" in self.device else 0
            trainer_options = {
                "accelerator": "gpu",
                "devices": [index],
                "enable_progress_bar": False,
            }
        self.result = fit(
            self.problem,
            self.network,
            phases=self._phases,
            max_steps=iterations,
            run_dir=run_dir,
            trainer_options=trainer_options | options.pop("trainer_options", {}),
            **options,
        )
        self.history.append(self.result.metrics)
        return self.result.metrics

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """The trained network's outputs at ``x`` (no gradient)."""
        parameter = next(self.network.parameters())
        with torch.no_grad():
            return self.network(torch.as_tensor(x).to(parameter))
