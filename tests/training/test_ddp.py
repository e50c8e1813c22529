"""DDP: sharded global points, global losses, one run folder, L-BFGS ranks in lockstep.

Every multi-process run is a subprocess (Lightning's ``ddp`` strategy re-executes ``sys.argv``
once per rank, which must never be pytest). Two gloo processes on CPU, float64, a tiny network.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).resolve().parents[1] / "ddp_fit_script.py"
STEPS = 8
TINY = [
    "optimizer=adam", "optimizer.lr=0.01", "dtype=float64", "seed=3",
    "net.hidden=[8,8]", "problem.n_interior=65", "problem.n_boundary=33", "eval_points=500",
    f"trainer.max_steps={STEPS}", "trainer.enable_progress_bar=false", "resample_every=3",
    "monitor.log_every=1", "monitor.val_every=4", "monitor.checkpoint_every=4",
    "monitor.grad_norm_every=4", "monitor.histogram_every=4",
]

pytestmark = [pytest.mark.slow, pytest.mark.ddp]


def _env() -> dict[str, str]:
    # One thread per process: two ranks share the CI runner's two cores.
    return dict(os.environ, PYTHONWARNINGS="ignore", OMP_NUM_THREADS="1")


def _start(command: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command, cwd=cwd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _finish(process: subprocess.Popen, timeout: float = 300) -> str:
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"timed out after {timeout} s:\n{output[-3000:]}")
    assert process.returncode == 0, output[-4000:]
    return output


def _scalars(run: Path, tag: str) -> list[tuple[int, float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0})
    accumulator.Reload()
    return [(event.step, event.value) for event in accumulator.Scalars(tag)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """train.py on one process and with trainer=ddp on two, same config, run side by side."""
    single_cwd = tmp_path_factory.mktemp("single")
    ddp_cwd = tmp_path_factory.mktemp("ddp")
    train = str(ROOT / "train.py")
    # No hydra.run.dir override: the DDP run must land in one ${now:...} folder on both ranks.
    single = _start([sys.executable, train, *TINY], single_cwd)
    ddp = _start(
        [
            sys.executable,
            train,
            *TINY,
            "trainer=ddp",
            "trainer.devices=2",
            "trainer.accelerator=cpu",
        ],
        ddp_cwd,
    )
    _finish(single)
    output = _finish(ddp)
    started = "Initializing distributed: GLOBAL_RANK: 1, MEMBER: 2/2"  # the second rank joined
    assert started in output, output[-3000:]
    folders = {}
    for name, cwd in {"single": single_cwd, "ddp": ddp_cwd}.items():
        found = [p for p in (cwd / "outputs").glob("*/*") if p.is_dir()]
        assert len(found) == 1, f"{name}: expected one run folder, got {found}"
        folders[name] = found[0]
    assert sorted(p.name for p in ddp_cwd.iterdir()) == ["outputs"]
    return folders


def test_ddp_run_writes_one_folder_with_every_artifact_once(runs):
    run = runs["ddp"]
    for name in [".hydra/config.yaml", "metrics.json", "predictions.npz", "checkpoints/last.ckpt",
                 "plots/solution_u.png", "plots/points_pde.png", "plots/points_boundary.png"]:
        assert (run / name).is_file(), name
    assert len(list((run / "tensorboard").glob("events.out.tfevents.*"))) == 1  # rank zero only
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["steps"] == STEPS
    with np.load(run / "predictions.npz") as data:
        # the full evaluation set
        assert data["prediction"].shape == data["exact"].shape == (500, 1)


@pytest.mark.parametrize("tag", ["train/loss", "train/loss/pde", "train/loss/boundary"])
def test_ddp_losses_match_the_single_process_run_per_step(runs, tag):
    single, ddp = _scalars(runs["single"], tag), _scalars(runs["ddp"], tag)
    assert [step for step, _ in ddp] == [step for step, _ in single] == list(range(STEPS))
    np.testing.assert_allclose([v for _, v in ddp], [v for _, v in single], rtol=1e-5)


def test_ddp_metrics_match_the_single_process_run(runs):
    single, ddp = (json.loads((runs[k] / "metrics.json").read_text()) for k in ("single", "ddp"))
    for key in ("rel_l2", "final_loss"):
        assert ddp[key] == pytest.approx(single[key], rel=1e-9), key
    assert ddp["loss_per_constraint"] == pytest.approx(single["loss_per_constraint"], rel=1e-9)
    assert [v for _, v in _scalars(runs["ddp"], "error/rel_l2")] == pytest.approx(
        [v for _, v in _scalars(runs["single"], "error/rel_l2")], rel=1e-5
    )


def _load_script():
    spec = importlib.util.spec_from_file_location("ddp_fit_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lbfgs_under_ddp_keeps_ranks_identical_and_matches_one_process(tmp_path):
    ddp = _start([sys.executable, str(SCRIPT), str(tmp_path / "ddp"), "--devices", "2"], ROOT)
    _load_script().run(tmp_path / "one", devices=1)
    _finish(ddp)
    rank0, rank1 = (torch.load(tmp_path / "ddp" / f"rank{r}.pt") for r in (0, 1))
    reference = torch.load(tmp_path / "one" / "rank0.pt")
    assert not (tmp_path / "ddp" / "rank2.pt").exists()
    for name, value in reference.items():
        assert torch.equal(rank0[name], rank1[name]), name  # bit for bit
        torch.testing.assert_close(rank0[name], value, rtol=1e-9, atol=1e-11)
    metrics, expected = (
        json.loads((tmp_path / k / "metrics.json").read_text()) for k in ("ddp", "one")
    )
    assert metrics["steps"] == expected["steps"] == 10
    assert metrics["final_loss"] == pytest.approx(expected["final_loss"], rel=1e-9)


def test_ranks_take_disjoint_shards_that_cover_the_global_set_in_every_round():
    from deepinn.training import CollocationData, RunConfig

    problem = _load_script().problem()
    world, previous = 2, None
    for step in (0, 4, 9):  # rounds 0, 1 and 2 with resample_every=4
        shards, sets = [], []
        for rank in range(world):
            data = CollocationData(problem, RunConfig(seed=5, resample_every=4, dtype="float64"))
            data.trainer = SimpleNamespace(global_rank=rank, world_size=world, global_step=step)
            batch = data.batch_for(step)
            assert batch["rows"] == {"pde": 61, "boundary": 2}  # global counts
            shards.append(batch["points"]["pde"])
            sets.append(data.current_global_points()["pde"])
        assert all(torch.equal(s["x"], sets[0]["x"]) for s in sets)  # same global set everywhere
        assert [len(s["x"]) for s in shards] == [31, 30]
        merged = {key: torch.cat([s[key] for s in shards]) for key in shards[0]}
        order = merged["x"][:, 0].argsort()
        reference = sets[0]["x"][:, 0].argsort()
        for key in merged:  # rows keep their data (x and source stay paired)
            assert torch.equal(merged[key][order], sets[0][key][reference]), key
        assert len(set(merged["x"][:, 0].tolist())) == 61  # disjoint
        assert previous is None or not torch.equal(previous, sets[0]["x"])  # resampled
        previous = sets[0]["x"]


def test_a_constraint_with_fewer_points_than_ranks_is_refused():
    from deepinn import DeepinnError
    from deepinn.training import CollocationData

    data = CollocationData(_load_script().problem())
    data.trainer = SimpleNamespace(global_rank=0, world_size=3, global_step=0)  # boundary has 2
    with pytest.raises(DeepinnError, match="'boundary' has 2 points for 3 ranks"):
        data.batch_for(0)


def test_a_ddp_run_reloads_and_predicts_what_it_wrote(runs):
    import deepinn as dp

    run = dp.load(runs["ddp"])
    with np.load(runs["ddp"] / "predictions.npz") as stored:
        np.testing.assert_array_equal(run.predict(stored["points"]), stored["prediction"])
