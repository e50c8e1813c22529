"""The main job: train a PINN from a Hydra configuration.

    python train.py domain=parallelogram
    python train.py domain=circle sampler=sobol optimizer=adam trainer.max_steps=500
    python train.py -m domain=interval,circle,box
"""

from __future__ import annotations

import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from deepinn import DeepinnError
from deepinn.plugins import load_registry
from deepinn.training import check_launch, register_configs, run_from_config
from deepinn.training.report import summary

registry = load_registry()
register_configs(registry)


@hydra.main(version_base=None, config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    hydra_cfg = HydraConfig.get()
    run_dir = hydra_cfg.runtime.output_dir
    try:
        check_launch(cfg, hydra_cfg)
        result = run_from_config(cfg, registry, run_dir)
    except DeepinnError as error:
        print(f"Error: {error}", file=sys.stderr)
        sys.exit(1)
    if result.trainer.is_global_zero:
        print(summary(result.metrics, run_dir, tensorboard=bool(cfg.logger.tensorboard)))
    return result.metrics.get("rel_l2", result.metrics.get("final_loss"))


if __name__ == "__main__":
    main()
