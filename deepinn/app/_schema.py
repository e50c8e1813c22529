"""The typed schema of the main job's configuration (the top of ``conf/train.yaml``).

The run's knobs come from :class:`deepinn.training.RunConfig` (declared there once); this schema
adds the config groups. Every node is typed, so a misspelt key (``+sead=7``,
``+monitor.checkpoint_evry=5``, ``trainer.devcies=2``) is an error at composition time and a bad
value fails in the dataclass' check before anything is built.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import torch
from omegaconf import MISSING

from deepinn._errors import ConfigurationError, unknown_name_message
from deepinn.training import RunConfig

__all__ = [
    "ACCELERATORS", "CALLBACKS_HINT", "STRATEGIES", "LoggerConfig", "TrainConfig", "TrainerConfig",
]

ACCELERATORS: tuple[str, ...] = ("cpu", "gpu", "cuda", "auto")
STRATEGIES: tuple[str, ...] = ("auto", "ddp")
CALLBACKS_HINT = (
    "Callbacks are chosen by registered name in their own group, not under trainer: "
    "callbacks=[early_stop] (several: callbacks=[early_stop,<other>]), their parameters as "
    "callbacks.early_stop.patience=200; deepinn plugins --kind callbacks lists them, and a "
    "plugin adds its own (docs/plugins.md: Writing a callback)."
)
"""What ``trainer.callbacks=...`` is told (Lightning's own argument is not offered)."""


@dataclass
class TrainerConfig:
    """Arguments of ``lightning.Trainer`` that a run may set (``trainer.<key>=...``).

    Attributes:
        max_steps: The total number of optimizer steps over all optimizer phases.
        accelerator: ``cpu``, ``gpu`` (= ``cuda``) or ``auto``.
        devices: Processes per node (an int, or ``auto``).
        num_nodes: Nodes of a multi-node DDP run.
        strategy: ``auto`` (one process) or ``ddp`` (one process per device).
        enable_progress_bar: Lightning's progress bar (a line every ``monitor.log_every`` steps
            when the output is not a terminal).
    """

    max_steps: int = 2000
    accelerator: str = "cpu"
    devices: Union[int, str] = 1
    num_nodes: int = 1
    strategy: str = "auto"
    enable_progress_bar: bool = True

    def __post_init__(self) -> None:
        for key, value in (("max_steps", self.max_steps), ("num_nodes", self.num_nodes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"trainer.{key} = {value!r}; use a positive integer.")
        if self.devices != "auto" and (
            isinstance(self.devices, bool) or not isinstance(self.devices, int) or self.devices < 1
        ):
            raise ConfigurationError(
                f"trainer.devices = {self.devices!r}; use a positive integer or 'auto'."
            )
        if self.accelerator not in ACCELERATORS:
            raise ConfigurationError(
                unknown_name_message(
                    "trainer.accelerator", self.accelerator, ACCELERATORS, plural="accelerators",
                    listed="Valid",
                )
            )
        if self.accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
            raise ConfigurationError(
                f"trainer.accelerator = {self.accelerator!r} but torch sees no CUDA GPU here "
                f"(torch {torch.__version__}). Use trainer.accelerator=cpu, or install a CUDA "
                "build of torch on a machine with a GPU."
            )
        if self.strategy not in STRATEGIES:
            raise ConfigurationError(
                unknown_name_message(
                    "trainer.strategy", self.strategy, STRATEGIES, plural="strategies",
                    listed="Valid",
                )
                + " (ddp runs one process per device: trainer=ddp trainer.devices=N)"
            )


@dataclass
class LoggerConfig:
    """``logger=tensorboard`` (event files in the run folder) or ``logger=none``."""

    tensorboard: bool = True


@dataclass
class TrainConfig(RunConfig):
    """The whole configuration of ``deepinn train``: the run's knobs plus the config groups.

    ``problem``, ``domain``, ``sampler`` and ``net`` hold a registered component's schema (with
    its ``name``); ``optimizer`` holds an optimizer preset (``deepinn.training.OPTIMIZER_PRESETS``);
    ``callbacks`` holds each chosen callback's schema under its name
    (``callbacks=[early_stop]``: ``callbacks.early_stop``), in the order chosen.
    """

    problem: Any = MISSING
    domain: Any = MISSING
    sampler: Any = MISSING
    net: Any = MISSING
    optimizer: Any = MISSING
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    callbacks: dict[str, Any] = field(default_factory=dict)
    experiment: Optional[Any] = None  # set by +experiment=<name> presets only

    def run_config(self) -> RunConfig:
        """The run's knobs alone, as ``fit`` takes them."""
        return RunConfig(**{f.name: getattr(self, f.name) for f in dataclasses.fields(RunConfig)})
