"""The run's knobs in one typed schema: what ``fit`` takes whole and the config's top level holds.

A knob is declared once, here (its sections in :mod:`._sections`), with its default, its check
and its description; ``fit``'s keyword arguments, the Hydra schema of ``conf/train.yaml`` and the
command line all read it, so a typo'd key (``+sead=7``) is an error and a bad value fails before
training starts. The layers below ``fit`` (the module, the loss, the data) take the
:class:`RunConfig` whole and read what they need; none checks a knob again.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import torch

from deepinn._errors import ConfigurationError, Setting, unknown_name_message
from deepinn.operators import FIELD_MODES
from deepinn.training.settings._optim import DTYPES
from deepinn.training.settings._sections import (
    CausalConfig,
    MarchingConfig,
    MonitorConfig,
    WeightingConfig,
    check_int,
)

__all__ = [
    "ALLOCATORS", "AUTO_COMPILE_STEPS", "COMPILE_CHOICES", "FIELD_MODES", "FIGURE_SHARE",
    "MAX_SEED", "RESUME_FROM", "MonitorConfig", "RunConfig", "auto_compile_steps",
]

RESUME_FROM: tuple[str, ...] = ("last", "best")

COMPILE_CHOICES = (True, False, "auto")

ALLOCATORS: tuple[str, ...] = ("auto", "system")
"""``auto``: keep freed memory for the next step where the C library is glibc; ``system``:
leave the process's allocator as it is."""

MAX_SEED = 2**32 - 1
"""The largest seed: Lightning's ``seed_everything`` (and numpy's) take 32-bit seeds."""

AUTO_COMPILE_STEPS = 500
"""The shortest run ``compile=auto`` compiles: below it the compile never pays back.

Longer runs compile where :func:`auto_compile_steps` of the problem's size allows it (see
:meth:`RunConfig.compile_mode`).
"""

FIGURE_SHARE = 0.02
"""The most of a run's training time the TensorBoard figures drawn during it may take under the
default validation interval (``monitor.val_every`` null).

A validation's error over the evaluation set costs about a step or two; a solution figure costs
what tens of small steps do (matplotlib), so ten figures per run would take a tenth of a short
run. Under the default, a figure is drawn at a validation only while the figures so far stay
within this share of the time trained, and the last step's figure always (docs/monitoring.md).
"""

COLD_COMPILE_S = 12.0
"""What a cold compile of a whole PINN loss and its gradient adds to a run, in seconds: nothing
of it in inductor's on-disk cache; a whole run against the eager run, less what the compiled
steps save (docs/benchmarks.md, "Whole run"). Little dependent on the network's width or the
number of points."""

WARM_COMPILE_S = 3.0
"""What a warm compile adds, in seconds, measured as :data:`COLD_COMPILE_S` is: a loss of the
same shape was compiled on this machine before, so inductor loads its graphs from the on-disk
cache and what is left is dynamo's trace and the libraries' load. Never taken above
:data:`COLD_COMPILE_S`."""

STEP_SAVING_MS = (1.75, 0.1)
"""What the compiled loss and gradient save per optimizer step over the eager default, in ms:
a fixed part (kernel launches and Python per operator) and a part per million of
``parameters x points`` (a CPU's arithmetic), fitted to the speed cases P1 (7 851 parameters x
2 400 points: about 3.6 ms) and P2 (921 x 2 780: about 2.0 ms)."""


def auto_compile_steps(size: int, warm: bool = False) -> int:
    """The run length from which ``compile=auto`` compiles a loss of ``size`` = trained parameters
    x points per step: where the compile pays back out of what each step saves
    (:data:`STEP_SAVING_MS`), at least :data:`AUTO_COMPILE_STEPS`. The compile costs
    :data:`WARM_COMPILE_S` where ``warm`` (a loss of the same shape was compiled on this machine
    before, into the inductor cache in use), else :data:`COLD_COMPILE_S`; so the first run of a
    shape is never made slower than eager, and later runs of it compile from a shorter length."""
    fixed, per_million = STEP_SAVING_MS
    saving_s = (fixed + per_million * max(size, 0) / 1e6) / 1e3
    cost = min(WARM_COMPILE_S, COLD_COMPILE_S) if warm else COLD_COMPILE_S
    return max(AUTO_COMPILE_STEPS, math.ceil(cost / saving_s))


