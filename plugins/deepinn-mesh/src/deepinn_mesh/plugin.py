"""deepinn-mesh's deepinn plugin (entry point ``mesh``): the ``mesh`` and ``polygon_with_holes``
domains.

After ``pip install deepinn-mesh``: ``python train.py domain=mesh domain.path=part.stl`` or
``python train.py domain=polygon_with_holes 'domain.holes=[]'``, and from Python
``deepinn.plugins.load_registry().build("domains", "mesh", {"path": "part.stl"})``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from deepinn import ConfigurationError
from deepinn.plugins import Registration, hookimpl

if TYPE_CHECKING:  # trimesh and shapely are imported when a domain is built, not on loading
    from deepinn_mesh._mesh import MeshDomain
    from deepinn_mesh._polygon import PolygonWithHoles

__all__ = [
    "MeshParams",
    "PolygonWithHolesParams",
    "build_mesh",
    "build_polygon_with_holes",
    "deepinn_domains",
]

PRIMITIVES = ("icosphere", "box")


@dataclass
class MeshParams:
    """Parameters of the ``mesh`` domain.

    Attributes:
        path: A closed surface mesh file trimesh reads (STL, OBJ, PLY, OFF, GLB, ...). Empty:
            use the built-in ``primitive``.
        primitive: The built-in mesh used when ``path`` is empty: ``icosphere`` (radius 1,
            centred at the origin) or ``box`` (the unit cube [0, 1]^3).
        subdivisions: Refinement of the icosphere, 0 to 5 (20 * 4**subdivisions faces).
        variable: Name of the three-dimensional variable, ``R3(variable)``.
    """

    path: str = ""
    primitive: str = "icosphere"
    subdivisions: int = 2
    variable: str = "x"

    def __post_init__(self) -> None:
        if self.primitive not in PRIMITIVES:
            raise ConfigurationError(
                f"mesh: primitive={self.primitive!r} is not a built-in mesh; choose one of "
                f"{', '.join(PRIMITIVES)}, or set path to a mesh file."
            )
        if isinstance(self.subdivisions, bool) or not 0 <= self.subdivisions <= 5:
            raise ConfigurationError(
                f"mesh: subdivisions={self.subdivisions!r} must be an int from 0 to 5."
            )


def _default_shell() -> list[Any]:
    return [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]


def _default_holes() -> list[Any]:
    return [[[0.25, 0.25], [0.75, 0.25], [0.75, 0.75], [0.25, 0.75]]]


@dataclass
class PolygonWithHolesParams:
    """Parameters of the ``polygon_with_holes`` domain (default: the unit square minus the
    centred square of side 1/2).

    Attributes:
        shell: The outer ring, ``[[x, y], ...]`` (at least three vertices).
        holes: One ``[[x, y], ...]`` ring per hole; ``[]`` for none.
        variable: Name of the two-dimensional variable, ``R2(variable)``.
    """

    # Typed list[Any]: OmegaConf rejects ints (``[[0, 0], ...]``) inside nested float lists.
    shell: list[Any] = field(default_factory=_default_shell)
    holes: list[Any] = field(default_factory=_default_holes)
    variable: str = "x"

    def __post_init__(self) -> None:
        from deepinn_mesh._polygon import as_ring

        try:
            self.shell = [list(vertex) for vertex in as_ring(self.shell, "shell")]
            self.holes = [
                [list(vertex) for vertex in as_ring(hole, f"hole {index}")]
                for index, hole in enumerate(self.holes)
            ]
        except ConfigurationError as error:
            raise ConfigurationError(f"polygon_with_holes: {error}") from None


def build_mesh(params: MeshParams) -> MeshDomain:
    """The ``mesh`` domain: the file at ``params.path``, else the built-in primitive."""
    import trimesh

    from deepinn_mesh._mesh import MeshDomain

    if params.path:
        return MeshDomain.from_file(params.path, params.variable)
    if params.primitive == "box":
        mesh = trimesh.creation.box(bounds=[[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    else:
        mesh = trimesh.creation.icosphere(subdivisions=params.subdivisions, radius=1.0)
    return MeshDomain(mesh, params.variable)


def build_polygon_with_holes(params: PolygonWithHolesParams) -> PolygonWithHoles:
    """The ``polygon_with_holes`` domain."""
    from deepinn_mesh._polygon import PolygonWithHoles

    return PolygonWithHoles(params.shell, params.holes, params.variable)


@hookimpl
def deepinn_domains() -> list[Registration]:
    """Register ``mesh`` and ``polygon_with_holes``."""
    return [
        Registration(
            "mesh",
            build_mesh,
            MeshParams,
            "Solid bounded by a closed triangle mesh (STL/OBJ/... file or built-in)",
        ),
        Registration(
            "polygon_with_holes",
            build_polygon_with_holes,
            PolygonWithHolesParams,
            "2-D polygon minus polygonal holes",
        ),
    ]
