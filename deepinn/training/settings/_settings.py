"""The run's knobs in one typed schema: what ``fit`` takes whole and the config's top level holds.

A knob is declared once, here, with its default, its check and its comment; ``fit``'s keyword
arguments, the Hydra schema of ``conf/train.yaml`` and the command line all read it, so a typo'd
key (``+sead=7``) is an error and a bad value fails before training starts.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Optional

import torch

from deepinn._errors import ConfigurationError, unknown_name_message
from deepinn.operators import FIELD_MODES
from deepinn.training.marching._marching import MarchingConfig
from deepinn.training.settings._optim import DTYPES
from deepinn.training.step._compile import compile_choice
from deepinn.training.toolbox._causal import CausalConfig
from deepinn.training.toolbox._weighting import WeightingConfig

__all__ = ["RESUME_FROM", "MonitorConfig", "RunConfig"]

RESUME_FROM: tuple[str, ...] = ("last", "best")


MAX_SEED = 2**32 - 1
"""The largest seed: Lightning's ``seed_everything`` (and numpy's) take 32-bit seeds."""


def _int(where: str, value: Any, minimum: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ConfigurationError(
            f"{where} = {value!r}; use {what}{' or null' if allow_none else ''}."
        )


@dataclass
class MonitorConfig:
    """How often the run logs, validates and checkpoints (in optimizer steps).

    Every interval is a positive number of steps; ``val_every`` and ``checkpoint_every`` may be
    null for their defaults (a tenth of ``max_steps``; ``val_every``). No interval is "off" by
    0: to see something rarely, give a number larger than ``trainer.max_steps``.
    """

    log_every: int = 10  # losses and learning rate to TensorBoard
    val_every: Optional[int] = None  # rel_l2 and figures; null: max_steps / 10
    grad_norm_every: int = 50  # per-layer gradient norms
    histogram_every: int = 500  # weight and gradient histograms
    checkpoint_every: Optional[int] = None  # last/best checkpoints; null: val_every

    def __post_init__(self) -> None:
        for key in ("log_every", "grad_norm_every", "histogram_every"):
            _int(f"monitor.{key}", getattr(self, key), 1)
        for key in ("val_every", "checkpoint_every"):
            _int(f"monitor.{key}", getattr(self, key), 1, allow_none=True)


@dataclass
class RunConfig:
    """The knobs of one training run (everything but the components and the optimizer).

    Attributes:
        seed: Seeds the points, the network's initial weights and Lightning.
        threads: torch CPU threads per process (None: torch's default).
        dtype: ``float32`` or ``float64``.
        resample_every: Draw new collocation points every N steps (0: fixed points).
        field_mode: Derivatives: ``auto`` (forward Laplacian where possible), ``reverse`` or
            ``forward``.
        compile: ``torch.compile`` the loss: ``auto`` (the default) compiles the whole loss
            (forward lanes, residuals, reductions, and so its backward) of runs of at least
            :data:`~deepinn.training.AUTO_COMPILE_STEPS` optimizer steps where every derivative
            comes from the forward lanes, and runs eager otherwise; ``true`` compiles it (or,
            where residuals take nested autograd, the network's passes) with a warning when it
            cannot; ``false`` never compiles.
        eval_points: Size of the evaluation set for rel_l2.
        resume: A run folder or ``.ckpt`` to continue from.
        resume_from: Which checkpoint of the ``resume`` run folder: ``last`` or ``best``
            (no need to quote Lightning's ``best-step=200.ckpt`` names on the command line).
        monitor: Logging, validation and checkpoint intervals.
        weighting: Loss balancing (``weighting.name=grad_norm``, ``alpha``, ``every``).
        causal: Causal weighting in time (``causal.tol``, ``chunks``, ``time``).
        marching: Time marching (``marching.windows``, ``time``): the time range trained in
            windows, one after the other.
    """

    seed: int = 0
    threads: Optional[int] = None
    dtype: str = "float32"
    resample_every: int = 0
    field_mode: str = "auto"
    compile: Any = "auto"  # true, false or auto: a union the config schema cannot type
    eval_points: int = 10_000
    resume: Optional[str] = None
    resume_from: str = "last"
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    weighting: WeightingConfig = field(default_factory=WeightingConfig)
    causal: CausalConfig = field(default_factory=CausalConfig)
    marching: MarchingConfig = field(default_factory=MarchingConfig)

    def __post_init__(self) -> None:
        _int("seed", self.seed, 0)
        if self.seed > MAX_SEED:
            raise ConfigurationError(
                f"seed = {self.seed}; use an integer from 0 to {MAX_SEED} (2**32 - 1, the range "
                "Lightning and numpy seed)."
            )
        _int("threads", self.threads, 1, allow_none=True)
        _int("resample_every", self.resample_every, 0)
        _int("eval_points", self.eval_points, 1)
        if self.resume_from not in RESUME_FROM:
            raise ConfigurationError(
                unknown_name_message(
                    "resume_from", str(self.resume_from), RESUME_FROM, plural="choices",
                    listed="Valid",
                )
            )
        if self.dtype not in DTYPES:
            raise ConfigurationError(
                unknown_name_message("dtype", self.dtype, DTYPES, plural="dtypes", listed="Valid")
            )
        self.compile = compile_choice(self.compile)
        if self.field_mode not in FIELD_MODES:
            raise ConfigurationError(
                unknown_name_message(
                    "field_mode", self.field_mode, FIELD_MODES, plural="modes", listed="Valid"
                )
            )
        if isinstance(self.weighting, str):  # weighting="grad_norm"
            self.weighting = WeightingConfig(name=self.weighting)
        if isinstance(self.weighting, dict):
            self.weighting = WeightingConfig(**self.weighting)
        if isinstance(self.causal, dict):
            self.causal = CausalConfig(**self.causal)
        if isinstance(self.marching, dict):
            self.marching = MarchingConfig(**self.marching)
        if isinstance(self.monitor, dict):
            self.monitor = MonitorConfig(**self.monitor)

    @property
    def torch_dtype(self) -> torch.dtype:
        """``dtype`` as a torch dtype."""
        return DTYPES[self.dtype]

    def val_every(self, max_steps: int) -> int:
        """The validation interval (default: a tenth of ``max_steps``)."""
        return self.monitor.val_every or max(1, math.ceil(max_steps / 10))

    def checkpoint_every(self, max_steps: int) -> int:
        """The checkpoint interval (default: ``val_every``)."""
        return self.monitor.checkpoint_every or self.val_every(max_steps)

    def replace(self, **knobs: Any) -> RunConfig:
        """A copy with ``knobs`` changed; monitor keys (``log_every``, ...) may be given flat.

        Raises:
            ConfigurationError: A knob that does not exist (the message lists them) or a bad
                value.
        """
        top = {f.name for f in dataclasses.fields(self)}
        monitor_keys = {f.name for f in dataclasses.fields(MonitorConfig)}
        unknown = sorted(set(knobs) - top - monitor_keys)
        if unknown:
            raise ConfigurationError(
                unknown_name_message(
                    "run setting", unknown[0], sorted(top | monitor_keys), listed="Valid"
                )
            )
        monitor_changes = {k: v for k, v in knobs.items() if k in monitor_keys}
        changes = {k: v for k, v in knobs.items() if k in top}
        if monitor_changes:
            base = changes.get("monitor", self.monitor)
            if isinstance(base, dict):
                base = MonitorConfig(**base)
            changes["monitor"] = dataclasses.replace(base, **monitor_changes)
        return dataclasses.replace(self, **changes)
