"""One ``deepinn train`` composes its configuration once, types it once and builds each
component once (in-process, a two-step run)."""

from __future__ import annotations

import collections
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hydra._internal.hydra import Hydra
from omegaconf import OmegaConf

from deepinn.app import _main, train
from deepinn.plugins import load_registry

TINY = ["problem.n_interior=32", "problem.n_boundary=8", "eval_points=100", "net.hidden=[4]",
        "threads=1", "logger=none", "optimizer=adam", "trainer.max_steps=2",
        "trainer.enable_progress_bar=false"]


pytestmark = pytest.mark.usefixtures("keep_root_logging")  # Hydra's job sets up train.log


def _counting(calls: collections.Counter[str], name: str, function: Callable[..., Any],
              results: list[Any] | None = None) -> Callable[..., Any]:
    """``function``, counting its outermost calls (OmegaConf.to_object calls itself per node)."""
    depth = [0]

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls[name] += depth[0] == 0
        depth[0] += 1
        try:
            result = function(*args, **kwargs)
        finally:
            depth[0] -= 1
        if results is not None:
            results.append(result)
        return result

    return spy


def test_one_run_composes_types_and_builds_each_component_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: collections.Counter[str] = collections.Counter()
    built: dict[str, list[Any]] = collections.defaultdict(list)
    monkeypatch.setattr(Hydra, "compose_config",
                        _counting(calls, "compose", Hydra.compose_config))
    monkeypatch.setattr(OmegaConf, "to_object", _counting(calls, "type", OmegaConf.to_object))
    monkeypatch.setattr(_main, "typed_config", _counting(calls, "typed_config",
                                                         _main.typed_config))

    def spying_registry(*args: Any, **kwargs: Any) -> Any:
        registry = load_registry(*args, **kwargs)
        for kind in ("domains", "samplers", "problems", "networks"):
            components = getattr(registry, kind)
            monkeypatch.setattr(components, "build",
                                _counting(calls, kind, components.build, built[kind]))
        return registry

    monkeypatch.setattr(_main, "load_registry", spying_registry)
    run = tmp_path / "run"
    assert train([*TINY, f"hydra.run.dir={run}"]) == 0

    assert json.loads((run / "metrics.json").read_text())["steps"] == 2
    problem = built["problems"][0]
    assert {key: calls[key] for key in ("compose", "type", "typed_config")} == {
        "compose": 1, "type": 1, "typed_config": 1}
    assert {kind: calls[kind] for kind in ("domains", "problems", "networks")} == {
        "domains": 1, "problems": 1, "networks": 1}
    samplers = [constraint.sampler for constraint in problem.constraints]
    assert calls["samplers"] == len(samplers) == 2
    assert all(any(s is b for b in built["samplers"]) for s in samplers)
    assert problem.domain is built["domains"][0]