_SECTIONS: dict[str, type] = {
    "monitor": MonitorConfig,
    "weighting": WeightingConfig,
    "causal": CausalConfig,
    "marching": MarchingConfig,
}


def _compile_choice(value: Any) -> bool | str:
    """``value`` as one of ``False``, ``True`` or ``"auto"`` (the strings ``"true"`` and
    ``"false"`` are read as the booleans)."""
    if isinstance(value, str) and value.lower() in ("true", "false", "auto"):
        value = {"true": True, "false": False}.get(value.lower(), "auto")
    if value is True or value is False or value == "auto":
        return value
    raise ConfigurationError(
        f"compile = {value!r}; use true, false or auto (auto compiles the whole loss of runs "
        "long enough for the compile to pay back)."
    )


def _threads_choice(value: Any) -> int | str | None:
    """``value`` as a positive int, ``"auto"`` or None."""
    if isinstance(value, str) and value.lower() == "auto":
        return "auto"
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        return value
    raise ConfigurationError(
        f"threads = {value!r}; use a positive integer, auto (the default: the cores this process "
        "may use less the other processes' load, one for a small problem) or null (torch's "
        "default)."
    )


def _dtype_name(value: Any) -> str:
    """``value`` (a name or a torch dtype) as the name of one of :data:`DTYPES`."""
    if isinstance(value, torch.dtype):
        names = {dtype: name for name, dtype in DTYPES.items()}
        if value not in names:
            raise ConfigurationError(f"dtype = {value}; use torch.float32 or torch.float64.")
        return names[value]
    if value not in DTYPES:
        raise ConfigurationError(
            unknown_name_message("dtype", str(value), DTYPES, plural="dtypes", listed="Valid")
        )
    return str(value)


def _section(key: str, value: Any) -> Any:
    """A section given as its config, a mapping of its keys, or (weighting) a name."""
    kind = _SECTIONS[key]
    if key == "weighting" and isinstance(value, str):  # weighting="grad_norm"
        value = WeightingConfig(name=value)
    if isinstance(value, dict):
        value = kind(**value)
    if not isinstance(value, kind):
        raise ConfigurationError(
            f"{key} = {value!r}; give a {kind.__name__} or a mapping of its keys "
            f"({', '.join(f.name for f in dataclasses.fields(kind))})."
        )
    return value


