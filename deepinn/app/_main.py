"""The main job: ``deepinn train <overrides>`` (and ``python train.py`` in a checkout).

The configuration is packaged in ``deepinn/conf`` (Hydra's package search path), so the command
runs from any directory and writes its run folder under the current one. A user's own YAML joins
with ``--config-dir DIR`` (e.g. ``deepinn train --config-dir myconf +experiment=mypde``).

Before Hydra starts the run, :func:`train` composes the configuration once and checks it
(composition, types, values, the memory estimate), then claims the run folder: every error is
one line ``deepinn train: error: ...`` with exit status 1, and a refused run creates nothing.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, cast

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException, MissingConfigException, OverrideParseException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, OmegaConfBaseException

from deepinn._errors import DeepinnError, unknown_name_message
from deepinn.app._build import (
    build_components,
    check_launch,
    run_from_config,
    target_refusal,
    typed_config,
)
from deepinn.app._memory import check_memory
from deepinn.app._store import compose, register_configs
from deepinn.app._summary import summary
from deepinn.plugins import PluginWarning, Registry, load_registry
from deepinn.training.service._checkpoint import (
    check_compatible,
    check_steps_left,
    find_checkpoint,
    load_checkpoint_safely,
)
from deepinn.training.service._runfolder import (
    claim_run_folder,
    is_secondary_rank,
    make_unique_folder,
)
from deepinn.training.service._signals import EXIT_SIGTERM, RunInterruptedError

__all__ = ["train"]

_state: dict[str, object] = {}
# Hydra flags run as given
_PASS_THROUGH = ("help", "hydra_help", "cfg", "info", "shell_completion", "multirun",
                 "experimental_rerun", "config_path", "config_name", "version")


def _fail(error: DeepinnError | str) -> NoReturn:
    message = " ".join(str(error).split())  # one line, whatever the source
    print(f"deepinn train: error: {message}", file=sys.stderr)
    sys.exit(1)


def _to_log_file(text: str) -> None:
    """``text`` into the run's ``train.log`` (Hydra's file handler), not to the console again."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            for line in text.splitlines():
                record = logging.LogRecord("deepinn", logging.INFO, __file__, 0, line, None, None)
                handler.emit(record)


@hydra.main(version_base=None, config_path="../conf", config_name="train")
def _train(cfg: DictConfig) -> float | None:
    sys.argv = list(cast(list[str], _state["argv"]))  # DDP ranks re-execute the command
    registry = cast(Registry, _state["registry"])
    hydra_cfg = HydraConfig.get()
    run_dir = hydra_cfg.runtime.output_dir
    tensorboard = bool(cfg.logger.tensorboard)
    try:
        check_launch(cfg, hydra_cfg)
        result = run_from_config(cfg, registry, run_dir)
    except RunInterruptedError as stop:
        text = summary(stop.metrics, run_dir, tensorboard=tensorboard)
        print(text, flush=True)
        _to_log_file(text)
        print(f"deepinn train: {stop}", file=sys.stderr)
        sys.exit(EXIT_SIGTERM)
    except DeepinnError as error:
        _to_log_file(f"deepinn train: error: {error}")
        _fail(error)
    if result.trainer is None or result.trainer.is_global_zero:  # None: nothing left to train
        text = summary(result.metrics, run_dir, tensorboard=tensorboard)
        print(text)
        _to_log_file(text)
    value = result.metrics.get("rel_l2", result.metrics.get("final_loss"))
    return float(value) if value is not None else None


