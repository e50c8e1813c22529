"""The figures: equal aspect for space, curves for one space coordinate, loss curves, and
matplotlib and TensorBoard imported only when something is drawn or logged."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import torch

import deepinn as dp
from deepinn.constraints import PDEConstraint
from deepinn.training.service._plots import (
    SLICES,
    figure_image,
    loss_figure,
    points_figure,
    solution_figure,
)


def _problem(domain, exact):
    sampler = dp.samplers.RandomUniformSampler(domain, 16)
    pde = PDEConstraint("pde", sampler, residual=lambda f: f.laplacian("u"), source=exact)
    return dp.Problem("demo", domain, [pde], exact=exact)


def _near(exact):
    return lambda x: exact(x) + 0.01


def _lines(axes):
    return sorted(line.get_label() for line in axes.get_lines())


def test_points_in_space_are_drawn_with_equal_aspect():
    angle = torch.linspace(0, 2 * math.pi, 50)
    circle = torch.stack([2 * angle.cos(), 2 * angle.sin()], dim=1)  # radius 2: a circle
    figure = points_figure({"boundary": circle, "pde": 0.5 * circle}, ["x0", "x1"])
    assert figure.axes[0].get_aspect() == 1.0
    assert [t.get_text() for t in figure.axes[0].get_legend().get_texts()] == ["boundary", "pde"]


def test_points_against_time_keep_their_own_scales():
    points = torch.rand(20, 2) * torch.tensor([1.0, 10.0])
    assert points_figure({"pde": points}, ["x", "t"]).axes[0].get_aspect() == "auto"


def test_a_field_over_a_disk_is_round_and_compared_on_one_colour_scale():
    disk = dp.domains.Circle(dp.spaces.R2("x"), (0.0, 0.0), 1.0)
    exact = lambda x: (1 - (x**2).sum(1, keepdim=True)) / 4  # noqa: E731
    figure = solution_figure(_problem(disk, exact), _near(exact))
    images = [axes for axes in figure.axes if axes.get_images()]
    assert [axes.get_title() for axes in images] == ["u: prediction", "exact", "|error|"]
    assert all(axes.get_aspect() == 1.0 for axes in images)
    prediction, exact_image = (axes.get_images()[0] for axes in images[:2])
    assert prediction.get_clim() == exact_image.get_clim()
    assert "rel. L2" in figure.get_suptitle()
    height, width, channels = figure_image(figure).shape
    assert channels == 3 and 1.8 < width / height < 2.8  # the shape of TensorBoard's card


def test_one_space_coordinate_overlays_prediction_and_exact():
    interval = dp.domains.Interval(dp.spaces.R1("x"), 0.0, 1.0)
    exact = lambda x: torch.sin(math.pi * x)  # noqa: E731
    figure = solution_figure(_problem(interval, exact), _near(exact))
    assert _lines(figure.axes[0]) == ["exact", "prediction"]
    assert figure.axes[1].get_ylabel() == "|error|"


def test_space_and_time_overlays_prediction_and_exact_at_a_few_times():
    box = dp.domains.Interval(dp.spaces.R1("x"), -1.0, 1.0) * dp.domains.Interval(
        dp.spaces.R1("t"), 0.0, 2.0
    )
    exact = lambda x: torch.sin(math.pi * x[:, :1]) * torch.exp(-x[:, 1:])  # noqa: E731
    figure = solution_figure(_problem(box, exact), _near(exact))
    assert len(figure.axes) == SLICES
    assert [axes.get_title() for axes in figure.axes] == ["t = 0", "t = 1", "t = 2"]
    assert all(_lines(axes) == ["exact", "prediction"] for axes in figure.axes)


def test_the_loss_figure_draws_each_loss_and_the_errors_on_log_scales():
    steps = [0, 10, 20]
    figure = loss_figure(
        steps, {"total": [1.0, 0.1, 0.01], "pde": [0.5, math.nan, 0.005]}, [10, 20],
        {"rel_l2": [0.3, 0.03]},
    )
    losses, errors = figure.axes
    assert losses.get_yscale() == errors.get_yscale() == "log"
    assert _lines(losses) == ["pde", "total"] and _lines(errors) == ["rel_l2"]
    assert len(loss_figure(steps, {"total": [1.0, 0.5, 0.2]}).axes) == 1


LAZY = """
import builtins, json, os, sys, tempfile

# Lightning imports torchmetrics, which imports matplotlib.pyplot whenever it is installed: what
# is checked is that deepinn's own code imports matplotlib only to draw a figure.
package = os.path.dirname(__import__("deepinn").__file__)
by_deepinn = set()
original = builtins.__import__

def spy(name, globals=None, locals=None, fromlist=(), level=0):
    caller = sys._getframe(1).f_code.co_filename
    if name.startswith("matplotlib") and caller.startswith(package):
        by_deepinn.add(name)
    return original(name, globals, locals, fromlist, level)

builtins.__import__ = spy
import deepinn as dp
from deepinn.constraints import PDEConstraint
from deepinn.training import fit

interval = dp.domains.Interval(dp.spaces.R1("x"), 0.0, 1.0)
sampler = dp.samplers.GridSampler(interval, 8)
pde = PDEConstraint("pde", sampler, residual=lambda f: f.laplacian("u"))
problem = dp.Problem("lazy", interval, [pde])
net = dp.nn.FullyConnected([1, 4, 1], "tanh")
logging = ("tensorboard", "torch.utils.tensorboard", "tensorboardX")
seen = {}
options = {"enable_progress_bar": False}
fit(problem, net, max_steps=2, trainer_options=options)
seen["no folder"] = sorted(by_deepinn) + [m for m in logging if m in sys.modules]
with tempfile.TemporaryDirectory() as folder:
    fit(problem, net, max_steps=2, run_dir=folder, logger=False, trainer_options=options)
seen["folder, no logger"] = [m for m in logging if m in sys.modules]
seen["drawn"] = bool(by_deepinn)
print(json.dumps(seen))
"""


def test_matplotlib_and_tensorboard_are_imported_only_when_used():
    done = subprocess.run(
        [sys.executable, "-c", LAZY], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["no folder"] == []  # nothing drawn, nothing logged
    assert seen["folder, no logger"] == []  # plots/ drawn, nothing logged
    assert seen["drawn"]  # the spy saw deepinn import matplotlib for plots/


@pytest.fixture(autouse=True)
def _no_pyplot_windows(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
