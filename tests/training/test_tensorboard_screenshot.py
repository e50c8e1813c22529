"""scripts/tensorboard_screenshot.py on a short run: TensorBoard served and photographed by
headless Chromium (skipped where no Chromium is installed, as on CI)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from square_poisson import square_poisson

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

    problem, net = square_poisson()
    fit(problem, net, max_steps=20, run_dir=tmp_path / "run", eval_points=256,
        trainer_options={"enable_progress_bar": False})

    paths = script.take_screenshots(tmp_path / "run", tmp_path / "shots")
    assert [p.name for p in paths] == ["timeseries.png", "scalars.png", "images.png"]
    for path in paths:
        with Image.open(path) as image:
            assert image.size == (1400, 1000)
            # not a blank page: TensorBoard's header, cards and curves are drawn
            assert max(ImageStat.Stat(image.convert("L")).stddev) > 20, path
