"""The callback kind: registered through ``deepinn_callbacks``, listed with its parameters, built
by name for ``fit(callbacks=[...])`` beside callback objects."""

from __future__ import annotations

from dataclasses import dataclass

import lightning.pytorch as pl
import pytest

from deepinn import ConfigurationError, DuplicateNameError, PluginError, UnknownNameError
from deepinn.plugins import Registration, format_registry, hookimpl, load_registry
from deepinn.plugins._listing import format_params
from deepinn.training import fit
from deepinn.training.service._chosen_callbacks import chosen_callbacks
from deepinn.training.service._early_stop import EarlyStop

TINY = ["problem.n_interior=32", "problem.n_boundary=8", "eval_points=100", "net.hidden=[4]"]


@dataclass
class CountParams:
    start: int = 0


class Counter(pl.Callback):
    def __init__(self, start: int = 0) -> None:
        self.batches = start

    def on_train_batch_end(self, *args: object) -> None:
        self.batches += 1


class CounterPlugin:
    @hookimpl
    def deepinn_callbacks(self) -> list[Registration]:
        return [
            Registration("counter", lambda p: Counter(p.start), CountParams, "counts batches"),
            Registration("not_a_callback", lambda p: object(), CountParams, "broken"),
        ]


@pytest.fixture
def registry():
    return load_registry(strict=True, plugins=[CounterPlugin()], entry_points=())


def test_early_stop_is_built_in(registry):
    registration = registry.callbacks.get("early_stop")
    assert registration.distribution == "deepinn"
    assert isinstance(registry.callbacks.build("early_stop", {"patience": 5}), EarlyStop)


def test_listing_shows_callbacks_with_their_parameters(registry):
    text = format_registry(registry, ["callbacks"], params=True)
    assert "callbacks (3):" in text and "early_stop" in text and "counter" in text
    shown = format_params(registry.callbacks.get("early_stop"), registry.callbacks.kind)
    assert "select with callbacks=[early_stop]" in shown
    assert "callbacks.early_stop.<parameter>=..." in shown
    for parameter in ("monitor", "patience", "min_delta", "mode"):
        assert f"\n  {parameter} " in shown
    assert "Optimizer steps without an improvement" in shown  # the Attributes: docs


def test_show_callback_prints_its_parameters(capsys):
    from deepinn.__main__ import main

    assert main(["show", "callback", "early_stop"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("callback early_stop:") and "patience" in out


def test_a_factory_that_returns_no_callback_is_refused_naming_the_contract(registry):
    with pytest.raises(PluginError, match=r"not a Callback.*factory\(params\) -> lightning"):
        registry.callbacks.build("not_a_callback")


def test_names_objects_and_parameters_in_the_order_given(registry):
    mine = Counter()
    built = chosen_callbacks(["counter", mine, "early_stop"], registry)
    assert [type(c) for c in built] == [Counter, Counter, EarlyStop] and built[1] is mine
    [counter] = chosen_callbacks({"counter": {"start": 7}}, registry)
    assert counter.batches == 7
    assert chosen_callbacks(None, registry) == []


def test_an_unknown_name_lists_the_callbacks_and_the_nearest(registry):
    with pytest.raises(UnknownNameError, match=r"callback 'countr'.*Did you mean 'counter'"):
        chosen_callbacks(["countr"], registry)


def test_anything_else_is_refused_naming_the_forms(registry):
    with pytest.raises(ConfigurationError, match=r"callbacks holds 3, a int: give lightning"):
        chosen_callbacks([3], registry)


@pytest.fixture(scope="module")
def tiny():
    from deepinn.app import build_components, compose, register_configs

    registry = load_registry(strict=True)
    register_configs(registry)
    problem, network, _ = build_components(compose(TINY), registry)
    return problem, network


def test_fit_takes_callback_objects_and_registered_names(tiny):
    problem, network = tiny
    counter = Counter()
    result = fit(problem, network, max_steps=4, logger=False, threads=1,
                 callbacks=[counter, "early_stop"])
    assert counter.batches > 0 and result.metrics["steps"] == 4


def test_fit_takes_registered_names_with_their_parameters(tiny):
    problem, network = tiny
    result = fit(problem, network, max_steps=200, logger=False, threads=1, val_every=10,
                 callbacks={"early_stop": {"patience": 10, "min_delta": 100}})
    assert result.metrics["steps"] == 20
    assert result.metrics["stop_reason"].startswith("early stop at step 20: val/rel_l2")


def test_fit_refuses_a_bad_callback_before_training(tiny):
    problem, network = tiny
    with pytest.raises(ConfigurationError, match=r"callbacks holds \(.x.,\), a tuple"):
        fit(problem, network, max_steps=4, logger=False, callbacks=[("x",)])


class EarlyStopTwin:
    @hookimpl
    def deepinn_callbacks(self) -> list[Registration]:
        return [Registration("early_stop", lambda p: Counter(), CountParams, "a twin")]


def test_a_name_two_plugins_register_is_chosen_by_its_qualified_form():
    twin = EarlyStopTwin()
    registry = load_registry(strict=True, plugins=[twin], entry_points=())
    with pytest.raises(DuplicateNameError, match=r"callbacks=\[deepinn:early_stop\] or callbacks="):
        chosen_callbacks(["early_stop"], registry)
    [built] = chosen_callbacks(["deepinn:early_stop"], registry)
    assert isinstance(built, EarlyStop)


def test_early_stop_refuses_a_term_the_problem_lacks_before_any_step(tiny):
    problem, network = tiny
    counter = Counter()
    with pytest.raises(ConfigurationError, match=r"'train/loss/pdee' is not a loss term of "
                                                 r"problem 'poisson'; its terms are "
                                                 r"train/loss/pde, train/loss/boundary"):
        fit(problem, network, max_steps=50, logger=False, threads=1, val_every=40,
            callbacks=[counter, EarlyStop("train/loss/pdee")])
    assert counter.batches == 0


def test_early_stop_refuses_the_error_of_a_problem_without_a_solution(tiny):
    problem, network = tiny
    problem.exact = None
    assert not problem.has_solution
    with pytest.raises(ConfigurationError, match=r"'error/rel_l2' is not measured: problem "
                                                 r"'poisson' has no exact or reference solution"):
        fit(problem, network, max_steps=5, logger=False, threads=1,
            callbacks=[EarlyStop("error/rel_l2")])


def test_early_stop_in_max_mode_counts_a_rise_as_the_improvement():
    from types import SimpleNamespace

    import torch

    def stopped(mode: str, values: list[float]) -> list[bool]:
        stop = EarlyStop("val/rel_l2", patience=20, min_delta=0.01, mode=mode)
        trainer = SimpleNamespace(
            sanity_checking=False, callback_metrics={}, global_step=0, should_stop=False,
            strategy=SimpleNamespace(reduce_boolean_decision=lambda flag, all: flag),
        )
        module = SimpleNamespace(last_losses={})
        seen = []
        for step, value in enumerate(values, start=1):
            trainer.global_step = 10 * step
            trainer.callback_metrics = {"val/rel_l2": torch.tensor(value)}
            stop.on_validation_end(trainer, module)
            seen.append(trainer.should_stop)
        return seen

    rising = [0.1, 0.2, 0.3, 0.305, 0.31]  # the last two rise by less than min_delta
    assert stopped("max", rising) == [False, False, False, False, True]
    assert stopped("min", rising) == [False, False, True, True, True]
