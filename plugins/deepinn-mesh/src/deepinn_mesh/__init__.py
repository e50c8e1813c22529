"""deepinn-mesh: triangle-mesh domains (trimesh) and polygons with holes (shapely) for deepinn.

Installing the package registers the domains ``mesh`` and ``polygon_with_holes`` through the
``deepinn`` entry point ``mesh``; nothing is registered on import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deepinn_mesh._mesh import MeshBoundary as MeshBoundary
    from deepinn_mesh._mesh import MeshDomain as MeshDomain
    from deepinn_mesh._polygon import PolygonBoundary as PolygonBoundary
    from deepinn_mesh._polygon import PolygonWithHoles as PolygonWithHoles

__version__ = "0.1.0"

__all__ = ["MeshBoundary", "MeshDomain", "PolygonBoundary", "PolygonWithHoles"]

_HOMES = {"MeshBoundary": "_mesh", "MeshDomain": "_mesh", "PolygonBoundary": "_polygon",
          "PolygonWithHoles": "_polygon"}


def __getattr__(name: str) -> Any:
    """The domain classes, imported on first use: loading the plugin (every run that loads the
    registry does) then imports neither trimesh nor shapely."""
    if name in _HOMES:
        return getattr(importlib.import_module(f"deepinn_mesh.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'deepinn_mesh' has no attribute {name!r}")
