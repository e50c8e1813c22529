"""Domains: sets in a space that can say what they contain, be sampled and have boundaries.

Primitives (Interval, Parallelogram, Circle, Triangle, Polygon, Box, Sphere), set operations
(``|``, ``&``, ``-``) and products with other spaces (``*``). Every domain computes in float64.
"""

from deepinn.domains._abstract import AbstractBoundary as AbstractBoundary
from deepinn.domains._abstract import AbstractDomain as AbstractDomain
from deepinn.domains._abstract import BoundingBox as BoundingBox
from deepinn.domains._ball import Circle as Circle
from deepinn.domains._ball import Sphere as Sphere
from deepinn.domains._boundary import PiecewiseBoundary as PiecewiseBoundary
from deepinn.domains._parallelotope import Box as Box
from deepinn.domains._parallelotope import Interval as Interval
from deepinn.domains._parallelotope import Parallelogram as Parallelogram
from deepinn.domains._parallelotope import Parallelotope as Parallelotope
from deepinn.domains._polygon import Polygon as Polygon
from deepinn.domains._product import ProductBoundary as ProductBoundary
from deepinn.domains._product import ProductDomain as ProductDomain
from deepinn.domains._setops import Difference as Difference
from deepinn.domains._setops import Intersection as Intersection
from deepinn.domains._setops import Union as Union
from deepinn.domains._triangle import Triangle as Triangle

__all__ = [
    "AbstractBoundary",
    "AbstractDomain",
    "BoundingBox",
    "Box",
    "Circle",
    "Difference",
    "Intersection",
    "Interval",
    "Parallelogram",
    "Parallelotope",
    "PiecewiseBoundary",
    "Polygon",
    "ProductBoundary",
    "ProductDomain",
    "Sphere",
    "Triangle",
    "Union",
]
