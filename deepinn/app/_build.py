"""A composed configuration becomes components and a run (the only place that reads it)."""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from typing import Any, cast

import lightning.pytorch as pl
import torch
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from deepinn._errors import ConfigurationError, unknown_name_message
from deepinn.app._memory import check_memory
from deepinn.app._schema import CALLBACKS_HINT, TrainConfig
from deepinn.domains import AbstractDomain
from deepinn.plugins import Registry
from deepinn.problems import Problem
from deepinn.samplers import SamplerFactory
from deepinn.training import OPTIMIZER_PRESETS, FitResult, Phase, fit
from deepinn.training.service._progress import warnings_as_log_lines

__all__ = [
    "Components",
    "build",
    "build_callbacks",
    "build_components",
    "build_domain",
    "check_launch",
    "fit_components",
    "plain",
    "run_from_config",
    "typed_config",
]


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
        if key == "trainer.callbacks":
            raise ConfigurationError(f"Unknown key 'trainer.callbacks'. {CALLBACKS_HINT}")
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


@dataclass
class Components:
    """What a run trains, each part built once from the typed configuration.

    Attributes:
        domain: The chosen domain (``domain=...``).
        samplers: The chosen sampler's factory; the problem built every constraint's sampler
            through it.
        problem: The problem, posed on ``domain`` unless it has its own geometry.
        network: The network, initialised from the run's seed.
        phases: The optimizer phases over ``trainer.max_steps``.
        callbacks: The chosen callbacks (``callbacks=[...]``), in the order chosen.
    """

    domain: AbstractDomain
    samplers: SamplerFactory
    problem: Problem
    network: torch.nn.Module
    phases: list[Phase]
    callbacks: list[pl.Callback] = dataclasses.field(default_factory=list)


def build_domain(config: TrainConfig, registry: Registry) -> AbstractDomain:
    """The domain ``config`` chooses (building one allocates nothing)."""
    return registry.domains.build(config.domain.name, config.domain)


def build(
    config: TrainConfig,
    registry: Registry,
    *,
    domain: AbstractDomain | None = None,
    chosen_domain: str | None = None,
) -> Components:
    """Build the domain, the samplers, the problem, the network and the phases, once each.

    Args:
        config: The typed configuration (:func:`typed_config`).
        registry: The registry that builds the components.
        domain: The domain when it is built already (its dimension sizes the memory check).
        chosen_domain: The ``domain=...`` the caller chose explicitly, if any: a problem with
            its own geometry refuses it rather than train elsewhere than asked.
    """
    if domain is None:
        domain = build_domain(config, registry)
    samplers = SamplerFactory(config.sampler.name, config.sampler, registry, seed=config.seed)
    problem = registry.problems.build(
        config.problem.name, config.problem, domain=domain, make_sampler=samplers,
        registry=registry,
    )
    _check_domain_is_used(problem, domain, config.problem.name, chosen_domain)
    torch.manual_seed(config.seed)
    network = registry.networks.build(
        config.net.name, config.net,
        in_dim=problem.space.dim, out_dim=len(problem.outputs),
        bounds=problem.domain.bounding_box(), coordinates=problem.space.coordinate_names(),
    )
    phases: list[Phase] = config.optimizer.phases(config.trainer.max_steps)
    return Components(domain, samplers, problem, network, phases, build_callbacks(config, registry))


def build_callbacks(config: TrainConfig, registry: Registry) -> list[pl.Callback]:
    """The callbacks ``config`` chooses (``callbacks=[early_stop]``), in the order chosen; every
    DDP rank builds the same ones from the same configuration.

    Raises:
        ConfigurationError: ``callbacks.<name>`` is set for a callback not chosen.
    """
    built = []
    for key, node in config.callbacks.items():
        name = getattr(node, "name", None)
        if not isinstance(name, str):
            raise ConfigurationError(
                f"callbacks.{key} is set, but no callback {key!r} is chosen: choose it with "
                f"callbacks=[{key}] (then callbacks.{key}.<parameter>=...); registered "
                f"callbacks: {', '.join(registry.callbacks.names()) or '(none)'}."
            )
        built.append(registry.callbacks.build(name, node))
    return built


def build_components(
    cfg: DictConfig, registry: Registry, chosen_domain: str | None = None
) -> tuple[Problem, torch.nn.Module, list[Phase]]:
    """The problem, the network and the optimizer phases a composed config describes."""
    parts = build(typed_config(cfg), registry, chosen_domain=chosen_domain)
    return parts.problem, parts.network, parts.phases


def _contains_domain(node: object, domain: object, depth: int = 0) -> bool:
    """Whether ``domain`` is ``node`` or one of its parts (products, set operations, ...)."""
    if node is domain:
        return True
    if depth > 8 or not isinstance(node, AbstractDomain):
        return False
    return any(_contains_domain(part, domain, depth + 1) for part in vars(node).values())


def _check_domain_is_used(
    problem: Problem, domain: object, problem_name: str, chosen: str | None
) -> None:
    """A problem with its own geometry refuses an explicitly chosen domain it would ignore."""
    if chosen is None or _contains_domain(problem.domain, domain):
        return
    raise ConfigurationError(
        f"problem={problem_name} has its own geometry ({problem.domain!r}) and does not "
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


def trainer_options(config: TrainConfig) -> dict[str, Any]:
    """The ``lightning.Trainer`` arguments of ``trainer.*``."""
    trainer = config.trainer
    return {
        "accelerator": "gpu" if trainer.accelerator == "cuda" else trainer.accelerator,
        "devices": trainer.devices,
        "num_nodes": trainer.num_nodes,
        "strategy": trainer.strategy,
        "enable_progress_bar": trainer.enable_progress_bar,
    }


def fit_components(
    config: TrainConfig, parts: Components, run_dir: str, hparams: dict[str, Any]
) -> FitResult:
    """Train the built ``parts`` as ``config`` says, writing the run folder ``run_dir``.

    Args:
        hparams: The plain configuration, stored in checkpoints and TensorBoard.
    """
    with warnings_as_log_lines():  # no file and line of deepinn's code on a warning
        return fit(
            parts.problem,
            parts.network,
            config.run_config(),
            phases=parts.phases,
            max_steps=config.trainer.max_steps,
            run_dir=run_dir,
            trainer_options=trainer_options(config),
            logger=config.logger.tensorboard,
            hparams=hparams,
            callbacks=parts.callbacks,
        )


def plain(cfg: DictConfig) -> dict[str, Any]:
    """The configuration as plain data, interpolations resolved (what checkpoints record)."""
    return cast(dict[str, Any], OmegaConf.to_container(cfg, resolve=True))


def run_from_config(
    cfg: DictConfig, registry: Registry, run_dir: str, chosen_domain: str | None = None
) -> FitResult:
    """Train what ``cfg`` describes, writing the run folder ``run_dir``."""
    config = typed_config(cfg)
    if isinstance(config.threads, int):  # auto is resolved by fit, for the problem's size
        torch.set_num_threads(config.threads)
    domain = build_domain(config, registry)
    check_memory(cfg, int(domain.dim))  # a sweep's job, as a single run is checked
    parts = build(config, registry, domain=domain, chosen_domain=chosen_domain)
    return fit_components(config, parts, run_dir, plain(cfg))
