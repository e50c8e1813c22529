"""The geometry of a problem written in configuration: named coordinates, space-time, ``at``.

The ``domain`` group builds a domain in its own space (``R2('x')``, coordinates ``x0, x1``);
``problem.coordinates: [x, y]`` renames its columns (:class:`RenamedDomain`, every method
delegated), and ``problem.time: [t0, t1]`` multiplies it by a time interval, in the column order
of the coordinates (``[x, t]``: space first; ``[t, x]``: time first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from deepinn._errors import ConfigurationError
from deepinn.domains import AbstractBoundary, AbstractDomain, BoundingBox, Interval
from deepinn.spaces import Points, Space

__all__ = ["ON_CHOICES", "Geometry", "RenamedDomain", "build_geometry"]

ON_CHOICES = ("interior", "boundary", "initial", "data")
"""Where a constraint's points come from (``problem.constraints.<name>.at``)."""


_DOMAINS_BY_DIM = {
    1: " (domain=interval)",
    2: " (domain=parallelogram, circle, triangle, polygon, ...)",
    3: " (domain=box, sphere, ...)",
}
"""Built-in domains of each dimension, for the message of a coordinate count that does not fit."""


def _tensor(points: torch.Tensor | Points) -> torch.Tensor:
    return points.as_tensor if isinstance(points, Points) else points


class RenamedDomain(AbstractDomain):
    """``domain`` with its columns renamed: the same set in ``space`` (same dimension)."""

    def __init__(self, domain: AbstractDomain, space: Space) -> None:
        if space.dim != domain.dim:
            raise ConfigurationError(
                f"Cannot rename the {domain.dim}-D domain {domain!r} to {space!r}."
            )
        self.inner = domain
        self.space = space
        self._boundary: RenamedBoundary | None = None

    @property
    def intrinsic_dim(self) -> int:
        return self.inner.intrinsic_dim

    def contains(self, points: torch.Tensor | Points) -> torch.Tensor:
        return self.inner.contains(_tensor(points))

    @property
    def volume(self) -> float:
        return self.inner.volume

    def bounding_box(self) -> BoundingBox:
        return self.inner.bounding_box()

    def sample_uniform(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.inner.sample_uniform(n, generator)

    def from_unit(self, u: torch.Tensor) -> torch.Tensor:
        return self.inner.from_unit(u)

    @property
    def boundary(self) -> AbstractBoundary:
        if self._boundary is None:
            self._boundary = RenamedBoundary(self.inner.boundary, self.space)
        return self._boundary

    def __repr__(self) -> str:
        return f"{self.inner!r} as {self.space!r}"


class RenamedBoundary(RenamedDomain, AbstractBoundary):
    """A boundary with its columns renamed; normals delegated."""

    def __init__(self, boundary: AbstractBoundary, space: Space) -> None:
        super().__init__(boundary, space)

    def normal(self, points: torch.Tensor | Points) -> torch.Tensor:
        return self.inner.normal(_tensor(points))  # type: ignore[attr-defined]

    @property
    def boundary(self) -> AbstractBoundary:
        raise NotImplementedError("A boundary has no boundary.")


@dataclass(frozen=True)
class Geometry:
    """The domains a configured problem samples.

    Attributes:
        coordinates: The coordinate names in column order.
        time: The time coordinate, or None for a steady problem.
        t0: The initial time (0.0 when steady).
        spatial: The spatial domain (the whole domain when steady).
        domain: The problem's domain (space-time when time-dependent).
        boundary: Where boundary conditions hold: the spatial boundary (times the time interval).
    """

    coordinates: tuple[str, ...]
    time: str | None
    t0: float
    spatial: AbstractDomain
    domain: AbstractDomain
    boundary: AbstractDomain


def build_geometry(
    domain: AbstractDomain,
    coordinates: Sequence[str] | None,
    time: Sequence[float] | None,
    time_coordinate: str,
) -> Geometry:
    """The problem's domain from the ``domain`` group, ``coordinates`` and ``time``.

    Raises:
        ConfigurationError: Naming ``problem.coordinates`` / ``problem.time`` and the fix.
    """
    native = domain.space.coordinate_names()
    if time is not None and (len(time) != 2 or not float(time[0]) < float(time[1])):
        raise ConfigurationError(
            f"problem.time = {list(time)}; give the time interval as [t0, t1] with t0 < t1, "
            "e.g. problem.time=[0,1]."
        )
    if coordinates is None:
        coordinates = [*native, time_coordinate] if time is not None else list(native)
    coordinates = tuple(str(c) for c in coordinates)
    if len(set(coordinates)) != len(coordinates) or not all(c.isidentifier() for c in coordinates):
        raise ConfigurationError(
            f"problem.coordinates = {list(coordinates)}; give distinct names, e.g. [x, y] or "
            "[x, t]."
        )
    spatial_names = [c for c in coordinates if time is None or c != time_coordinate]
    if time is not None and time_coordinate not in coordinates:
        raise ConfigurationError(
            f"problem.coordinates = {list(coordinates)} has no time coordinate "
            f"{time_coordinate!r} but problem.time = {list(time)} is set; add it "
            f"(e.g. [{', '.join(spatial_names)}, {time_coordinate}]) or set "
            "problem.time_coordinate to its name."
        )
    if time is not None and coordinates.index(time_coordinate) not in (0, len(coordinates) - 1):
        raise ConfigurationError(
            f"problem.coordinates = {list(coordinates)}: put the time coordinate "
            f"{time_coordinate!r} first or last."
        )
    if len(spatial_names) != domain.dim:
        raise ConfigurationError(
            f"problem.coordinates = {list(coordinates)} names {len(spatial_names)} space "
            f"coordinate(s) {spatial_names} but the domain {domain!r} is {domain.dim}-D "
            f"(coordinates {native}); name {domain.dim} or pick a {len(spatial_names)}-D "
            f"domain{_DOMAINS_BY_DIM.get(len(spatial_names), '')}."
        )
    spatial = domain
    if spatial_names != native:
        spatial = RenamedDomain(domain, Space(dict.fromkeys(spatial_names, 1)))
    if time is None:
        return Geometry(coordinates, None, 0.0, spatial, spatial, spatial.boundary)
    if time_coordinate in spatial.space:
        raise ConfigurationError(
            f"The domain's variable {time_coordinate!r} clashes with the time coordinate; "
            "rename the space coordinates in problem.coordinates."
        )
    interval = Interval(Space({time_coordinate: 1}), float(time[0]), float(time[1]))
    first = coordinates[0] == time_coordinate
    whole = interval * spatial if first else spatial * interval
    lateral = interval * spatial.boundary if first else spatial.boundary * interval
    return Geometry(coordinates, time_coordinate, float(time[0]), spatial, whole, lateral)
