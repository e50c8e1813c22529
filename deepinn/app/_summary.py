"""The short summary printed at the end of a run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["summary"]


def summary(metrics: Mapping[str, Any], run_dir: str, tensorboard: bool = True) -> str:
    """rel_l2, time, steps, the run folder and the command that opens TensorBoard."""
    lines = ["", f"deepinn: problem {metrics.get('problem')!r} finished"]
    if "rel_l2" in metrics:
        lines.append(f"  rel_l2      {metrics['rel_l2']:.3e}")
    windows = metrics.get("windows")
    if windows:
        lines.append(f"  windows     {len(windows)} in time")
    if metrics.get("final_loss") is not None:
        lines.append(f"  final loss  {metrics['final_loss']:.3e}")
    for name, error in metrics.get("coefficient_rel_error", {}).items():
        lines.append(f"  {name}: {metrics['coefficients'][name]:.6g} (rel. error {error:.2e})")
    lines.append(f"  steps       {metrics.get('steps')}  in {metrics.get('wall_time_s')} s")
    if metrics.get("stop_reason"):
        lines.append(f"  stopped     {metrics['stop_reason']}")
    compiled = metrics.get("compiled")
    if compiled:
        lines.append(f"  compiled    the {compiled['what']} (warm-up {compiled['warmup_s']:.1f} s)")
    lines.append(f"  run folder  {run_dir}")
    if tensorboard:
        logdir = run_dir if windows else f"{run_dir}/tensorboard"  # one run per time window
        lines.append(f"  TensorBoard tensorboard --logdir {logdir}")
    return "\n".join(lines)
