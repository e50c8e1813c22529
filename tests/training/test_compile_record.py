"""compile=auto prices a compile warm where this machine compiled a loss of the same shape."""

from __future__ import annotations

import logging
import types

import pytest
import torch

import deepinn as dp
from deepinn.problems._poisson import PoissonParams, build_poisson
from deepinn.training import CollocationData, RunConfig
from deepinn.training.settings._settings import auto_compile_steps
from deepinn.training.step import _compile_record as record
from deepinn.training.step import _loss
from deepinn.training.step._loss import PINNLoss

P1, P2 = 7851 * 2400, 921 * 2780  # bench/speed.py's P1 and P2: parameters x points


def _setup(width=8, n_interior=64, dtype=torch.float32, seed=0):
    square = dp.domains.Parallelogram(dp.spaces.R2("x"), [0, 0], [1, 0], [0, 1])
    problem = build_poisson(
        PoissonParams(n_interior=n_interior, n_boundary=16), square,
        lambda domain, n: dp.samplers.RandomUniformSampler(domain, n, seed=seed),
    )
    torch.manual_seed(seed)
    net = dp.nn.FullyConnected([2, width, width, 1], "tanh", bounds=None, dtype=dtype)
    points = CollocationData(problem, RunConfig(dtype=dtype, seed=seed)).global_points(0)
    return problem, net, points


def _key(**changes):
    problem, net, points = _setup(**changes)
    loss = PINNLoss(problem, net, RunConfig(compile=True))  # records the residuals' hints
    return record.compile_key(net, problem.constraints, points, None, "loss and gradient",
                              loss._shape)


def _size(net, points):
    return sum(len(b["x"]) for b in points.values()) * sum(p.numel() for p in net.parameters())


@pytest.fixture
def markers(tmp_path, monkeypatch):
    """An inductor cache folder of the test's own, empty."""
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    return tmp_path / "inductor" / record.FOLDER


@pytest.fixture
def fake_compile(monkeypatch):
    """compile_whole without a compiler: a whole loss that compiled (or, with ``failure``, fell
    back to eager); the calls are counted."""
    calls = []

    def fake(evaluate, network, compile, points, rows, parameters, failure=None):
        calls.append(compile)
        return types.SimpleNamespace(failure=fake.failure, warmup_s=0.0)

    fake.failure = None
    monkeypatch.setattr(_loss, "compile_whole", fake)
    return fake, calls


def test_the_key_is_the_loss_shape_not_its_values():
    key = _key()
    assert len(key) == 32 and key == _key()
    assert _key(seed=7) == key  # other points and initial weights: the same graphs
    assert _key(width=16) != key
    assert _key(n_interior=65) != key
    assert _key(dtype=torch.float64) != key


def test_the_key_names_the_compiled_variant_and_the_settings():
    problem, net, points = _setup()
    key = record.compile_key(net, problem.constraints, points, None, "loss")
    assert record.compile_key(net, problem.constraints, points, None, "loss and gradient") != key
    assert record.compile_key(net, problem.constraints, points, None, "loss", ("reverse",)) != key
    rows = {name: len(batch["x"]) * 2 for name, batch in points.items()}  # a DDP shard
    assert record.compile_key(net, problem.constraints, points, rows, "loss") != key


def test_the_key_reads_deepinn_s_own_code(monkeypatch):
    """Another version or an edit of deepinn (what it traces into the loss) keys another shape;
    the digest covers the package's source files and is read once."""
    key = _key()
    digest = record.package_digest()
    assert len(digest) == 16 and digest == record.package_digest()
    monkeypatch.setattr(record, "package_digest", lambda: "an edited deepinn")
    assert _key() != key


def test_the_key_reads_a_residual_s_code_and_its_constants():
    def residual(scale):
        return lambda field: scale * field.laplacian("u")

    def key(function):
        problem, net, points = _setup()
        problem.constraints[0].residual_fn = function
        return record.compile_key(net, problem.constraints, points, None, "loss")

    assert key(residual(1.0)) == key(residual(1.0))
    assert key(residual(1.0)) != key(residual(2.0))
    assert key(residual(1.0)) != key(lambda field: field.laplacian("u") + 1.0)


def test_a_warm_compile_pays_back_from_fewer_steps_per_problem_size():
    for size in (P1, P2, 0, 10**12):
        assert auto_compile_steps(size, warm=True) <= auto_compile_steps(size)
    assert auto_compile_steps(P1, warm=True) < 1000 < auto_compile_steps(P1) <= 5000
    assert 1000 < auto_compile_steps(P2, warm=True) < 3000 < 5000 < auto_compile_steps(P2)
    run = RunConfig()
    assert run.compile_mode(3000, P2) is False  # a first run of P2's shape: eager
    assert run.compile_mode(3000, P2, warm=True) == "auto"  # its second: compiled
    assert run.compile_mode(1000, P1, warm=True) == "auto"
    assert RunConfig(compile=False).compile_mode(10**6, P1, warm=True) is False


