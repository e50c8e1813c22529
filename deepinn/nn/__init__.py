"""Networks: the fully connected PINN network, Fourier features, PirateNet, and the forward
Laplacian.

Networks with a ``forward_derivatives(x, second)`` method return the value, gradient and Hessian
diagonal in one forward pass (``forward_laplacian(x, second)`` returns the Laplacian instead of
the diagonal, carrying one lane fewer per extra coordinate); the derivative operators use them
when present and fall back to autograd otherwise.
"""

from deepinn.nn._activations import ACTIVATIONS as ACTIVATIONS
from deepinn.nn._forward_laplacian import (
    SupportsForwardDerivatives as SupportsForwardDerivatives,
)
from deepinn.nn._fourier import FourierFeatureNet as FourierFeatureNet
from deepinn.nn._init import INITIALISERS as INITIALISERS
from deepinn.nn._mlp import FullyConnected as FullyConnected
from deepinn.nn._pirate import PirateNet as PirateNet
from deepinn.nn._transform import OutputTransform as OutputTransform

__all__ = [
    "ACTIVATIONS",
    "INITIALISERS",
    "FourierFeatureNet",
    "FullyConnected",
    "OutputTransform",
    "PirateNet",
    "SupportsForwardDerivatives",
]
