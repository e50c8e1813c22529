"""``threads="auto"``: the cores this process may use, less the other processes' load, and one
thread for a problem too small to gain from more; a warning when the machine is oversubscribed."""

from __future__ import annotations

import logging
import math

import lightning.pytorch as pl
import pytest
import torch

import deepinn as dp
from deepinn.constraints import DirichletBC, PDEConstraint
from deepinn.training import RunConfig, fit
from deepinn.training.service import _threads
from deepinn.training.service._threads import (
    MIN_WORK_PER_THREAD,
    apply_threads,
    cgroup_cpu_limit,
    choose_threads,
    problem_points,
    usable_cores,
)

QUIET = {"enable_progress_bar": False}


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _machine(monkeypatch, cores: int, load: float) -> None:
    monkeypatch.setattr(_threads, "usable_cores", lambda: cores)
    monkeypatch.setattr(_threads, "other_load", lambda: load)


def _problem(n=16):
    interval = dp.domains.Interval(dp.spaces.R1("x"), 0.0, 1.0)
    exact = lambda x: torch.sin(math.pi * x)  # noqa: E731
    pde = PDEConstraint("pde", dp.samplers.GridSampler(interval, n),
                        residual=lambda f: -f.laplacian("u") / math.pi**2, source=exact)
    bc = DirichletBC("boundary", dp.samplers.GridSampler(interval.boundary, 2), value=exact)
    return dp.Problem("poisson1d", interval, [pde, bc], exact=exact)


def _net(hidden=(8,)):
    torch.manual_seed(0)
    return dp.nn.FullyConnected([1, *hidden, 1], "tanh", bounds=([0.0], [1.0]))


# ------------------------------------------------------------------ the rule
def test_an_idle_machine_gives_a_large_problem_every_core():
    assert choose_threads(cores=2, load=0.0, work=10 * MIN_WORK_PER_THREAD) == 2
    assert choose_threads(cores=16, load=0.2, work=None) == 16


def test_a_small_problem_takes_one_thread_per_step_of_work():
    assert choose_threads(cores=16, load=0.0, work=MIN_WORK_PER_THREAD - 1) == 1
    assert choose_threads(cores=16, load=0.0, work=2 * MIN_WORK_PER_THREAD) == 3


def test_the_cores_other_processes_keep_busy_are_left_to_them():
    assert choose_threads(cores=2, load=1.0, work=None) == 1
    assert choose_threads(cores=8, load=2.6, work=None) == 5
    assert choose_threads(cores=2, load=0.4, work=None) == 2  # under half a core: noise


def test_an_oversubscribed_machine_still_trains_on_one_thread():
    assert choose_threads(cores=2, load=5.0, work=None) == 1


# ------------------------------------------------------------------ what the process may use
def test_a_cgroup_v2_quota_caps_the_cores(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cgroup_cpu_limit(tmp_path) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_limit(tmp_path) is None


def test_a_cgroup_v1_quota_caps_the_cores(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("200000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_limit(tmp_path) == 2.0
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpu_limit(tmp_path) is None


def test_no_cgroup_file_is_no_limit(tmp_path):
    assert cgroup_cpu_limit(tmp_path) is None


def test_usable_cores_take_the_smaller_of_affinity_and_quota(monkeypatch):
    monkeypatch.setattr(_threads.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setattr(_threads, "cgroup_cpu_limit", lambda: 1.5)
    assert usable_cores() == 2
    monkeypatch.setattr(_threads, "cgroup_cpu_limit", lambda: None)
    assert usable_cores() == 4


# ------------------------------------------------------------------ applied to a run
def test_the_setting_defaults_to_auto_and_takes_ints_and_none():
    assert RunConfig().threads == "auto"
    assert RunConfig(threads="AUTO").threads == "auto"
    assert RunConfig(threads=3).threads == 3
    assert RunConfig(threads=None).threads is None


def test_a_step_counts_the_constraints_points():
    assert problem_points(_problem(16)) == 18


def test_auto_sets_torch_threads_for_the_problem(monkeypatch):
    _machine(monkeypatch, cores=4, load=0.0)
    choice = apply_threads("auto", _problem(), _net())
    assert choice.threads == 1 == torch.get_num_threads()  # 18 points, 25 parameters


def test_an_oversubscribed_machine_is_told_with_the_threads_chosen(monkeypatch, caplog):
    _machine(monkeypatch, cores=2, load=3.0)
    with caplog.at_level(logging.INFO, logger="deepinn.training"):
        apply_threads("auto", _problem(), _net())
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "oversubscribed" in record.getMessage()
    assert "1 thread (threads=auto; 2 usable cores, a load of 3.0" in record.getMessage()


def test_a_busy_core_left_to_others_is_said_at_info(monkeypatch, caplog):
    _machine(monkeypatch, cores=2, load=1.0)
    with caplog.at_level(logging.INFO, logger="deepinn.training"):
        apply_threads("auto", _problem(), _net())
    [record] = caplog.records
    assert record.levelno == logging.INFO and "1 thread" in record.getMessage()


def test_torch_default_on_an_oversubscribed_machine_is_warned_and_left(monkeypatch, caplog):
    _machine(monkeypatch, cores=2, load=2.0)
    torch.set_num_threads(2)
    with caplog.at_level(logging.INFO, logger="deepinn.training"):
        apply_threads(None, _problem(), _net())
    assert torch.get_num_threads() == 2
    assert "oversubscribed: training on 2 threads (threads=None" in caplog.text


def test_an_explicit_count_is_set_without_a_word(monkeypatch, caplog):
    _machine(monkeypatch, cores=2, load=5.0)
    with caplog.at_level(logging.INFO, logger="deepinn.training"):
        apply_threads(2, _problem(), _net())
    assert torch.get_num_threads() == 2
    assert caplog.records == []


class ThreadSpy(pl.Callback):
    def on_train_start(self, trainer, pl_module):
        self.threads = torch.get_num_threads()


def test_fit_trains_on_the_threads_auto_chose_and_restores_torchs_count(monkeypatch):
    _machine(monkeypatch, cores=2, load=0.0)
    torch.set_num_threads(2)
    spy = ThreadSpy()
    fit(_problem(), _net(), max_steps=2, logger=False, eval_points=20,
        trainer_options={**QUIET, "callbacks": [spy]})
    assert spy.threads == 1  # 18 points, 25 parameters
    assert torch.get_num_threads() == 2
