"""The main job: ``deepinn train <overrides>`` (and ``python train.py`` in a checkout).

The configuration is packaged in ``deepinn/conf`` (Hydra's package search path), so the command
runs from any directory and writes its run folder under the current one. A user's own YAML joins
with ``--config-dir DIR`` (e.g. ``deepinn train --config-dir myconf +experiment=mypde``).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from typing import cast

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from deepinn._errors import DeepinnError
from deepinn.app._build import check_launch, run_from_config, target_refusal
from deepinn.app._store import register_configs
from deepinn.app._summary import summary
from deepinn.plugins import PluginWarning, Registry, load_registry

__all__ = ["train"]

_state: dict[str, object] = {}


def _fail(error: DeepinnError) -> None:
    print(f"deepinn train: error: {error}", file=sys.stderr)
    sys.exit(1)


@hydra.main(version_base=None, config_path="../conf", config_name="train")
def _train(cfg: DictConfig) -> float | None:
    sys.argv = list(cast(list[str], _state["argv"]))  # DDP ranks re-execute the command
    registry = cast(Registry, _state["registry"])
    hydra_cfg = HydraConfig.get()
    run_dir = hydra_cfg.runtime.output_dir
    try:
        check_launch(cfg, hydra_cfg)
        result = run_from_config(cfg, registry, run_dir)
    except DeepinnError as error:
        _fail(error)
        return None
    if result.trainer.is_global_zero:
        print(summary(result.metrics, run_dir, tensorboard=bool(cfg.logger.tensorboard)))
    value = result.metrics.get("rel_l2", result.metrics.get("final_loss"))
    return float(value) if value is not None else None


def train(overrides: Sequence[str], argv: Sequence[str] | None = None) -> int:
    """Run the main job with Hydra ``overrides`` (and Hydra flags: ``-m``, ``--cfg job``, ...).

    Args:
        overrides: The command line after ``train``.
        argv: The process's full command line, restored for Lightning's DDP ranks (which
            re-execute it); default ``sys.argv``.

    Returns:
        0 on success; an error exits the process with status 1 and one line on stderr.
    """
    original = list(sys.argv if argv is None else argv)
    for override in overrides:
        if "_target_" in override:
            _fail(target_refusal(f"override {override!r}"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", PluginWarning)
            registry = load_registry()
        register_configs(registry)
    except DeepinnError as error:
        _fail(error)
    _state.update(argv=original, registry=registry)
    sys.argv = [original[0], *overrides]
    try:
        _train()
    finally:
        sys.argv = original
    return 0
