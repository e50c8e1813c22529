"""Built-in plugin: the domains interval, parallelogram, circle, triangle, polygon, box, sphere.

Every factory is ``factory(params) -> AbstractDomain``; it builds the space
``Rn(params.variable, dim)`` and the domain in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import ListConfig

from deepinn._errors import ConfigurationError
from deepinn.domains._abstract import AbstractDomain
from deepinn.domains._ball import Circle, Sphere
from deepinn.domains._parallelotope import Box, Interval, Parallelogram
from deepinn.domains._polygon import Polygon
from deepinn.domains._triangle import Triangle
from deepinn.plugins._hookspecs import hookimpl
from deepinn.plugins._registration import Registration
from deepinn.spaces import Rn


def _l_shape() -> list[list[float]]:
    return [[0.0, 0.0], [1.0, 0.0], [1.0, 0.5], [0.5, 0.5], [0.5, 1.0], [0.0, 1.0]]


@dataclass
class IntervalParams:
    """The interval ``[lower, upper]`` of the 1-D variable ``variable``."""

    lower: float = 0.0
    upper: float = 1.0
    variable: str = "x"


@dataclass
class ParallelogramParams:
    """A parallelogram from ``origin`` to ``corner1`` and ``corner2`` (default: unit square)."""

    origin: list[float] = field(default_factory=lambda: [0.0, 0.0])
    corner1: list[float] = field(default_factory=lambda: [1.0, 0.0])
    corner2: list[float] = field(default_factory=lambda: [0.0, 1.0])
    variable: str = "x"


@dataclass
class CircleParams:
    """The disk of ``center`` and ``radius``."""

    center: list[float] = field(default_factory=lambda: [0.5, 0.5])
    radius: float = 0.5
    variable: str = "x"


@dataclass
class TriangleParams:
    """The triangle with corners ``a``, ``b``, ``c``."""

    a: list[float] = field(default_factory=lambda: [0.0, 0.0])
    b: list[float] = field(default_factory=lambda: [1.0, 0.0])
    c: list[float] = field(default_factory=lambda: [0.0, 1.0])
    variable: str = "x"


@dataclass
class PolygonParams:
    """A simple polygon (default: an L-shape in the unit square).

    ``vertices`` is typed ``list[Any]`` because OmegaConf refuses the integers users type inside
    a nested ``list[list[float]]`` (``domain.vertices=[[0,0],[1,1],[1,0]]``); each vertex is
    checked and made a pair of floats here.
    """

    vertices: list[Any] = field(default_factory=_l_shape)
    variable: str = "x"

    def __post_init__(self) -> None:
        checked = []
        for index, vertex in enumerate(self.vertices):
            values = list(vertex) if isinstance(vertex, (list, tuple, ListConfig)) else [vertex]
            if len(values) != 2 or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
            ):
                raise ConfigurationError(
                    f"domain.vertices[{index}] = {vertex!r}; each vertex is two numbers [x, y], "
                    "e.g. domain.vertices=[[0,0],[1,0],[0,1]]."
                )
            checked.append([float(v) for v in values])
        self.vertices = checked


@dataclass
class BoxParams:
    """A parallelepiped from ``origin`` to three corners (default: the unit cube)."""

    origin: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    corner1: list[float] = field(default_factory=lambda: [1.0, 0.0, 0.0])
    corner2: list[float] = field(default_factory=lambda: [0.0, 1.0, 0.0])
    corner3: list[float] = field(default_factory=lambda: [0.0, 0.0, 1.0])
    variable: str = "x"


@dataclass
class SphereParams:
    """The ball of ``center`` and ``radius``."""

    center: list[float] = field(default_factory=lambda: [0.5, 0.5, 0.5])
    radius: float = 0.5
    variable: str = "x"


def build_interval(params: IntervalParams) -> AbstractDomain:
    """Build an :class:`Interval` in ``R1(variable)``."""
    return Interval(Rn(params.variable, 1), params.lower, params.upper)


def build_parallelogram(params: ParallelogramParams) -> AbstractDomain:
    """Build a :class:`Parallelogram` in ``R2(variable)``."""
    return Parallelogram(Rn(params.variable, 2), params.origin, params.corner1, params.corner2)


def build_circle(params: CircleParams) -> AbstractDomain:
    """Build a :class:`Circle` in ``R2(variable)``."""
    return Circle(Rn(params.variable, 2), params.center, params.radius)


def build_triangle(params: TriangleParams) -> AbstractDomain:
    """Build a :class:`Triangle` in ``R2(variable)``."""
    return Triangle(Rn(params.variable, 2), params.a, params.b, params.c)


def build_polygon(params: PolygonParams) -> AbstractDomain:
    """Build a :class:`Polygon` in ``R2(variable)``."""
    return Polygon(Rn(params.variable, 2), params.vertices)


def build_box(params: BoxParams) -> AbstractDomain:
    """Build a :class:`Box` in ``R3(variable)``."""
    space = Rn(params.variable, 3)
    return Box(space, params.origin, params.corner1, params.corner2, params.corner3)


def build_sphere(params: SphereParams) -> AbstractDomain:
    """Build a :class:`Sphere` in ``R3(variable)``."""
    return Sphere(Rn(params.variable, 3), params.center, params.radius)


@hookimpl
def deepinn_domains() -> list[Registration]:
    return [
        Registration("interval", build_interval, IntervalParams, "the interval [lower, upper]"),
        Registration(
            "parallelogram", build_parallelogram, ParallelogramParams, "a parallelogram (2-D)"
        ),
        Registration("circle", build_circle, CircleParams, "a disk (2-D)"),
        Registration("triangle", build_triangle, TriangleParams, "a triangle (2-D)"),
        Registration("polygon", build_polygon, PolygonParams, "a simple polygon (2-D)"),
        Registration("box", build_box, BoxParams, "a parallelepiped (3-D)"),
        Registration("sphere", build_sphere, SphereParams, "a ball (3-D)"),
    ]