def test_the_warm_price_is_never_above_the_cold_one(monkeypatch):
    from deepinn.training.settings import _settings

    monkeypatch.setattr(_settings, "COLD_COMPILE_S", 0.0)
    assert auto_compile_steps(P2, warm=True) == auto_compile_steps(P2)


def test_a_recorded_shape_lowers_compile_auto_s_threshold(markers, fake_compile, caplog):
    _fake, calls = fake_compile
    problem, net, points = _setup()
    size = _size(net, points)
    steps = auto_compile_steps(size, warm=True)
    assert steps < auto_compile_steps(size)
    with caplog.at_level(logging.INFO, logger="deepinn.training"):
        cold = PINNLoss(problem, net, RunConfig(), max_steps=steps)
        cold.choose_modes(points)
    assert cold.compile is False and calls == [] and not markers.exists()
    assert "a cold compile pays back from about" in caplog.text

    first = PINNLoss(problem, net, RunConfig(compile=True), max_steps=steps)
    first.choose_modes(points)  # compile=true: compiled, so recorded
    assert calls == [True] and len(list(markers.iterdir())) == 1
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="deepinn.training"):
        warm = PINNLoss(problem, net, RunConfig(), max_steps=steps)
        warm.choose_modes(points)
    assert warm.compile == "auto" and calls == [True, "auto"]
    assert f"compile=auto: compiling: a run of {steps} steps pays back the warm compile" in (
        caplog.text
    )
    shorter = PINNLoss(problem, net, RunConfig(), max_steps=steps - 1)
    shorter.choose_modes(points)
    assert shorter.compile is False


def test_a_compile_that_falls_back_to_eager_records_nothing(markers, fake_compile, monkeypatch):
    fake, calls = fake_compile
    fake.failure = "RuntimeError: no C++ compiler found"
    problem, net, points = _setup()
    PINNLoss(problem, net, RunConfig(compile=True), max_steps=10).choose_modes(points)
    assert calls == [True] and not markers.exists()

    monkeypatch.undo()  # the real compile_whole, with a torch.compile that fails
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(markers.parent))

    def broken(function, **kwargs):
        def fail(*args):
            raise RuntimeError("no C++ compiler found")

        return fail

    monkeypatch.setattr(torch, "compile", broken)
    loss = PINNLoss(problem, net, RunConfig(compile=True), max_steps=10)
    with pytest.warns(RuntimeWarning, match="no C\\+\\+ compiler found"):
        loss.choose_modes(points)
    assert loss.whole is not None and loss.whole.failure is not None
    assert not markers.exists()


def test_only_rank_0_records(markers, monkeypatch):
    monkeypatch.setattr(record, "_rank", lambda: 1)
    record.record_compiled("0" * 32)
    assert not markers.exists()
    monkeypatch.setattr(record, "_rank", lambda: 0)
    record.record_compiled("0" * 32)
    assert record.was_compiled("0" * 32) and not record.was_compiled("1" * 32)


def test_nothing_is_recorded_or_found_with_inductor_s_cache_off(markers):
    import torch._inductor.config as inductor

    record.record_compiled("0" * 32)
    with inductor.patch(fx_graph_cache=False):
        assert not record.was_compiled("0" * 32)
        record.record_compiled("1" * 32)
    assert not (markers / ("1" * 32)).exists() and record.was_compiled("0" * 32)


def test_an_unwritable_cache_folder_does_not_fail_the_run(tmp_path, monkeypatch, fake_compile,
                                                          caplog):
    blocker = tmp_path / "a file"
    blocker.write_text("")
    monkeypatch.setattr(record, "record_folder", lambda: blocker / record.FOLDER)
    problem, net, points = _setup()
    with caplog.at_level(logging.DEBUG, logger="deepinn.training"):
        loss = PINNLoss(problem, net, RunConfig(compile=True), max_steps=10)
        loss.choose_modes(points)  # recording fails quietly
        again = PINNLoss(problem, net, RunConfig(), max_steps=10**9)
        again.choose_modes(points)  # and the lookup finds nothing
    assert loss.whole is not None and again.compile == "auto"
    assert "could not record the compiled loss's shape" in caplog.text
    assert "a cold compile" in caplog.text


@pytest.mark.needs_compiler
@pytest.mark.slow
def test_a_real_compile_records_its_shape(tmp_path, monkeypatch):
    problem, net, points = _setup()
    monkeypatch.setattr(record, "record_folder", lambda: tmp_path)  # inductor's cache: its own
    loss = PINNLoss(problem, net, RunConfig(compile=True))
    loss.choose_modes(points, parameters=list(net.parameters()))
    if loss.whole is None or loss.whole.failure is not None:
        pytest.skip("torch.compile unavailable here")
    key = record.compile_key(net, problem.constraints, points, None, "loss and gradient",
                             loss._shape)
    assert [p.name for p in tmp_path.iterdir()] == [key]
