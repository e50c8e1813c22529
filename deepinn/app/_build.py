"""A composed configuration becomes components and a run (the only place that reads it)."""

from __future__ import annotations

import dataclasses
import difflib
import itertools
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from deepinn._errors import ConfigurationError, unknown_name_message
from deepinn.app._schema import TrainConfig
from deepinn.domains import AbstractDomain
from deepinn.plugins import Registry
from deepinn.problems import Problem
from deepinn.training import OPTIMIZER_PRESETS, FitResult, Phase, fit

__all__ = ["build_components", "check_launch", "run_from_config", "typed_config"]


def _find_target(node: Any, path: str = "") -> str | None:
    """The key path of the first ``_target_`` in ``node`` (configs never name import paths)."""
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}" if path else str(key)
            if key == "_target_":
                return where
            found = _find_target(value, where)
            if found is not None:
                return found
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found = _find_target(value, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _unknown_keys(node: Any, path: str = "") -> tuple[str, list[str]] | None:
    """The first typed node holding a key its schema does not declare (Hydra's ``+key=``
    appends past the schema), with the declared keys."""
    if not OmegaConf.is_dict(node):
        return None
    schema = OmegaConf.get_type(node)
    if dataclasses.is_dataclass(schema):
        declared = [f.name for f in dataclasses.fields(schema)]
        for key in node:
            if key not in declared:
                return f"{path}{key}", declared
    for key in node:
        found = _unknown_keys(node._get_node(key), f"{path}{key}.")
        if found is not None:
            return found
    return None


def target_refusal(where: str) -> ConfigurationError:
    """The error for a ``_target_`` anywhere in a configuration."""
    return ConfigurationError(
        f"{where}: a configuration cannot name an import path (_target_); components, "
        f"optimizers and schedulers are chosen by name. Optimizers: "
        f"{', '.join(sorted(OPTIMIZER_PRESETS))} (optimizer=<name>, numbers as "
        "optimizer.lr=1e-3 optimizer.adam_steps=2000); schedulers: optimizer.scheduler.name="
        "none|exponential|step|cosine|warmup|warmup_exponential."
    )


def typed_config(cfg: DictConfig) -> TrainConfig:
    """The composed configuration as checked dataclasses (every value validated once).

    Raises:
        ConfigurationError: A ``_target_`` anywhere, an optimizer that is not a preset, or a
            value that fails its schema's check.
    """
    plain = OmegaConf.to_container(cfg, resolve=True)
    where = _find_target(plain)
    if where is not None:
        raise target_refusal(where)
    unknown = _unknown_keys(cfg)
    if unknown is not None:
        key, declared = unknown
        parent, _, leaf = key.rpartition(".")
        message = f"Unknown key {key!r}"
        suggestion = difflib.get_close_matches(leaf, declared, n=1, cutoff=0.5)
        prefix = f"{parent}." if parent else ""
        hint = f" Did you mean {prefix}{suggestion[0]}?" if suggestion else ""
        raise ConfigurationError(
            f"{message}. Valid keys{' of ' + parent if parent else ''}: {', '.join(declared)}."
            f"{hint} Remove it or fix its spelling (a leading + adds a key that does not exist)."
        )
    optimizer = cfg.get("optimizer")
    optimizer_name = optimizer.get("name") if OmegaConf.is_dict(optimizer) else None
    if optimizer_name not in OPTIMIZER_PRESETS:
        raise ConfigurationError(
            unknown_name_message("optimizer", str(optimizer_name), OPTIMIZER_PRESETS)
            + " Choose one with optimizer=<name>."
        )
    try:
        typed = OmegaConf.to_object(cfg)
    except OmegaConfBaseException as error:
        full_key = getattr(error, "full_key", None)
        detail = (getattr(error, "msg", None) or str(error)).splitlines()[0]
        raise ConfigurationError(f"{full_key or 'config'}: {detail}") from None
    if not isinstance(typed, TrainConfig):
        raise ConfigurationError(
            "The configuration does not start from the train schema; compose it from "
            "deepinn's conf/train.yaml (defaults: [train_schema, ...])."
        )
    return typed


def _phases(config: TrainConfig) -> list[Phase]:
    phases: list[Phase] = config.optimizer.phases(config.trainer.max_steps)
    return phases


def build_components(
    cfg: DictConfig, registry: Registry
) -> tuple[Problem, torch.nn.Module, list[Phase]]:
    """Build the problem, the network and the optimizer phases a composed config describes."""
    config = typed_config(cfg)
    domain = registry.domains.build(cfg.domain.name, cfg.domain)
    counter = itertools.count()

    def make_sampler(domain: Any, n_points: int) -> Any:
        return registry.samplers.build(
            cfg.sampler.name, cfg.sampler,
            domain=domain, n_points=n_points, seed=config.seed + next(counter),
        )

    problem = registry.problems.build(
        cfg.problem.name, cfg.problem, domain=domain, make_sampler=make_sampler, registry=registry
    )
    _check_domain_is_used(problem, domain, cfg)
    torch.manual_seed(config.seed)
    network = registry.networks.build(
        cfg.net.name, cfg.net,
        in_dim=problem.space.dim, out_dim=len(problem.outputs),
        bounds=problem.domain.bounding_box(), coordinates=problem.space.coordinate_names(),
    )
    return problem, network, _phases(config)


def _contains_domain(node: object, domain: object, depth: int = 0) -> bool:
    """Whether ``domain`` is ``node`` or one of its parts (products, set operations, ...)."""
    if node is domain:
        return True
    if depth > 8 or not isinstance(node, AbstractDomain):
        return False
    return any(_contains_domain(part, domain, depth + 1) for part in vars(node).values())


def _explicit_domain_choice() -> str | None:
    """The ``domain=...`` the user typed, when a Hydra run knows its overrides."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    for override in HydraConfig.get().overrides.task:
        key, _, value = override.lstrip("+~").partition("=")
        if key == "domain":
            return value
    return None


def _check_domain_is_used(problem: Problem, domain: object, cfg: DictConfig) -> None:
    """A problem with its own geometry refuses an explicitly chosen domain it would ignore."""
    if _contains_domain(problem.domain, domain):
        return
    chosen = _explicit_domain_choice()
    if chosen is not None:
        raise ConfigurationError(
            f"problem={cfg.problem.name} has its own geometry ({problem.domain!r}) and does not "
            f"use domain={chosen}: the run would train elsewhere than asked. Drop domain=..., or "
            "pick a problem posed on the chosen domain (poisson, helmholtz, inverse_diffusion, "
            "custom)."
        )


def check_launch(cfg: DictConfig, hydra_cfg: Any) -> None:
    """Refuse a local sweep (``-m``) with DDP: Lightning's ranks would re-run the whole sweep."""
    from hydra.types import RunMode

    strategy = str(cfg.trainer.get("strategy", "auto"))
    launcher = str(hydra_cfg.launcher.get("_target_", ""))
    local_sweep = hydra_cfg.mode == RunMode.MULTIRUN and "BasicLauncher" in launcher
    if local_sweep and strategy.startswith("ddp"):
        raise ConfigurationError(
            f"A local sweep (-m) with trainer.strategy={strategy} would make every DDP rank re-run "
            "the whole sweep. Sweep with a cluster launcher (hydra/launcher=submitit_slurm, see "
            "docs/distributed.md) or run the DDP jobs one at a time."
        )


def run_from_config(cfg: DictConfig, registry: Registry, run_dir: str) -> FitResult:
    """Train what ``cfg`` describes, writing the run folder ``run_dir``."""
    config = typed_config(cfg)
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    problem, network, phases = build_components(cfg, registry)
    trainer = config.trainer
    trainer_options = {
        "accelerator": "gpu" if trainer.accelerator == "cuda" else trainer.accelerator,
        "devices": trainer.devices,
        "num_nodes": trainer.num_nodes,
        "strategy": trainer.strategy,
        "enable_progress_bar": trainer.enable_progress_bar,
    }
    return fit(
        problem,
        network,
        config.run_config(),
        phases=phases,
        max_steps=trainer.max_steps,
        run_dir=run_dir,
        trainer_options=trainer_options,
        logger=config.logger.tensorboard,
        hparams=OmegaConf.to_container(cfg, resolve=True),  # type: ignore[arg-type]
    )