# ---------------------------------------------------------------------- checks before Hydra
def _key_of(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def _value_of(overrides: Sequence[str], key: str | None) -> str | None:
    for override in reversed(overrides):
        if "=" in override and _key_of(override) == key:
            return override.split("=", 1)[1]
    return None


def _options(error: MissingConfigException) -> list[str]:
    text = str(error)
    if "Available options" not in text:
        return []
    listed = text.split("Available options", 1)[1].split("Config search path", 1)[0]
    return [line.strip() for line in listed.splitlines()[1:] if line.startswith("\t")]


_EXPECTED = {"Integer": "an integer", "Float": "a number", "Boolean": "true or false",
             "String": "a string"}


def _composition_message(
    error: Exception, overrides: Sequence[str], registry: Registry | None = None
) -> str:
    """Hydra's or OmegaConf's multi-line composition error as one line: key, value, fix."""
    if isinstance(error, MissingConfigException):
        found = re.search(r"Could not find '([^']+)/([^'/]+)'", str(error))
        if found:
            group, name = found.groups()
            return (
                unknown_name_message(f"{group} option", name, _options(error),
                                     plural=f"{group} options")
                + f" Choose one with {group}=<name> (deepinn plugins lists the registered "
                "components)."
                + (registry.disabled_note() if registry is not None else "")
            )
    if isinstance(error, OverrideParseException):
        from hydra.core.override_parser.overrides_parser import OverridesParser

        parser = OverridesParser.create()
        for override in overrides:
            try:
                parser.parse_overrides([override])
            except HydraException as bad:
                detail = str(bad).splitlines()[0]
                hint = "quote a value with special characters: key='value'"
                if _key_of(override) == "resume" and override.count("=") > 1:
                    quoted = override.split("=", 1)[1]
                    hint = (
                        "Lightning's checkpoint names hold '=': use resume=<run folder> "
                        f"resume_from=best (or last), or quote the path: resume='{quoted}'"
                    )
                return f"cannot read the override {override!r} ({detail}); {hint}."
    cause = error.__cause__ if isinstance(error.__cause__, OmegaConfBaseException) else error
    if isinstance(cause, OmegaConfBaseException):
        key = getattr(cause, "full_key", None) or "config"
        if isinstance(cause, ConfigAttributeError):
            schema = getattr(cause, "object_type", None)
            declared = list(getattr(schema, "__dataclass_fields__", {}))
            parent, _, leaf = key.rpartition(".")
            if not declared:  # a mapping, not a schema: its keys are added with +
                return _add_with_plus(key, _value_of(overrides, key))
            return (
                unknown_name_message(f"key{' of ' + parent if parent else ''}", leaf, declared,
                                     plural=f"keys{' of ' + parent if parent else ''}",
                                     listed="Valid")
                + " Fix its spelling (a leading + adds a key that does not exist)."
            )
        detail = (getattr(cause, "msg", None) or str(cause)).splitlines()[0]
        value = _value_of(overrides, key)
        if "not in struct" in detail:  # a new key of a mapping (problem.weights.pde, ...)
            return _add_with_plus(key, value)
        if re.match(r"Key '[^']+' not in", detail):  # a key the chosen option does not have
            section = key.partition(".")[0]
            return (
                f"{key}: {detail}: the {section} chosen has no such key. Leave it out, or "
                f"{_choose_another(key)}."
            )
        wanted = re.search(r"converted to (\w+)", detail)
        expected = _EXPECTED.get(wanted.group(1), wanted.group(1)) if wanted else "a valid value"
        shown = f"{key}={value}" if value is not None else key
        return f"{shown}: {detail}. Give {expected}, e.g. {key}=<{expected.replace(' ', '_')}>."
    return _in_file_message(str(error))


def _choose_another(key: str) -> str:
    """The fix for a ``key`` the chosen option lacks: another option of its section has it."""
    section = key.partition(".")[0]
    where = "; docs/yaml_pde.md those of problem=custom" if section == "problem" else ""
    return (
        f"choose another {section} that has it (deepinn show {section} <name> lists its "
        f"keys{where})"
    )


def _in_file_message(text: str) -> str:
    """Hydra's report of an error inside a YAML file (``In 'experiment/x': ConfigKeyError raised
    while composing config:`` then OmegaConf's lines) as one line: file, key, what, fix."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        return lines[0] if lines else text
    where = re.match(r"In '([^']+)'", lines[0])
    key = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("full_key:")),
               None)
    details = [line for line in lines[1:] if not re.match(r"\w+(_type)?[:=]", line)]
    detail = details[0].rstrip(".") if details else lines[0]
    place = f"in {where.group(1)}.yaml" if where else "in a configuration file"
    if key is None:
        return f"{place}: {detail}."
    unknown = re.match(r"Key '([^']+)' not in", detail)
    wanted = re.search(r"converted to (\w+)", detail)
    if unknown:
        section = key.partition(".")[0]
        fix = (
            f"{key} is not a key of the {section} chosen: fix its spelling, or "
            f"{_choose_another(key)}"
        )
    elif wanted:
        fix = f"give {key} {_EXPECTED.get(wanted.group(1), wanted.group(1))}"
    else:
        fix = f"fix {key} in that file"
    return f"{place}: {key}: {detail}; {fix}. (--cfg job shows the composed configuration.)"


def _add_with_plus(key: str, value: str | None) -> str:
    shown = f"+{key}={value}" if value is not None else f"+{key}=<value>"
    return (
        f"{key} is not set yet, so there is nothing to override: add it with a leading + "
        f"({shown}); a mapping is extended key by key, e.g. +problem.weights.pde=10."
    )


def _domain_dim(cfg: DictConfig, registry: Registry) -> int:
    """The domain's dimension (building a domain allocates nothing; its errors come first, one
    line, before any folder exists)."""
    return int(registry.domains.build(cfg.domain.name, cfg.domain).dim)


def _quote(path: str) -> str:
    return "'" + path.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _hydra_flags() -> argparse.ArgumentParser:
    """Hydra's command-line flags (as its ``--help`` documents them), to tell them from the
    overrides; Hydra itself parses them again when it runs."""
    parser = argparse.ArgumentParser(prog="deepinn train", add_help=False)
    for flags, dest in (
        (("--help", "-h"), "help"), (("--hydra-help",), "hydra_help"), (("--resolve",), "resolve"),
        (("--run", "-r"), "run"), (("--multirun", "-m"), "multirun"),
        (("--shell-completion", "-sc"), "shell_completion"), (("--version",), "version"),
    ):
        parser.add_argument(*flags, dest=dest, action="store_true")
    for flags, dest in (
        (("--cfg", "-c"), "cfg"), (("--package", "-p"), "package"),
        (("--config-path", "-cp"), "config_path"), (("--config-name", "-cn"), "config_name"),
        (("--config-dir", "-cd"), "config_dir"), (("--experimental-rerun",), "experimental_rerun"),
    ):
        parser.add_argument(*flags, dest=dest)
    parser.add_argument("--info", "-i", dest="info", nargs="?", const="all")
    parser.add_argument("overrides", nargs="*")
    return parser


def _prepare(overrides: list[str], registry: Registry) -> list[str]:
    """Check the configuration and claim the run folder before Hydra creates anything.

    Returns:
        The overrides to run, with ``hydra.run.dir`` set to the claimed folder.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    args = _hydra_flags().parse_args(overrides)
    if any(getattr(args, flag, None) for flag in _PASS_THROUGH):
        return overrides  # help, --cfg, sweeps: each job is checked when it runs
    plain = list(args.overrides)
    try:
        cfg = compose(plain, args.config_dir)
        extra = [] if args.config_dir is None else [
            f"hydra.searchpath=[file://{Path(args.config_dir).resolve()}]"
        ]
        GlobalHydra.instance().clear()
        with initialize_config_module(config_module="deepinn.conf", version_base=None):
            full = hydra_compose("train", overrides=[*extra, *plain], return_hydra_config=True)
        run_dir = str(OmegaConf.select(full, "hydra.run.dir"))
    except (HydraException, OmegaConfBaseException) as error:
        _fail(_composition_message(error, plain, registry))
    finally:
        GlobalHydra.instance().clear()
    config = typed_config(cfg)
    check_memory(cfg, _domain_dim(cfg, registry))
    # a problem or network its factory refuses, an exact solution that fails: no folder yet
    build_components(cfg, registry)[0].evaluation_set(config.eval_points)
    if config.resume is not None and not config.marching.enabled:
        # a bad checkpoint or another configuration: refused here (time marching: per window)
        checkpoint = find_checkpoint(config.resume, config.resume_from)
        loaded = load_checkpoint_safely(checkpoint)
        stored = loaded.get("hyper_parameters") or {}
        check_compatible(checkpoint, stored, OmegaConf.to_container(cfg, resolve=True))  # type: ignore[arg-type]
        check_steps_left(checkpoint, loaded, int(cfg.trainer.max_steps))
    if is_secondary_rank():
        return overrides  # DDP ranks > 0 write into rank 0's folder
    if any(_key_of(o) == "hydra.run.dir" for o in plain):
        claim_run_folder(run_dir, config.resume)
        return overrides
    folder = make_unique_folder(run_dir)
    claim_run_folder(folder, config.resume)
    return [*overrides, f"hydra.run.dir={_quote(str(folder))}"]


def train(overrides: Sequence[str], argv: Sequence[str] | None = None) -> int:
    """Run the main job with Hydra ``overrides`` (and Hydra flags: ``-m``, ``--cfg job``, ...).

    Args:
        overrides: The command line after ``train``.
        argv: The process's full command line, restored for Lightning's DDP ranks (which
            re-execute it); default ``sys.argv``.

    Returns:
        0 on success; an error exits the process with status 1 and one line on stderr; SIGTERM
        exits with status 143 after saving ``last.ckpt`` and ``metrics.json``.
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
        prepared = _prepare(list(overrides), registry)
    except DeepinnError as error:
        _fail(error)
    _state.update(argv=original, registry=registry)
    sys.argv = [original[0], *prepared]
    try:
        _train()
    finally:
        sys.argv = original
    return 0


