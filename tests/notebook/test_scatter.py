"""dp.utils.scatter: a matplotlib Figure of sampled points, 1-D to 3-D."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

import deepinn as dp
from deepinn.domains import Circle, Interval, Parallelogram, Sphere
from deepinn.samplers import GridSampler, RandomUniformSampler
from deepinn.spaces import R1, R2, R3

X = R2("x")


def _offsets(figure: Figure) -> list[np.ndarray]:
    return [np.asarray(c.get_offsets()) for c in figure.axes[0].collections]


def test_scatter_draws_a_sampler_in_2d(tmp_path: Path) -> None:
    square = Parallelogram(X, [0, 0], [1, 0], [0, 1])
    figure = dp.utils.scatter(X, RandomUniformSampler(square, n_points=100, seed=0))
    assert isinstance(figure, Figure)
    (offsets,) = _offsets(figure)
    assert offsets.shape == (100, 2)
    figure.savefig(tmp_path / "points.png")
    assert (tmp_path / "points.png").stat().st_size > 0


def test_scatter_draws_several_sources_with_labels() -> None:
    circle = Circle(X, [0, 0], 1.0)
    figure = dp.utils.scatter(
        X,
        RandomUniformSampler(circle, 20, seed=0),
        GridSampler(circle.boundary, 10, seed=0).sample_points(),
        torch.zeros(5, 2),
        labels=["interior", "boundary", "origin"],
    )
    assert [len(o) for o in _offsets(figure)] == [20, 10, 5]
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert legend == ["interior", "boundary", "origin"]


def test_scatter_draws_1d_points_on_a_line() -> None:
    figure = dp.utils.scatter(R1("t"), RandomUniformSampler(Interval(R1("t"), 0, 1), 15, seed=0))
    (offsets,) = _offsets(figure)
    assert offsets.shape == (15, 2)
    assert np.all(offsets[:, 1] == 0)


def test_scatter_draws_3d_points() -> None:
    figure = dp.utils.scatter(
        R3("x"), RandomUniformSampler(Sphere(R3("x"), [0, 0, 0], 1), 30, seed=0)
    )
    assert figure.axes[0].name == "3d"


def test_scatter_picks_the_variables_of_the_space() -> None:
    cylinder = Circle(X, [0, 0], 1.0) * Interval(R1("t"), 0, 1)
    points = RandomUniformSampler(cylinder, 25, seed=0).sample_points()
    (offsets,) = _offsets(dp.utils.scatter(X, points))
    assert np.allclose(offsets, points["x"].numpy())


def test_scatter_rejects_more_than_three_coordinates() -> None:
    with pytest.raises(dp.ShapeError, match="1-, 2- or 3-D"):
        dp.utils.scatter(dp.spaces.Rn("x", 4), torch.zeros(3, 4))


def test_scatter_rejects_points_of_the_wrong_width() -> None:
    with pytest.raises(dp.ShapeError, match=r"need shape \(N, 2\)"):
        dp.utils.scatter(X, torch.zeros(3, 3))


def test_scatter_needs_one_label_per_source() -> None:
    with pytest.raises(dp.ConfigurationError, match="2 labels for 1 point sets"):
        dp.utils.scatter(X, torch.zeros(3, 2), labels=["a", "b"])
