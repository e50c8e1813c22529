"""scripts/tensorboard_screenshot.py on a short run: TensorBoard served and photographed by
headless Chromium (skipped where no Chromium is installed, as on CI)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
import torch

import deepinn as dp
from deepinn.constraints import DirichletBC, PDEConstraint
from deepinn.training import fit

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "tensorboard_screenshot.py"


def _script():
    spec = importlib.util.spec_from_file_location("tensorboard_screenshot", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_the_dashboards_are_photographed(tmp_path):
    script = _script()
    if script.find_chromium() is None:
        pytest.skip("no Chromium on PATH (apt-get install chromium): nothing to photograph with")
    pytest.importorskip("PIL", reason="Pillow reads the screenshots")
    from PIL import Image, ImageStat

    square = dp.domains.Parallelogram(dp.spaces.R2("x"), (0.0, 0.0), (1.0, 0.0), (0.0, 1.0))
    exact = lambda x: torch.sin(math.pi * x[:, :1]) * torch.sin(math.pi * x[:, 1:])  # noqa: E731
    pde = PDEConstraint(
        "pde", dp.samplers.RandomUniformSampler(square, 64),
        residual=lambda f: -f.laplacian("u") / (2 * math.pi**2), source=exact,
    )
    boundary = DirichletBC(
        "boundary", dp.samplers.RandomUniformSampler(square.boundary, 32), value=exact
    )
    problem = dp.Problem("square", square, [pde, boundary], exact=exact)
    net = dp.nn.FullyConnected([2, 8, 1], "tanh", bounds=square.bounding_box())
    fit(problem, net, max_steps=20, run_dir=tmp_path / "run", eval_points=256,
        trainer_options={"enable_progress_bar": False})

    paths = script.take_screenshots(tmp_path / "run", tmp_path / "shots")
    assert [p.name for p in paths] == ["timeseries.png", "scalars.png", "images.png"]
    for path in paths:
        with Image.open(path) as image:
            assert image.size == (1400, 1000)
            # not a blank page: TensorBoard's header, cards and curves are drawn
            assert max(ImageStat.Stat(image.convert("L")).stddev) > 20, path
