"""Hydra for one command: read its flags, compose once, run the job in its folder.

``hydra.main`` reads ``sys.argv`` and composes the configuration itself (twice for a run: once
to find the mode, once to run). The command instead parses the arguments it is given with
Hydra's own parser, composes once with Hydra's configuration, checks and builds from that one
configuration, and hands it to Hydra's :func:`~hydra.core.utils.run_job`, which creates the
run folder's ``.hydra/``, sets up ``train.log`` and sets ``HydraConfig`` for the job (Lightning's
DDP launcher reads it to start the other ranks). Sweeps, ``--cfg``, ``--help``, ``--info`` and
shell completion are Hydra's own: :func:`hand_to_hydra` runs them as ``hydra.main`` would.
These are the entry points ``hydra.main`` and Hydra's launchers use themselves.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from hydra._internal.callbacks import Callbacks
from hydra._internal.hydra import Hydra
from hydra._internal.utils import _run_hydra, create_config_search_path, get_args_parser
from hydra.core.config_search_path import SearchPathQuery
from hydra.core.global_hydra import GlobalHydra
from hydra.core.utils import run_job
from hydra.types import HydraContext, RunMode
from omegaconf import DictConfig, open_dict, read_write

from deepinn._errors import ConfigurationError

__all__ = ["CONFIG_NAME", "CONFIG_PATH", "HydraSession", "hand_to_hydra", "parse_arguments"]

CONFIG_PATH = "pkg://deepinn.conf"
"""The packaged configuration (``deepinn/conf``)."""
CONFIG_NAME = "train"
"""The main job's configuration, ``conf/train.yaml``."""

HYDRA_COMMANDS = ("help", "hydra_help", "cfg", "info", "shell_completion", "multirun",
                  "experimental_rerun", "config_path", "config_name", "resolve")
"""Flags whose command Hydra runs itself (each job of a sweep is checked when it runs)."""


def parse_arguments(arguments: Sequence[str]) -> argparse.Namespace:
    """The command line after ``train``, read by Hydra's own parser (flags and overrides)."""
    parser = get_args_parser()
    parser.prog = "deepinn train"
    return parser.parse_args(list(arguments))


def runs_in_hydra(args: argparse.Namespace) -> bool:
    """Whether ``args`` ask for one of Hydra's own commands (a sweep, ``--cfg``, ``--help``)."""
    return any(getattr(args, flag, None) for flag in HYDRA_COMMANDS)


def hand_to_hydra(args: argparse.Namespace, task: Callable[[DictConfig], Any]) -> None:
    """Run Hydra's command for ``args`` (what ``hydra.main`` does with ``sys.argv``)."""
    parser = get_args_parser()
    parser.prog = "deepinn train"
    _run_hydra(args=args, args_parser=parser, task_function=task, config_path=CONFIG_PATH,
               config_name=CONFIG_NAME)


class HydraSession:
    """Hydra set up for one run, with the packaged configuration and ``config_dir`` (the
    ``--config-dir`` folder of the user's YAML, searched first); cleared on leaving.

    Raises:
        ConfigurationError: ``config_dir`` is not a folder.
    """

    def __init__(self, config_dir: str | None = None) -> None:
        self.config_dir = config_dir
        self._hydra: Hydra | None = None

    def __enter__(self) -> HydraSession:
        search_path = create_config_search_path(CONFIG_PATH)
        if self.config_dir is not None:
            folder = Path(self.config_dir).resolve()
            if not folder.is_dir():
                raise ConfigurationError(
                    f"--config-dir {self.config_dir}: no such folder ({folder}). Give the folder "
                    "that holds your YAML files (--config-dir conf for conf/experiment/x.yaml)."
                )
            search_path.prepend(provider="command-line", path=f"file://{folder}",
                                anchor=SearchPathQuery(provider="schema"))
        GlobalHydra.instance().clear()
        self._hydra = Hydra.create_main_hydra2(task_name=CONFIG_NAME,
                                               config_search_path=search_path)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        GlobalHydra.instance().clear()
        self._hydra = None

    @property
    def hydra(self) -> Hydra:
        if self._hydra is None:
            raise RuntimeError("HydraSession is used outside its with-block")
        return self._hydra

    def compose(self, overrides: Sequence[str]) -> DictConfig:
        """The run's configuration with Hydra's own node (``hydra.run.dir``, ``hydra.job``).

        Raises:
            HydraException, OmegaConfBaseException: The configuration does not compose.
        """
        cfg = self.hydra.compose_config(CONFIG_NAME, list(overrides), run_mode=RunMode.RUN,
                                        from_shell=True)
        with read_write(cfg.hydra), open_dict(cfg.hydra):
            if cfg.hydra.mode is None:
                cfg.hydra.mode = RunMode.RUN
        return cfg

    def run(self, cfg: DictConfig, run_dir: str, task: Callable[[DictConfig], Any]) -> Any:
        """Run ``task`` as Hydra's job in ``run_dir``: the folder's ``.hydra/`` and
        ``train.log``, Hydra's callbacks, ``HydraConfig`` set while it runs.

        Returns:
            What ``task`` returns (its exception, if it raised one, is raised again).
        """
        with read_write(cfg.hydra), open_dict(cfg.hydra):
            cfg.hydra.run.dir = run_dir
        callbacks = Callbacks(cfg)
        callbacks.on_run_start(config=cfg, config_name=CONFIG_NAME)
        result = run_job(
            hydra_context=HydraContext(config_loader=self.hydra.config_loader,
                                       callbacks=callbacks),
            task_function=task, config=cfg, job_dir_key="hydra.run.dir", job_subdir_key=None,
        )
        callbacks.on_run_end(config=cfg, config_name=CONFIG_NAME, job_return=result)
        return result.return_value
