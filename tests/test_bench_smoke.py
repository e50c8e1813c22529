"""`python bench/run.py --smoke` runs every accuracy case and both speed cases for a few steps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import run as bench_run  # noqa: E402  (bench/ is a folder of scripts, not a package)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    env = dict(os.environ, OMP_NUM_THREADS="2")
    result = subprocess.run(
        [sys.executable, "bench/run.py", "--smoke", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout, json.loads(out.read_text())


@pytest.mark.slow  # the smoke run, shared by the module
def test_smoke_runs_every_problem_through_its_experiment_config(smoke):
    _, data = smoke
    assert [r["case"] for r in data["accuracy"]] == bench_run.PROBLEMS
    for record in data["accuracy"]:
        assert record["steps"] > 0 and record["timing"]["ms_per_step"] > 0
        assert record["error"] is not None and record["peak_rss_mib"] > 0


@pytest.mark.slow  # the smoke run, shared by the module
def test_smoke_times_both_speed_cases_for_every_implementation(smoke):
    _, data = smoke
    cases = {(r["case"], r["implementation"]) for r in data["speed"]}
    assert cases == {(c, i) for c in ("P1", "P2") for i in ("plain", "reverse", "auto", "compile")}
    for case in ("P1", "P2"):
        first = {r["implementation"]: r["first_loss"] for r in data["speed"] if r["case"] == case}
        # same points, same initial weights: the same loss before the first update
        assert first["reverse"] == pytest.approx(first["plain"], rel=1e-4)
        assert first["auto"] == pytest.approx(first["plain"], rel=1e-4)
    for record in data["speed"]:  # every deepinn row carries its own interleaved plain-loop steps
        if record["implementation"] != "plain":
            assert record["paired_plain_steps"] >= 10 and record["paired_plain_ms_per_step"] > 0


@pytest.mark.slow  # the smoke run, shared by the module
def test_smoke_prints_the_tables_and_the_machine(smoke):
    stdout, data = smoke
    assert "| poisson" in stdout and "ratio to plain" in stdout and "machine:" in stdout
    assert data["machine"]["nproc"] and data["machine"]["torch"]


def test_unknown_case_is_rejected_with_the_choices():
    result = subprocess.run(
        [sys.executable, "bench/run.py", "nosuch"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 2 and "choose from" in result.stderr and "burgers" in result.stderr


def test_kernel_count_compares_steps_that_compute_the_same_gradient():
    import kernel_count

    steps = kernel_count.steps("P2")
    assert list(steps) == ["plain loop", "deepinn forward lanes", "deepinn nested autograd"]
    gradients = {name: step() for name, step in steps.items()}
    reference = gradients.pop("plain loop")
    for name, gradient in gradients.items():
        for ours, plain in zip(gradient, reference, strict=True):
            assert ours.shape == plain.shape and bool((ours - plain).abs().max() < 1e-4), name
    assert kernel_count.count_operators(steps["deepinn forward lanes"]) > 50


def test_whole_run_times_the_plain_loop_and_fit_and_prints_the_ratio(tmp_path):
    """``bench/whole_run.py`` (a fresh process per run) on a few P2 steps, with the allocator
    left as the system has it: both runs finish, and the table names each."""
    out = tmp_path / "whole.json"
    result = subprocess.run(
        [sys.executable, "bench/whole_run.py", "P2", "--steps", "3", "--reps", "1",
         "--impls", "plain", "eager", "--allocator", "system", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    records = json.loads(out.read_text())["records"]
    assert [r["impl"] for r in records] == ["plain", "eager"]
    assert all("error" not in r and r["whole_s"] > 0 for r in records)
    assert records[1]["compiled"] == [] and records[1]["modes"]
    assert "| P2 | eager |" in result.stdout
