"""Where a loaded run's network goes: ``load(run, device=...)``; a device this machine lacks is
refused in one line naming the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import deepinn as dp
from deepinn import ConfigurationError

pytestmark = pytest.mark.usefixtures("keep_root_logging")  # Hydra's job sets up train.log


def test_a_run_loads_on_the_cpu(cli_run: Path) -> None:
    run = dp.load(cli_run, device="cpu")
    assert run.device == torch.device("cpu")
    assert all(p.device.type == "cpu" for p in run.network.parameters())


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_an_unavailable_cuda_device_is_refused_naming_the_fix(cli_run: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"device = 'cuda', but this machine has no cuda "
                                                 r"device.*device='cpu'"):
        dp.load(cli_run, device="cuda")


def test_a_device_that_is_no_device_is_refused(cli_run: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"device = 'gpu' is not a device; give 'cpu', "
                                                 r"'cuda'"):
        dp.load(cli_run, device="gpu")


def test_the_command_line_names_an_unavailable_device_in_one_line(
    cli_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from deepinn.__main__ import main

    device = f"cuda:{torch.cuda.device_count()}"  # one past the last, on any machine
    assert main(["evaluate", str(cli_run), "--device", device]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"deepinn evaluate: error: load: device = '{device}'")
    assert err.count("\n") == 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="this machine has no CUDA device")
def test_a_run_loaded_on_cuda_predicts_as_on_the_cpu(cli_run: Path) -> None:
    x = torch.rand(100, 2, dtype=torch.float64)
    run = dp.load(cli_run, device="cuda")
    assert run.device.type == "cuda"
    torch.testing.assert_close(run.predict(x), dp.load(cli_run).predict(x), rtol=1e-12,
                               atol=1e-13)
    assert run.residuals(x)["pde"].shape == (100, 1)


def test_a_run_trained_under_ddp_on_gpus_loads_on_one_cpu(cli_run: Path, tmp_path: Path) -> None:
    import shutil

    import numpy as np

    copy = tmp_path / "run"
    shutil.copytree(cli_run, copy)
    config = copy / ".hydra" / "config.yaml"
    text = config.read_text()
    for old, new in [("accelerator: cpu", "accelerator: gpu"), ("devices: 1", "devices: 4"),
                     ("num_nodes: 1", "num_nodes: 2"), ("strategy: auto", "strategy: ddp")]:
        assert old in text
        text = text.replace(old, new)
    config.write_text(text)
    run = dp.load(copy)
    assert run.config is not None and run.config["trainer"]["strategy"] == "ddp"
    stored = np.load(copy / "predictions.npz")
    np.testing.assert_array_equal(run.predict(stored["points"]), stored["prediction"])
