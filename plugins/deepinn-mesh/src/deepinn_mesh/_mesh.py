"""A closed triangle mesh as a deepinn domain (through trimesh)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import cast, final

import numpy as np
import torch
import trimesh
from deepinn import ConfigurationError, GeometryError
from deepinn.domains import AbstractBoundary, AbstractDomain, BoundingBox
from deepinn.spaces import R3, Points

from deepinn_mesh._points import check_n, to_numpy, to_tensor

__all__ = ["MeshBoundary", "MeshDomain"]

_MAX_REJECTION_ROUNDS = 100


@final
class MeshDomain(AbstractDomain):
    """The solid bounded by a closed (watertight), consistently wound triangle mesh in R^3.

    Build one from a ``trimesh.Trimesh``, from a file (:meth:`from_file`: STL, OBJ, PLY, OFF,
    GLB, ... whatever trimesh reads) or from vertex and face arrays (:meth:`from_arrays`).
    Faces wound inward are flipped, so face normals always point out of the solid.

    Args:
        mesh: The surface. It is copied; later changes to ``mesh`` do not affect the domain.
        variable: Name of the three-dimensional variable of the space, ``R3(variable)``.
        tolerance: Distance within which a point counts as on the surface; default
            ``1e-8`` times the bounding box diagonal.

    Raises:
        GeometryError: The mesh has no faces, is not closed, is inconsistently wound, or
            encloses no volume.
    """

    def __init__(
        self, mesh: trimesh.Trimesh, variable: str = "x", *, tolerance: float | None = None
    ) -> None:
        if not isinstance(mesh, trimesh.Trimesh):
            raise GeometryError(
                f"MeshDomain needs a trimesh.Trimesh; got {type(mesh).__name__}. Use "
                "MeshDomain.from_file(path) or MeshDomain.from_arrays(vertices, faces)."
            )
        mesh = mesh.copy()
        if len(mesh.faces) == 0:
            raise GeometryError("The mesh has no faces; a MeshDomain needs a closed surface.")
        if not mesh.is_watertight:
            raise GeometryError(
                f"The mesh ({len(mesh.vertices)} vertices, {len(mesh.faces)} faces) is not "
                "closed (watertight), so it bounds no solid. Close its holes (for example "
                "trimesh.repair.fill_holes) or export a closed surface."
            )
        if not mesh.is_winding_consistent:
            raise GeometryError(
                "The mesh's faces are not consistently wound, so its normals are not all "
                "outward. Repair it with trimesh.repair.fix_winding(mesh) first."
            )
        if mesh.volume < 0:
            mesh.invert()
        if not mesh.volume > 0:
            raise GeometryError(f"The mesh encloses no volume (volume {mesh.volume!r}).")
        self._mesh = mesh
        self.space = R3(variable)
        lower, upper = mesh.bounds
        scale = float(np.linalg.norm(upper - lower))
        self.tolerance = 1e-8 * scale if tolerance is None else float(tolerance)
        self._boundary = MeshBoundary(self)

    @classmethod
    def from_file(
        cls, path: str | Path, variable: str = "x", *, tolerance: float | None = None
    ) -> MeshDomain:
        """Load a closed surface from a mesh file trimesh can read (STL, OBJ, PLY, OFF, ...).

        Raises:
            ConfigurationError: The file does not exist or trimesh cannot read it.
            GeometryError: The surface is not a closed, consistently wound mesh.
        """
        path = Path(path)
        if not path.is_file():
            raise ConfigurationError(
                f"Mesh file {str(path)!r} does not exist; give the path to an STL, OBJ or other "
                "mesh file (relative paths are relative to the working directory)."
            )
        try:
            # force="mesh" gives one Trimesh; the constructor still checks what it got.
            mesh = cast(trimesh.Trimesh, trimesh.load(path, force="mesh"))
        except Exception as error:
            raise ConfigurationError(
                f"trimesh could not read mesh file {str(path)!r}: {type(error).__name__}: "
                f"{error}. Readable formats include stl, obj, ply, off and glb."
            ) from None
        return cls(mesh, variable, tolerance=tolerance)

    @classmethod
    def from_arrays(
        cls,
        vertices: Sequence[Sequence[float]] | np.ndarray,
        faces: Sequence[Sequence[int]] | np.ndarray,
        variable: str = "x",
        *,
        tolerance: float | None = None,
    ) -> MeshDomain:
        """Build the solid from vertices (V, 3) and triangles (F, 3) of vertex indices."""
        vertices = np.asarray(vertices, dtype=np.float64)
        faces = np.asarray(faces)
        if vertices.ndim != 2 or vertices.shape[1] != 3:
            raise GeometryError(f"vertices must have shape (V, 3); got {vertices.shape}.")
        if faces.ndim != 2 or faces.shape[1] != 3 or not np.issubdtype(faces.dtype, np.integer):
            raise GeometryError(
                f"faces must be integer vertex indices of shape (F, 3); got {faces.shape} of "
                f"{faces.dtype}."
            )
        if faces.size and (faces.min() < 0 or faces.max() >= len(vertices)):
            raise GeometryError(
                f"faces index vertices {faces.min()}..{faces.max()}, but there are "
                f"{len(vertices)} vertices."
            )
        return cls(trimesh.Trimesh(vertices, faces, process=True), variable, tolerance=tolerance)

    @property
    def mesh(self) -> trimesh.Trimesh:
        """A copy of the (outward-wound) surface mesh."""
        return self._mesh.copy()

    def contains(self, points: torch.Tensor | Points) -> torch.Tensor:
        """Which points lie in the closed solid (inside, or within ``tolerance`` of the surface)."""
        array = to_numpy(points, self.space)
        lower, upper = self._mesh.bounds
        near = np.all((array >= lower - self.tolerance) & (array <= upper + self.tolerance), axis=1)
        result = np.zeros(len(array), dtype=bool)
        if near.any():
            candidates = array[near]
            inside = self._mesh.contains(candidates)
            if not inside.all():
                rest = ~inside
                inside[rest] = self._boundary._distance(candidates[rest]) <= self.tolerance
            result[near] = inside
        return torch.from_numpy(result)

    @property
    def volume(self) -> float:
        """The enclosed volume."""
        return float(self._mesh.volume)

    def bounding_box(self) -> BoundingBox:
        """The mesh's axis-aligned bounds."""
        lower, upper = self._mesh.bounds
        return to_tensor(lower), to_tensor(upper)

    @property
    def boundary(self) -> MeshBoundary:
        """The surface, with outward face normals."""
        return self._boundary

    def sample_uniform(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` points uniform in the solid: rejection from the bounding box.

        Raises:
            GeometryError: Too few candidates fell inside (a mesh far thinner than its box).
        """
        check_n(n)
        lower, upper = (bound.numpy() for bound in self.bounding_box())
        fraction = self.volume / float(np.prod(upper - lower))
        found: list[np.ndarray] = []
        count = 0
        for _ in range(_MAX_REJECTION_ROUNDS):
            if count >= n:
                break
            batch = math.ceil(1.2 * (n - count) / fraction) + 16
            u = torch.rand(batch, 3, generator=generator, dtype=torch.float64).numpy()
            candidates = lower + u * (upper - lower)
            accepted = candidates[self._mesh.contains(candidates)]
            found.append(accepted)
            count += len(accepted)
        if count < n:
            raise GeometryError(
                f"Rejection sampling found {count} of {n} points in the mesh after "
                f"{_MAX_REJECTION_ROUNDS} rounds; the mesh fills {fraction:.2e} of its bounding "
                "box. Check that the mesh is a closed solid."
            )
        return to_tensor(np.concatenate(found)[:n]) if n else torch.zeros(0, 3, dtype=torch.float64)

    def __repr__(self) -> str:
        return (
            f"MeshDomain({len(self._mesh.vertices)} vertices, {len(self._mesh.faces)} faces, "
            f"volume {self.volume:.6g}, {self.space!r})"
        )


@final
class MeshBoundary(AbstractBoundary):
    """The surface of a :class:`MeshDomain`, sampled by area, with outward face normals."""

    def __init__(self, domain: MeshDomain) -> None:
        self._mesh = domain._mesh
        self.space = domain.space
        self.tolerance = domain.tolerance

    def _distance(self, array: np.ndarray) -> np.ndarray:
        _, distance, _ = self._mesh.nearest.on_surface(array)
        return np.asarray(distance)

    def contains(self, points: torch.Tensor | Points) -> torch.Tensor:
        """Which points lie within ``tolerance`` of the surface."""
        array = to_numpy(points, self.space)
        if len(array) == 0:
            return torch.zeros(0, dtype=torch.bool)
        return torch.from_numpy(self._distance(array) <= self.tolerance)

    @property
    def volume(self) -> float:
        """The surface area."""
        return float(self._mesh.area)

    def bounding_box(self) -> BoundingBox:
        """The mesh's axis-aligned bounds."""
        lower, upper = self._mesh.bounds
        return to_tensor(lower), to_tensor(upper)

    def sample_uniform(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` points uniform on the surface: a face by area, then a uniform point in it."""
        check_n(n)
        if n == 0:
            return torch.zeros(0, 3, dtype=torch.float64)
        areas = torch.tensor(self._mesh.area_faces, dtype=torch.float64)
        faces = torch.multinomial(areas, n, replacement=True, generator=generator).numpy()
        r = torch.rand(n, 2, generator=generator, dtype=torch.float64).numpy()
        root = np.sqrt(r[:, :1])
        weights = np.hstack([1.0 - root, root * (1.0 - r[:, 1:]), root * r[:, 1:]])
        triangles = self._mesh.triangles[faces]  # (n, 3 corners, 3 coordinates)
        return to_tensor(np.einsum("nc,ncd->nd", weights, triangles))

    def normal(self, points: torch.Tensor | Points) -> torch.Tensor:
        """Outward unit normals: the normal of the face nearest each point."""
        array = to_numpy(points, self.space)
        if len(array) == 0:
            return torch.zeros(0, 3, dtype=torch.float64)
        _, _, face = self._mesh.nearest.on_surface(array)
        return to_tensor(self._mesh.face_normals[face])

    def __repr__(self) -> str:
        return f"MeshBoundary({len(self._mesh.faces)} faces, area {self.volume:.6g})"