@dataclass
class RunConfig:
    """The knobs of one training run (everything but the components and the optimizer).

    Attributes:
        seed: Seeds the points, the network's initial weights and Lightning (0 to 2**32 - 1).
        threads: torch CPU threads per process: ``auto`` (the default) takes the cores this
            process may use less the other processes' load, and one thread for a problem too
            small to gain from more (``deepinn.training.service._threads``); an int sets it;
            None keeps torch's default (every core, however busy).
        allocator: ``auto`` (the default) keeps freed memory in the process for the next step
            where the C library is glibc (its mmap and trim thresholds raised once training
            starts: a step's temporaries then take no page faults; see
            ``deepinn.training.service._allocator``); ``system`` leaves the allocator alone.
        dtype: ``float32`` or ``float64`` (a torch dtype is taken too).
        resample_every: Draw new collocation points every N steps (0: fixed points).
        field_mode: How residuals take derivatives: ``auto`` (per group of constraints, the
            forward Laplacian lanes where the network offers them, or nested autograd, whichever
            a short timed probe on the first batch finds faster), ``reverse`` (nested autograd)
            or ``forward`` (torch.func forward mode).
        compile: ``torch.compile`` the loss: ``auto`` (the default) compiles the whole loss
            (forward lanes, residuals, reductions, and so its backward) of runs long enough for
            the compile to pay back (:func:`auto_compile_steps` of the problem's size, priced
            warm where a loss of the same shape was compiled on this machine before) where
            every derivative comes from the forward lanes, and runs eager otherwise, every
            fallback logged at INFO; ``true`` compiles it (or, where residuals take nested
            autograd, the network's passes) with a warning when it cannot; ``false`` never
            compiles. :meth:`compile_mode` is the resolved value for a run's length.
        eval_points: Size of the evaluation set for rel_l2.
        resume: A run folder or ``.ckpt`` to continue from.
        resume_from: Which checkpoint of the ``resume`` run folder: ``last`` or ``best``
            (no need to quote Lightning's ``best-step=200.ckpt`` names on the command line).
        init_from: A finished run's folder (or a ``network.pt``-style ``.pt`` state_dict) whose
            final network weights start this new run (a warm start: step 0, fresh optimizer);
            not with ``resume``, which continues the same run, nor under time marching.
        monitor: Logging, validation and checkpoint intervals (:class:`MonitorConfig`).
        weighting: Loss balancing (:class:`WeightingConfig`: ``name=grad_norm``, ``alpha``,
            ``every``).
        causal: Causal weighting in time (:class:`CausalConfig`: ``tol``, ``chunks``, ``time``).
        marching: Time marching (:class:`MarchingConfig`: ``windows``, ``time``): the time range
            trained in windows, one after the other.
    """

    seed: int = 0
    threads: Any = "auto"  # an int, auto or None: a union the config schema cannot type
    allocator: str = "auto"
    dtype: str = "float32"
    resample_every: int = 0
    field_mode: str = "auto"
    compile: Any = "auto"  # true, false or auto: a union the config schema cannot type
    eval_points: int = 10_000
    resume: Optional[str] = None
    resume_from: str = "last"
    init_from: Optional[str] = None
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    weighting: WeightingConfig = field(default_factory=WeightingConfig)
    causal: CausalConfig = field(default_factory=CausalConfig)
    marching: MarchingConfig = field(default_factory=MarchingConfig)

    def __post_init__(self) -> None:
        check_int("seed", self.seed, 0)
        if self.seed > MAX_SEED:
            raise ConfigurationError(
                f"seed = {self.seed}; use an integer from 0 to {MAX_SEED} (2**32 - 1, the range "
                "Lightning and numpy seed)."
            )
        self.threads = _threads_choice(self.threads)
        if self.allocator not in ALLOCATORS:
            raise ConfigurationError(
                unknown_name_message(
                    "allocator", str(self.allocator), ALLOCATORS, plural="choices",
                    listed="Valid",
                )
                + " (auto: freed memory is kept for the next step, with glibc; system: the C "
                "allocator as the process has it.)"
            )
        self.dtype = _dtype_name(self.dtype)
        check_int("resample_every", self.resample_every, 0, example=" (0: fixed points)")
        if self.field_mode not in FIELD_MODES:
            raise ConfigurationError(
                unknown_name_message(
                    "field_mode", str(self.field_mode), FIELD_MODES, plural="modes",
                    listed="Valid",
                )
            )
        self.compile = _compile_choice(self.compile)
        check_int("eval_points", self.eval_points, 1)
        if isinstance(self.resume, os.PathLike):
            self.resume = os.fspath(self.resume)
        if self.resume is not None and (not isinstance(self.resume, str) or not self.resume):
            raise ConfigurationError(
                f"resume = {self.resume!r}; give a run folder or a .ckpt file, or null."
            )
        if self.resume_from not in RESUME_FROM:
            raise ConfigurationError(
                unknown_name_message(
                    "resume_from", str(self.resume_from), RESUME_FROM, plural="choices",
                    listed="Valid",
                )
            )
        for key in _SECTIONS:
            setattr(self, key, _section(key, getattr(self, key)))
        self._check_init_from()

    def _check_init_from(self) -> None:
        """``init_from``: a path or None, and neither with ``resume`` nor under time marching
        (the folder itself is read when the run starts)."""
        if isinstance(self.init_from, os.PathLike):
            self.init_from = os.fspath(self.init_from)
        if self.init_from is None:
            return
        if not isinstance(self.init_from, str) or not self.init_from:
            raise ConfigurationError(
                f"init_from = {self.init_from!r}; give a finished run's folder (or its "
                "network.pt), or null."
            )
        if self.resume is not None:
            raise ConfigurationError(
                f"init_from = {self.init_from!r} with resume = {self.resume!r}: resume continues "
                "the same run (its weights, optimizer state and step); init_from starts a new run "
                "at step 0 from a finished run's weights, with a fresh optimizer. Give one of "
                "them: {fix}",
                fix=[Setting("init_from", None)],
            )
        if self.marching.enabled:
            raise ConfigurationError(
                f"init_from = {self.init_from!r} with marching.windows = "
                f"{self.marching.windows}: a warm start of a time-marching run is not supported "
                "yet. Train without time marching, or start without init_from: {fix}",
                fix=[Setting("init_from", None)],
            )

    @property
    def torch_dtype(self) -> torch.dtype:
        """``dtype`` as a torch dtype."""
        return DTYPES[self.dtype]

    def compile_mode(
        self, max_steps: int | None = None, size: int | None = None, warm: bool = False
    ) -> bool | str:
        """``compile`` resolved for a run of ``max_steps`` optimizer steps on a loss of ``size``
        (trained parameters x points per step): ``auto`` is False below
        :func:`auto_compile_steps` of ``size`` and ``warm`` (below :data:`AUTO_COMPILE_STEPS`
        when the size is not known yet) and for a loss used on its own, of no known length
        (``max_steps`` None): the compile would not pay back; ``true`` and ``false`` stay."""
        if self.compile != "auto":
            result: bool | str = self.compile
            return result
        threshold = AUTO_COMPILE_STEPS if size is None else auto_compile_steps(size, warm)
        if max_steps is None or max_steps < threshold:
            return False
        return "auto"

    def val_every(self, max_steps: int) -> int:
        """The validation interval (default: a tenth of ``max_steps``)."""
        return self.monitor.val_every or max(1, math.ceil(max_steps / 10))

    def figure_share(self) -> float | None:
        """The share of the training time the solution and sample-point figures may take: None
        (a figure at every validation and resampling) where ``monitor.val_every`` is given,
        :data:`FIGURE_SHARE` under its default."""
        return None if self.monitor.val_every is not None else FIGURE_SHARE

    def checkpoint_every(self, max_steps: int) -> int:
        """The checkpoint interval (default: ``val_every``)."""
        return self.monitor.checkpoint_every or self.val_every(max_steps)

    def check_resampling(self, adaptive: Sequence[str], max_steps: int | None = None) -> None:
        """Refuse a ``resample_every`` under which the ``adaptive`` constraints (those whose
        sampler selects points from the residual) would never be re-selected: 0, or (for a
        run of ``max_steps``) not below ``max_steps``."""
        if not adaptive:
            return
        every = self.resample_every
        if every == 0:
            why = "with resample_every = 0"
            example = 500 if max_steps is None else max(1, max_steps // 10)
        elif max_steps is not None and every >= max_steps:
            why = f"with resample_every = {every} and max_steps = {max_steps}"
            example = max(1, max_steps // 10)
        else:
            return
        raise ConfigurationError(
            f"sampler=adaptive (constraints {list(adaptive)}) {why}: the points would never be "
            "re-selected from the residual. Set resample_every to a positive number of steps "
            "below max_steps, or use another sampler: {fix}",
            fix=[Setting("resample_every", example)],
        )

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
            base = _section("monitor", changes.get("monitor", self.monitor))
            changes["monitor"] = dataclasses.replace(base, **monitor_changes)
        return dataclasses.replace(self, **changes)
