"""Hydra glue: registrations become config groups, a composed config becomes a run."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import torch
from hydra.core.config_store import ConfigStore
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from deepinn._errors import ConfigurationError
from deepinn.plugins import Registry
from deepinn.problems import Problem
from deepinn.training._fit import FitResult, fit
from deepinn.training._optim import DTYPES, Phase

__all__ = ["GROUPS", "build_components", "check_launch", "register_configs", "run_from_config"]

GROUPS: dict[str, str] = {
    "space": "spaces",
    "domain": "domains",
    "sampler": "samplers",
    "constraint": "constraints",
    "operator": "operators",
    "net": "networks",
    "problem": "problems",
}
"""Hydra config group -> registry kind."""


def _node_type(group: str, name: str, schema: type) -> type:
    """The schema plus a ``name`` field holding the option's registered name."""
    return dataclasses.make_dataclass(
        f"{schema.__name__}__{group}_{name}",
        [("name", str, dataclasses.field(default=name))],
        bases=(schema,),
    )


def register_configs(registry: Registry, store: ConfigStore | None = None) -> None:
    """Store every registration's schema in Hydra's ConfigStore as ``<group>/<name>``."""
    store = store or ConfigStore.instance()
    for group, kind in GROUPS.items():
        for registration in registry.registrations(kind):
            store.store(
                group=group,
                name=registration.name,
                node=_node_type(group, registration.name, registration.schema),
                provider=registration.provider,
            )


def _phases(cfg: DictConfig) -> list[Phase]:
    phases = []
    for index, phase in enumerate(cfg.optimizer.phases):
        try:
            optimizer = instantiate(phase.optimizer)
            scheduler = instantiate(phase.scheduler) if phase.get("scheduler") else None
        except Exception as error:  # noqa: BLE001 - Hydra wraps many error types
            raise ConfigurationError(
                f"optimizer.phases[{index}] cannot be built: {error}. Check its _target_ and "
                "arguments (any torch.optim optimizer works, with _partial_: true)."
            ) from None
        phases.append(Phase(optimizer, phase.get("steps"), scheduler, phase.get("dtype")))
    return phases


def build_components(cfg: DictConfig, registry: Registry) -> tuple[Problem, torch.nn.Module, list[Phase]]:
    """Build the problem, the network and the optimizer phases a composed config describes."""
    domain = registry.build("domains", cfg.domain.name, cfg.domain)
    counter = itertools.count()

    def make_sampler(domain: Any, n_points: int) -> Any:
        return registry.build(
            "samplers", cfg.sampler.name, cfg.sampler,
            domain=domain, n_points=n_points, seed=int(cfg.seed) + next(counter),
        )

    problem = registry.build("problems", cfg.problem.name, cfg.problem, domain=domain, make_sampler=make_sampler)
    torch.manual_seed(int(cfg.seed))
    network = registry.build(
        "networks", cfg.net.name, cfg.net,
        in_dim=problem.space.dim, out_dim=len(problem.outputs), bounds=problem.domain.bounding_box(),
    )
    return problem, network, _phases(cfg)


def check_launch(cfg: DictConfig, hydra_cfg: Any) -> None:
    """Refuse a local sweep (``-m``) with DDP: Lightning's ranks would re-run the whole sweep."""
    from hydra.types import RunMode

    strategy = str(cfg.trainer.get("strategy", "auto"))
    launcher = str(hydra_cfg.launcher.get("_target_", ""))
    if hydra_cfg.mode == RunMode.MULTIRUN and strategy.startswith("ddp") and "BasicLauncher" in launcher:
        raise ConfigurationError(
            f"A local sweep (-m) with trainer.strategy={strategy} would make every DDP rank re-run "
            "the whole sweep. Sweep with a cluster launcher (hydra/launcher=submitit_slurm, see "
            "docs/distributed.md) or run the DDP jobs one at a time."
        )


def run_from_config(cfg: DictConfig, registry: Registry, run_dir: str) -> FitResult:
    """Train what ``cfg`` describes, writing the run folder ``run_dir``."""
    if cfg.dtype not in DTYPES:
        raise ConfigurationError(f"dtype={cfg.dtype!r}; valid values are {list(DTYPES)}.")
    if cfg.get("threads") is not None:
        if int(cfg.threads) <= 0:
            raise ConfigurationError(f"threads={cfg.threads}; use a positive number or null.")
        torch.set_num_threads(int(cfg.threads))
    problem, network, phases = build_components(cfg, registry)
    trainer_options = OmegaConf.to_container(cfg.trainer, resolve=True)
    max_steps = int(trainer_options.pop("max_steps"))  # type: ignore[union-attr]
    monitor = cfg.monitor
    return fit(
        problem,
        network,
        phases=phases,
        max_steps=max_steps,
        seed=int(cfg.seed),
        run_dir=run_dir,
        resample_every=int(cfg.resample_every),
        dtype=DTYPES[cfg.dtype],
        field_mode=cfg.field_mode,
        compile=bool(cfg.compile),
        log_every=int(monitor.log_every),
        val_every=monitor.val_every,
        grad_norm_every=int(monitor.grad_norm_every),
        histogram_every=int(monitor.histogram_every),
        checkpoint_every=monitor.checkpoint_every,
        eval_points=int(cfg.eval_points),
        trainer_options=trainer_options,  # type: ignore[arg-type]
        logger=bool(cfg.logger.tensorboard),
        resume=cfg.resume,
        hparams=OmegaConf.to_container(cfg, resolve=True),  # type: ignore[arg-type]
    )
