"""deepinn-mesh: triangle-mesh domains (trimesh) and polygons with holes (shapely) for deepinn.

Installing the package registers the domains ``mesh`` and ``polygon_with_holes`` through the
``deepinn`` entry point ``mesh``; nothing is registered on import.
"""

from deepinn_mesh._mesh import MeshBoundary as MeshBoundary
from deepinn_mesh._mesh import MeshDomain as MeshDomain
from deepinn_mesh._polygon import PolygonBoundary as PolygonBoundary
from deepinn_mesh._polygon import PolygonWithHoles as PolygonWithHoles

__version__ = "0.1.0"

__all__ = ["MeshBoundary", "MeshDomain", "PolygonBoundary", "PolygonWithHoles"]
