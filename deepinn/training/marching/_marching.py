"""Time marching: a time-dependent problem trained window after window in time.

The time range ``[T0, T1]`` is cut into ``windows`` equal windows ``[t_k, t_k+1]``. Window ``k``
trains its own copy of the network on the problem restricted to it: every sampled constraint
draws its points as usual and has their time column mapped into the window
(:class:`TimeWindowMap`), the network sees the window's time stretched back onto ``[T0, T1]``
(:class:`~deepinn.training.WindowNetwork`, so its input normalisation and embeddings stay as
built), and the initial condition of window ``k > 0`` is the trained window ``k - 1`` at
``t_k`` (its value, and its time derivative where the condition prescribes a rate). The windows
together are one network, :class:`~deepinn.training.TimeMarchingNetwork`. A long horizon then
becomes a chain of short ones, each of which a PINN resolves (Wight & Zhao 2020, "Solving
Allen-Cahn and Cahn-Hilliard equations using the adaptive physics informed neural networks";
Mattey & Ghosh 2022, "A novel sequential method to train physics informed neural networks for
Allen Cahn and Cahn Hilliard equations").
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import torch

from deepinn._errors import ConfigurationError, Setting
from deepinn.constraints import (
    AbstractConstraint,
    DataConstraint,
    DirichletBC,
    InitialCondition,
    PDEConstraint,
    PeriodicBC,
    RobinBC,
)
from deepinn.problems import Problem

__all__ = ["TimeWindowMap", "time_column", "window_edges", "window_problem"]

NO_MARCHING = Setting("marching.windows", 1, python="marching={'windows': 1}")
"""The fix that trains the whole time range at once."""

# The constraints whose points a window can move (the rest is refused by name).
_MAPPED = (PDEConstraint, DirichletBC, RobinBC, PeriodicBC, InitialCondition)


def time_column(problem: Problem, time: str) -> tuple[int, float, float]:
    """The time column of ``problem``'s space and its range ``(column, T0, T1)``.

    Raises:
        ConfigurationError: The space has no coordinate ``time``, or its range is not finite.
    """
    names = problem.space.coordinate_names()
    if time not in names:
        raise ConfigurationError(
            f"marching.windows needs a time coordinate; problem {problem.name!r} has coordinates "
            f"{names} and no {time!r}. Name the time coordinate as marching.time, or train "
            "without time marching: {fix}",
            fix=[NO_MARCHING],
        )
    column = names.index(time)
    lower, upper = problem.domain.bounding_box()
    t0, t1 = float(lower[column]), float(upper[column])
    if not (t1 > t0 and torch.isfinite(torch.tensor([t0, t1])).all()):
        raise ConfigurationError(
            f"marching.windows: problem {problem.name!r} has the time range [{t0}, {t1}]; time "
            "marching needs a finite range of positive length."
        )
    return column, t0, t1


def window_edges(t0: float, t1: float, windows: int) -> list[float]:
    """``windows + 1`` equally spaced times from ``t0`` to ``t1``."""
    return [t0 + (t1 - t0) * k / windows for k in range(windows)] + [t1]


class TimeWindowMap:
    """Moves the time column of a point set from ``source = (T0, T1)`` onto ``target``.

    Set as a sampled constraint's ``point_map``: the sampler still draws on the whole time range,
    the constraint then sees points of the window (the same density, ``windows`` times denser in
    time).
    """

    def __init__(
        self, column: int, source: tuple[float, float], target: tuple[float, float]
    ) -> None:
        self.column, self.source, self.target = column, source, target

    def __call__(self, points: torch.Tensor) -> torch.Tensor:
        (s0, s1), (a, b) = self.source, self.target
        moved = points.clone()
        moved[:, self.column] = a + (points[:, self.column] - s0) * ((b - a) / (s1 - s0))
        return moved


def _frozen(network: torch.nn.Module) -> torch.nn.Module:
    frozen = copy.deepcopy(network).cpu().eval()
    for parameter in frozen.parameters():
        parameter.requires_grad_(False)
    return frozen


def _output_columns(problem: Problem, constraint: Any) -> list[int]:
    return [problem.outputs.index(name) for name in constraint.outputs]


def _continuity(
    previous: torch.nn.Module, columns: list[int]
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The previous window's outputs ``columns`` at the points (the condition's new value)."""

    def value(x: torch.Tensor) -> torch.Tensor:
        dtype = next(previous.parameters()).dtype
        with torch.no_grad():
            return previous(x.to(dtype))[:, columns].to(x.dtype)

    return value


