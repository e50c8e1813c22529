"""Figures of sample points, of the solution against the exact one, and of the loss curves.

matplotlib is imported when a figure is drawn, never at import. Every figure is sized and lettered
to be read at TensorBoard's default card size (an image area of about 390 x 210 pixels): a wide
figure of one row of panels, large type, few and short tick labels. Sample points and 2-D fields
are drawn with equal aspect (a circle is round) unless one axis is time (a coordinate named
``t``). A problem with one space coordinate overlays prediction and exact as curves (at three
times for an ``x, t`` problem).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from deepinn.problems import Problem

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "TIME",
    "figure_image",
    "loss_figure",
    "points_figure",
    "solution_figure",
    "solution_grid",
]

Predict = Callable[[torch.Tensor], torch.Tensor]

TIME = "t"
"""The coordinate name read as time: plotted along its own scale, never with equal aspect."""

WIDTH, HEIGHT = 7.2, 3.1
"""Size in inches (at 100 dpi) of a solution figure: the shape of TensorBoard's image card."""

TITLE, LABEL, TICKS = 17, 15, 13
"""Font sizes (points) of titles, axis labels and legends, and tick labels."""

SLICES = 3
"""Time slices drawn for a problem with one space coordinate and time."""


def _figure(height: float, width: float = WIDTH) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def _finish(figure: Figure) -> Figure:
    """Large tick labels on every axes (colour bars included) and a tight layout."""
    for axes in figure.axes:
        axes.tick_params(labelsize=TICKS)
        for axis in (axes.xaxis, axes.yaxis):
            axis.label.set_fontsize(LABEL)
            axis.get_offset_text().set_fontsize(TICKS)
        axes.title.set_fontsize(TITLE)
    figure.tight_layout(pad=0.4)
    return figure


