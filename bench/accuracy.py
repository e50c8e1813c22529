"""One accuracy case: train ``conf/experiment/<name>.yaml`` and measure error, time and memory.

The configuration is composed with Hydra's compose API exactly as ``python train.py
+experiment=<name>`` composes it; the run is the same ``deepinn.training.fit`` call that
``run_from_config`` makes, plus two timing callbacks, without the run folder (no TensorBoard,
checkpoints or figures, so the timings are the training's own).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

ROOT = Path(__file__).resolve().parents[1]

TARGETS: dict[str, tuple[str, float]] = {
    "poisson": ("val/rel_l2", 1e-4),
    "laplace": ("val/rel_l2", 1e-3),
    "helmholtz": ("val/rel_l2", 5e-3),
    "heat": ("val/rel_l2", 1e-3),
    "wave": ("val/rel_l2", 1e-3),
    "burgers": ("val/rel_l2", 1e-3),
    "allen_cahn": ("val/rel_l2", 1e-2),
    "kovasznay": ("val/rel_l2", 1e-3),
    "inverse_diffusion": ("val/coefficient_error/k", 1e-2),
}
"""Each problem's accuracy target: the validation metric and the value to reach."""

SMOKE_STEPS = 4


def compose(name: str, overrides: list[str]) -> DictConfig:
    """The configuration of ``deepinn train +experiment=<name> <overrides>``."""
    from deepinn.app import compose as app_compose

    return app_compose([f"+experiment={name}", *overrides])


def _smoke_overrides(cfg: DictConfig) -> list[str]:
    overrides = [
        f"trainer.max_steps={SMOKE_STEPS}", "monitor.val_every=2", "eval_points=2000",
        "problem.n_interior=256",
    ]
    if "adam_steps" in cfg.optimizer:  # reach every phase (Adam then L-BFGS)
        overrides.append(f"optimizer.adam_steps={SMOKE_STEPS // 2}")
    return overrides


def run_case(name: str, smoke: bool = False, overrides: list[str] | None = None) -> dict[str, Any]:
    """Train one experiment and return its figures (see ``bench/run.py`` for the fields)."""
    import torch
    from timing import ErrorRecorder, StepTimer, peak_rss_mib

    from deepinn.app import build_components, register_configs, typed_config
    from deepinn.plugins import load_registry
    from deepinn.training import fit

    registry = load_registry(strict=True)
    register_configs(registry)
    overrides = list(overrides or [])
    cfg = compose(name, overrides)
    if smoke:
        cfg = compose(name, [*overrides, *_smoke_overrides(cfg)])
    max_steps = int(cfg.trainer.max_steps)
    with open_dict(cfg):  # fine validation for the time-to-target curve
        cfg.monitor.val_every = cfg.monitor.val_every if smoke else max(25, max_steps // 100)
    run = typed_config(cfg).run_config()
    problem, network, phases = build_components(cfg, registry)
    timer = StepTimer()
    recorder = ErrorRecorder(timer)
    options = OmegaConf.to_container(cfg.trainer, resolve=True)
    options.pop("max_steps")  # type: ignore[union-attr]
    options["enable_progress_bar"] = False  # type: ignore[index]
    options["callbacks"] = [timer, recorder]  # type: ignore[index]
    start, cpu_start = time.perf_counter(), time.process_time()
    result = fit(
        problem, network, run, phases=phases, max_steps=max_steps, run_dir=None,
        trainer_options=options, logger=False,  # type: ignore[arg-type]
    )
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    key, target = TARGETS.get(name, ("val/rel_l2", 1e-3))
    reached = recorder.first_below(key, target)
    metrics = result.metrics
    error = (
        metrics.get("coefficient_rel_error", {}).get("k")
        if key.startswith("val/coefficient_error")
        else metrics.get("rel_l2")
    )
    return {
        "case": name,
        "kind": "accuracy",
        "smoke": smoke,
        "metric": key,
        "target": target,
        "error": error,
        "rel_l2": metrics.get("rel_l2"),
        "coefficients": metrics.get("coefficients"),
        "met": error is not None and error <= target,
        "steps": metrics.get("steps"),
        "final_loss": metrics.get("final_loss"),
        "loss_per_constraint": metrics.get("loss_per_constraint"),
        "stop_reason": metrics.get("stop_reason"),
        "compiled": [type(c).__name__ for c in result.module.compiled or () if c.failure is None],
        "wall_s": wall,
        "cpu_s": cpu,
        "timing": timer.summary(),
        "time_to_target_s": reached and reached["wall_s"],
        "time_to_target_cpu_s": reached and reached["cpu_s"],
        "steps_to_target": reached and int(reached["step"]),
        "history": recorder.history,
        "peak_rss_mib": peak_rss_mib(),
        "threads": torch.get_num_threads(),
        "dtype": cfg.dtype,
        "field_mode": cfg.field_mode,
    }