def _continuity_rate(
    previous: torch.nn.Module, columns: list[int], column: int
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The previous window's time derivative of outputs ``columns`` at the points."""

    def rate(x: torch.Tensor) -> torch.Tensor:
        dtype = next(previous.parameters()).dtype
        with torch.enable_grad():
            z = x.detach().to(dtype).requires_grad_(True)
            u = previous(z)
            parts = [
                torch.autograd.grad(u[:, j].sum(), z, retain_graph=True)[0][:, column]
                for j in columns
            ]
        return torch.stack(parts, dim=1).detach().to(x.dtype)

    return rate


def _in_window(
    t: torch.Tensor, window: tuple[float, float], span: tuple[float, float]
) -> torch.Tensor:
    """Which times belong to ``window``: ``t_k <= t < t_k+1``, the first window open below and
    the last one open above (as :class:`TimeMarchingNetwork` answers them)."""
    lower = t >= window[0] if window[0] > span[0] else torch.ones_like(t, dtype=torch.bool)
    upper = t < window[1] if window[1] < span[1] else torch.ones_like(t, dtype=torch.bool)
    return lower & upper


def _check_draws(constraint: AbstractConstraint, column: int, span: tuple[float, float]) -> None:
    """Refuse a constraint on the whole time range whose points are not spread over it: one that
    also draws on the initial or final face (a space-time boundary), or only part of the range
    (a ``where:`` filter, a domain that is not a product with the time interval)."""
    sampler: Any = getattr(constraint, "sampler", None)
    t = sampler.sample_points(torch.Generator().manual_seed(0)).as_tensor[:, column].double()
    close = 1e-6 * max(1.0, abs(span[0]), abs(span[1]))  # the points may be float32
    on_faces = ((t - span[0]).abs() <= close) | ((t - span[1]).abs() <= close)
    if float(on_faces.double().mean()) > 0.01:  # not a quasi-random sequence's corner point
        raise _refuse(
            constraint,
            f"draws points on the face t = {span[0]} or t = {span[1]} as well as inside the time "
            "range (the whole boundary of a space-time domain?): in a window they would keep "
            "their values there. Give the initial face its own condition (an InitialCondition) "
            "and this one the lateral boundary.",
        )
    part = 0.25 * (span[1] - span[0])
    if len(t) >= 20 and (float(t.min()) > span[0] + part or float(t.max()) < span[1] - part):
        raise _refuse(
            constraint,
            f"draws times in [{float(t.min()):.4g}, {float(t.max()):.4g}] only, of the range "
            f"[{span[0]}, {span[1]}] (a where: filter, or a domain that is not a product with the "
            "time interval): time marching would move them into every window.",
        )


def _time_extent(constraint: AbstractConstraint, time: str) -> tuple[float, float] | None:
    """The time range a sampled constraint's points cover (None: its sampler has no time)."""
    domain = getattr(getattr(constraint, "sampler", None), "domain", None)
    names = domain.space.coordinate_names() if domain is not None else []
    if domain is None or time not in names:
        return None
    if names != constraint.space.coordinate_names():
        raise ConfigurationError(
            f"Time marching: constraint {constraint.name!r} draws points in coordinates {names}, "
            f"not those of the problem {constraint.space.coordinate_names()}; time marching "
            "cannot move its time. Train without time marching: {fix}",
            fix=[NO_MARCHING],
        )
    lower, upper = domain.bounding_box()
    column = names.index(time)
    return float(lower[column]), float(upper[column])


def _refuse(constraint: AbstractConstraint, why: str) -> ConfigurationError:
    return ConfigurationError(
        f"Time marching: constraint {constraint.name!r} ({type(constraint).__name__}) {why} Train "
        "without it (a weight of 0 does not remove it) or without time marching: {fix}",
        fix=[NO_MARCHING],
    )


def _window_constraint(
    constraint: AbstractConstraint,
    problem: Problem,
    time: str,
    span: tuple[float, float],
    window: tuple[float, float],
    previous: torch.nn.Module | None,
) -> AbstractConstraint | None:
    """``constraint`` restricted to ``window`` (None: it has no point there)."""
    column = problem.space.coordinate_names().index(time)
    close = 1e-9 * max(1.0, abs(span[1] - span[0]))
    if isinstance(constraint, DataConstraint):
        inside = _in_window(constraint.points[:, column], window, span)
        if not bool(inside.any()):
            return None
        cut = copy.copy(constraint)
        cut.points, cut.values = constraint.points[inside], constraint.values[inside]
        return cut
    if not isinstance(constraint, _MAPPED):
        raise _refuse(
            constraint,
            "is not one of the constraints time marching can restrict to a window (PDE, "
            "Dirichlet, Neumann, Robin, periodic, initial, data).",
        )
    moved: Any = copy.copy(constraint)
    if isinstance(constraint, InitialCondition):
        if abs(constraint.t0 - span[0]) > close:
            raise _refuse(constraint, f"holds at t = {constraint.t0}, not at the start {span[0]}.")
        if previous is not None:
            columns = _output_columns(problem, constraint)
            moved.t0 = window[0]
            moved.value = _continuity(previous, columns)
            if constraint.rate is not None:
                moved.rate = _continuity_rate(previous, columns, column)
        return moved
    extent = _time_extent(constraint, time)
    if extent is None:
        raise _refuse(constraint, f"draws points without the time coordinate {time!r}.")
    lower, upper = extent
    if abs(lower - span[0]) <= close and abs(upper - span[1]) <= close:
        _check_draws(constraint, column, span)
        moved.point_map = TimeWindowMap(column, span, window)
        return moved
    if abs(upper - lower) <= close and abs(lower - span[0]) <= close:
        if type(constraint) is not DirichletBC:
            raise _refuse(constraint, "prescribes a derivative at the initial time.")
        if previous is not None:
            moved.value = _continuity(previous, _output_columns(problem, constraint))
        shifted = (window[0], window[0] + span[1] - span[0])  # t0 -> the window's start
        moved.point_map = TimeWindowMap(column, span, shifted)
        return moved
    raise _refuse(
        constraint,
        f"covers the times [{lower}, {upper}], neither the whole range [{span[0]}, {span[1]}] nor "
        "its start.",
    )


def window_problem(
    problem: Problem,
    time: str,
    edges: Sequence[float],
    index: int,
    previous: torch.nn.Module | None,
    eval_points: int,
) -> Problem:
    """``problem`` on window ``index`` of ``edges``, continuing from the network ``previous``.

    Its evaluation set is the part of the problem's set in the window (exact or reference
    values).

    Raises:
        ConfigurationError: The problem has an output transform or learnable coefficients, or a
            constraint that cannot be restricted to a window (the message names it).
    """
    if problem.output_transform is not None:
        raise ConfigurationError(
            f"Time marching: problem {problem.name!r} has an output_transform (exact conditions) "
            "that holds the initial condition at the start of the whole range, not of each "
            "window. Switch the exact conditions off (a built-in problem: "
            "problem.exact_conditions=false; problem=custom: remove problem.output_transform) or "
            "train without time marching: {fix}",
            fix=[NO_MARCHING],
        )
    if problem.parameters:
        raise ConfigurationError(
            f"Time marching: problem {problem.name!r} learns coefficients "
            f"{sorted(problem.parameters)}; each window would find its own. Train an inverse "
            "problem without time marching: {fix}",
            fix=[NO_MARCHING],
        )
    column = problem.space.coordinate_names().index(time)
    span = (float(edges[0]), float(edges[-1]))
    window = (float(edges[index]), float(edges[index + 1]))
    frozen = _frozen(previous) if previous is not None else None
    constraints = [
        moved
        for constraint in problem.constraints
        if (moved := _window_constraint(constraint, problem, time, span, window, frozen))
        is not None
    ]
    points, values = problem.evaluation_set(eval_points)
    reference = None
    if values is not None:
        inside = _in_window(points[:, column], window, span)
        if bool(inside.any()):
            reference = (points[inside], values[inside])
    return Problem(
        f"{problem.name}[window {index}]",
        problem.domain,
        constraints,
        outputs=problem.outputs,
        reference=reference,
    )