def figure_image(figure: Figure) -> np.ndarray:
    """``figure`` rendered as an (H, W, 3) uint8 array (TensorBoard's ``add_image``, HWC)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[:, :, :3].copy()


def _equal_aspect(axes: Axes, names: Sequence[str], extent: Sequence[float]) -> None:
    """Equal aspect for two space coordinates whose ranges differ at most tenfold."""
    width, height = extent[1] - extent[0], extent[3] - extent[2]
    if TIME not in names and width > 0 and height > 0 and 0.1 <= height / width <= 10:
        axes.set_aspect("equal", adjustable="box")


def points_figure(points: Mapping[str, torch.Tensor], coordinate_names: list[str]) -> Figure:
    """A scatter plot of each constraint's points (first two or three coordinates), one colour
    and one legend entry per constraint, equal aspect for space coordinates."""
    dim = len(coordinate_names)
    figure = _figure(4.6, 5.6)
    axes = figure.add_subplot(projection="3d" if dim >= 3 else None)
    arrays = {name: tensor.detach().cpu().numpy() for name, tensor in points.items()}
    for name, x in arrays.items():
        size = 6 if len(x) < 5000 else 2
        if dim == 1:
            axes.scatter(x[:, 0], np.zeros(len(x)), s=size, label=name)
        elif dim == 2:
            axes.scatter(x[:, 0], x[:, 1], s=size, label=name)
        else:
            axes.scatter(x[:, 0], x[:, 1], zs=x[:, 2], s=size, label=name)  # 3-D axes
    axes.set_xlabel(coordinate_names[0])
    if dim == 1:
        axes.set_yticks([])
    elif arrays:
        stacked = np.concatenate(list(arrays.values()))
        low, high = stacked.min(axis=0), stacked.max(axis=0)
        if dim == 2:
            axes.set_ylabel(coordinate_names[1])
            _equal_aspect(axes, coordinate_names[:2], (low[0], high[0], low[1], high[1]))
        else:
            axes.set_ylabel(coordinate_names[1])
            if TIME not in coordinate_names[:3]:
                axes.set_box_aspect(tuple(np.maximum(high[:3] - low[:3], 1e-12)))  # type: ignore[arg-type]
    axes.legend(
        loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(len(arrays), 3) or 1,
        fontsize=LABEL, markerscale=3, frameon=False,
    )
    return _finish(figure)


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
        if dim > 2:
            middle = ((lower[2:] + upper[2:]) / 2).expand(len(grid), dim - 2)
            grid = torch.cat([grid, middle], dim=1)
        shape = (resolution, resolution)
    mask = problem.domain.contains(grid).cpu().numpy().astype(bool)
    return grid, mask, shape


def _values(
    problem: Problem, predict: Predict, grid: torch.Tensor, output: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """The prediction and (if known) the exact solution of ``output`` at ``grid``."""
    prediction = predict(grid)[:, output].detach().cpu().to(torch.float64).numpy()
    if problem.exact is None:
        return prediction, None
    with torch.no_grad():
        exact = torch.as_tensor(problem.exact(grid)).reshape(len(grid), -1)
    return prediction, exact[:, output].detach().cpu().to(torch.float64).numpy()


def _summary(prediction: np.ndarray, exact: np.ndarray) -> str:
    error = prediction - exact
    norm = float(np.linalg.norm(exact))
    rel = float(np.linalg.norm(error)) / norm if norm > 0 else float("nan")
    return f"rel. L2 {rel:.2e}, max |error| {float(np.abs(error).max()):.2e}"


def solution_figure(problem: Problem, predict: Predict, output: int = 0) -> Figure:
    """Prediction, exact solution (if known) and error of one output.

    One space coordinate: prediction and exact overlaid as curves, and the error; one space
    coordinate and time: the same overlay at three times. Otherwise images over the first two
    coordinates (the others at the middle of their range): prediction and exact on one colour
    scale, and the absolute error; the relative L2 and largest error in the title.
    """
    names = problem.space.coordinate_names()
    label = problem.outputs[output]
    if problem.domain.dim == 1:
        return _line_figure(problem, predict, output, names[0], label)
    if problem.domain.dim == 2 and TIME in names:
        return _slices_figure(problem, predict, output, names, label)
    return _image_figure(problem, predict, output, names, label)


def _line_figure(problem: Problem, predict: Predict, output: int, name: str, label: str) -> Figure:
    grid, mask, _ = solution_grid(problem)
    prediction, exact = _values(problem, predict, grid, output)
    x = grid[:, 0].numpy()
    figure = _figure(HEIGHT)
    axes = figure.add_subplot(1, 2 if exact is not None else 1, 1)
    axes.plot(x[mask], prediction[mask], lw=2.5, label="prediction")
    axes.set_xlabel(name)
    axes.set_ylabel(label)
    if exact is not None:
        axes.plot(x[mask], exact[mask], "k--", lw=1.8, label="exact")
        error_axes = figure.add_subplot(1, 2, 2)
        error_axes.plot(x[mask], np.abs(prediction - exact)[mask], color="C3", lw=2)
        error_axes.set_ylabel("|error|")
        error_axes.set_xlabel(name)
        error_axes.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
        figure.suptitle(_summary(prediction[mask], exact[mask]), fontsize=LABEL)
    axes.legend(fontsize=TICKS, frameon=False)
    return _finish(figure)


def _slices_figure(
    problem: Problem, predict: Predict, output: int, names: list[str], label: str
) -> Figure:
    time = names.index(TIME)
    space = 1 - time
    lower, upper = (t.to(torch.float64) for t in problem.domain.bounding_box())
    x = torch.linspace(lower[space], upper[space], 201, dtype=torch.float64)
    figure = _figure(HEIGHT)
    first: Axes | None = None
    for index, fraction in enumerate(np.linspace(0.0, 1.0, SLICES)):
        t = float(lower[time] + fraction * (upper[time] - lower[time]))
        grid = torch.empty(len(x), 2, dtype=torch.float64)
        grid[:, space], grid[:, time] = x, t
        mask = problem.domain.contains(grid).cpu().numpy().astype(bool)
        prediction, exact = _values(problem, predict, grid, output)
        axes = figure.add_subplot(1, SLICES, index + 1, sharey=first)
        axes.plot(x.numpy()[mask], prediction[mask], lw=2.5, label="prediction")
        if exact is not None:
            axes.plot(x.numpy()[mask], exact[mask], "k--", lw=1.8, label="exact")
        axes.set_title(f"{TIME} = {t:.3g}")
        axes.set_xlabel(names[space])
        axes.xaxis.set_major_locator(_ticks(3))
        if first is None:
            first = axes
            axes.set_ylabel(label)
            axes.legend(fontsize=TICKS, frameon=False)
        else:
            axes.tick_params(labelleft=False)
    return _finish(figure)


def _image_figure(
    problem: Problem, predict: Predict, output: int, names: list[str], label: str
) -> Figure:
    grid, mask, shape = solution_grid(problem)
    prediction, exact = _values(problem, predict, grid, output)
    lower, upper = problem.domain.bounding_box()
    extent = (float(lower[0]), float(upper[0]), float(lower[1]), float(upper[1]))
    panels = [(f"{label}: prediction", prediction)]
    if exact is not None:
        panels += [("exact", exact), ("|error|", np.abs(prediction - exact))]
    inside = [values[mask] for _, values in panels[:2]]
    limits = (min(v.min() for v in inside), max(v.max() for v in inside)) if mask.any() else None
    figure = _figure(HEIGHT, WIDTH if exact is not None else WIDTH / 2)
    for index, (title, values) in enumerate(panels, start=1):
        axes = figure.add_subplot(1, len(panels), index)
        image = np.where(mask, values, np.nan).reshape(shape)
        scale = limits if index <= 2 and limits is not None else (None, None)
        shown = axes.imshow(
            image, origin="lower", extent=extent, cmap="magma" if index == 3 else "viridis",
            vmin=scale[0], vmax=scale[1],
        )
        axes.set_aspect("auto")
        _equal_aspect(axes, names[:2], extent)
        bar = figure.colorbar(shown, ax=axes, fraction=0.046, pad=0.03, format="%.2g")
        bar.locator = _ticks(3)
        bar.update_ticks()
        axes.set_title(title)
        axes.set_xticks([])
        axes.set_yticks([])
        axes.set_xlabel(names[0])
        if index == 1:
            axes.set_ylabel(names[1])
    notes = [f"{', '.join(names[2:])} at mid range"] if len(names) > 2 else []
    if exact is not None:
        notes.insert(0, _summary(prediction[mask], exact[mask]))
    if notes:
        figure.suptitle("; ".join(notes), fontsize=LABEL)
    return _finish(figure)


def _ticks(count: int) -> Any:
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(count)


def loss_figure(
    steps: Sequence[int],
    losses: Mapping[str, Sequence[float]],
    val_steps: Sequence[int] = (),
    errors: Mapping[str, Sequence[float]] | None = None,
) -> Figure:
    """The loss curves (total and each constraint's, log scale) and, when measured, the
    validation errors (log scale) against the optimizer step."""
    errors = {k: v for k, v in (errors or {}).items() if len(v)}
    panels = 2 if errors and len(val_steps) else 1
    figure = _figure(4.6, 6.0 * panels)
    axes = figure.add_subplot(1, panels, 1)
    for name, values in sorted(losses.items(), key=lambda item: item[0] != "total"):
        style = {"color": "k", "lw": 2.5} if name == "total" else {"lw": 1.6}
        axes.semilogy(steps, _positive(values), label=name, **style)
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.set_title("training loss")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize=TICKS, frameon=False)
    if panels == 2:
        axes = figure.add_subplot(1, 2, 2)
        for name, values in errors.items():
            axes.semilogy(val_steps, _positive(values), marker="o", ms=4, label=name)
        axes.set_xlabel("step")
        axes.set_ylabel("error")
        axes.set_title("validation")
        axes.grid(True, which="major", alpha=0.3)
        axes.legend(fontsize=TICKS, frameon=False)
    return _finish(figure)


def _positive(values: Sequence[float]) -> np.ndarray:
    """``values`` with every non-positive or non-finite entry hidden (NaN) on a log scale."""
    array = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(array) & (array > 0), array, np.nan)
