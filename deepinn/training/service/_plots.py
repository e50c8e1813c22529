"""Figures of sample points and of the solution, exact solution and error (matplotlib, headless)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import torch
from matplotlib.figure import Figure

from deepinn.problems import Problem

__all__ = ["points_figure", "solution_figure", "solution_grid"]

Predict = Callable[[torch.Tensor], torch.Tensor]


def points_figure(points: Mapping[str, torch.Tensor], coordinate_names: list[str]) -> Figure:
    """A scatter plot of each constraint's points (first two or three coordinates)."""
    dim = len(coordinate_names)
    figure = Figure(figsize=(6, 5))
    axes = figure.add_subplot(projection="3d" if dim >= 3 else None)
    for name, tensor in points.items():
        x = tensor.detach().cpu().numpy()
        if dim == 1:
            axes.scatter(x[:, 0], np.zeros(len(x)), s=4, label=name)
        elif dim == 2:
            axes.scatter(x[:, 0], x[:, 1], s=4, label=name)
        else:
            axes.scatter(x[:, 0], x[:, 1], zs=x[:, 2], s=2, label=name)  # 3-D axes
    axes.set_xlabel(coordinate_names[0])
    if dim >= 2:
        axes.set_ylabel(coordinate_names[1])
    axes.legend(loc="best", fontsize="small", markerscale=3)
    axes.set_title("sample points")
    figure.tight_layout()
    return figure


def solution_grid(
    problem: Problem, resolution: int = 101
) -> tuple[torch.Tensor, np.ndarray, tuple[int, ...]]:
    """A float64 grid over the domain's bounding box (for 3-D: the mid slice of the last axis).

    Returns the grid points (M, d), a boolean mask of points inside the domain, and the image
    shape.
    """
    lower, upper = (t.to(torch.float64) for t in problem.domain.bounding_box())
    dim = problem.domain.dim
    if dim == 1:
        grid = torch.linspace(lower[0], upper[0], resolution * 4).unsqueeze(1)
        shape: tuple[int, ...] = (resolution * 4,)
    else:
        axes = [torch.linspace(lower[i], upper[i], resolution) for i in range(2)]
        mesh = torch.meshgrid(*axes, indexing="xy")
        grid = torch.stack([m.reshape(-1) for m in mesh], dim=1)
        if dim == 3:
            mid = float((lower[2] + upper[2]) / 2)
            middle = torch.full((len(grid), 1), mid, dtype=torch.float64)
            grid = torch.cat([grid, middle], dim=1)
        elif dim > 3:
            rest = ((lower[3:] + upper[3:]) / 2).expand(len(grid), dim - 3)
            grid = torch.cat([grid, ((lower[2] + upper[2]) / 2).expand(len(grid), 1), rest], dim=1)
        shape = (resolution, resolution)
    mask = problem.domain.contains(grid).cpu().numpy().astype(bool)
    return grid, mask, shape


def solution_figure(problem: Problem, predict: Predict, output: int = 0) -> Figure:
    """Predicted, exact (if known) and absolute-error plots of one output."""
    grid, mask, shape = solution_grid(problem)
    prediction = predict(grid)[:, output].detach().cpu().to(torch.float64).numpy()
    exact = None
    if problem.exact is not None:
        with torch.no_grad():
            exact_values = torch.as_tensor(problem.exact(grid)).reshape(len(grid), -1)
        exact = exact_values[:, output].cpu().numpy()
    names = problem.space.coordinate_names()
    panels = [("prediction", prediction)]
    if exact is not None:
        panels += [("exact", exact), ("|error|", np.abs(prediction - exact))]
    figure = Figure(figsize=(4.2 * len(panels), 3.6))
    label = problem.outputs[output]
    for index, (title, values) in enumerate(panels, start=1):
        axes = figure.add_subplot(1, len(panels), index)
        if len(shape) == 1:
            x = grid[:, 0].numpy()
            axes.plot(x[mask], values[mask])
            axes.set_xlabel(names[0])
        else:
            image = np.where(mask, values, np.nan).reshape(shape)
            lower, upper = problem.domain.bounding_box()
            extent = (float(lower[0]), float(upper[0]), float(lower[1]), float(upper[1]))
            shown = axes.imshow(image, origin="lower", extent=extent, aspect="auto", cmap="viridis")
            figure.colorbar(shown, ax=axes)
            axes.set_xlabel(names[0])
            axes.set_ylabel(names[1])
        suffix = f" ({names[2]} = mid slice)" if problem.domain.dim >= 3 else ""
        axes.set_title(f"{label}: {title}{suffix}")
    figure.tight_layout()
    return figure
