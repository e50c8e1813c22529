"""Derivative operators over autograd: functional operators, a per-step cache, ``Field``.

The functional operators (``grad``, ``partial``, ``jacobian``, ``hessian``, ``laplacian``,
``divergence``) take outputs and the input they were computed from; ``forward_laplacian`` and
``forward_hessian`` take the function and use forward mode. ``Field`` is what a residual
receives: outputs and derivatives by name, computed lazily and shared through one
``DerivativeCache`` per step, by the derivative strategy its ``mode`` names
(:data:`DERIVATIVE_MODES`: ``ReverseDerivatives``, ``ForwardDerivatives``, ``LaneDerivatives``).
:data:`FIELD_MODES` are the values of a training run's ``field_mode``. (The original notebook's
``Jacobian(X, y)(i, j)`` class lives in :mod:`deepinn.notebook`.)
"""

from deepinn.operators._autograd import divergence as divergence
from deepinn.operators._autograd import grad as grad
from deepinn.operators._autograd import hessian as hessian
from deepinn.operators._autograd import jacobian as jacobian
from deepinn.operators._autograd import laplacian as laplacian
from deepinn.operators._autograd import partial as partial
from deepinn.operators._cache import DerivativeCache as DerivativeCache
from deepinn.operators._derivatives import AbstractDerivatives as AbstractDerivatives
from deepinn.operators._field import Field as Field
from deepinn.operators._forward import directional_derivative as directional_derivative
from deepinn.operators._forward import forward_hessian as forward_hessian
from deepinn.operators._forward import forward_laplacian as forward_laplacian
from deepinn.operators._forward_derivatives import ForwardDerivatives as ForwardDerivatives
from deepinn.operators._lanes import LaneDerivatives as LaneDerivatives
from deepinn.operators._lanes import offers_lanes as offers_lanes
from deepinn.operators._reverse import ReverseDerivatives as ReverseDerivatives
from deepinn.operators._strategies import DERIVATIVE_MODES as DERIVATIVE_MODES
from deepinn.operators._strategies import FIELD_MODES as FIELD_MODES

__all__ = [
    "DERIVATIVE_MODES",
    "FIELD_MODES",
    "AbstractDerivatives",
    "DerivativeCache",
    "Field",
    "ForwardDerivatives",
    "LaneDerivatives",
    "ReverseDerivatives",
    "directional_derivative",
    "divergence",
    "forward_hessian",
    "forward_laplacian",
    "grad",
    "hessian",
    "jacobian",
    "laplacian",
    "offers_lanes",
    "partial",
]
