"""Built-in plugin: the networks ``mlp``, ``fourier``, ``pirate`` and ``allen_cahn_net``.

Every factory is ``factory(params, in_dim, out_dim, bounds, coordinates=None) -> nn.Module``;
``bounds`` is the ``(lower, upper)`` bounding box of the problem's inputs, used for input
normalisation when ``params.normalise`` is true, or None; ``coordinates`` (optional) names the
input columns, so ``net.periodic`` can name them (``{x: 2.0}``) instead of giving indices.

``mlp``, ``fourier`` and ``allen_cahn_net`` take the options of :mod:`deepinn.nn._options`
(``architecture``, ``rwf*``, and for ``mlp``/``fourier`` ``periodic*``; ``mlp`` also
``fourier_features``/``fourier_scale``); ``pirate`` (:mod:`deepinn.nn._pirate`) takes its
width, blocks, Fourier scale, ``rwf*`` and ``periodic*``; see docs/networks.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from deepinn._errors import ConfigurationError
from deepinn.nn._activations import get_activation
from deepinn.nn._allen_cahn_net import AllenCahnNetParams, build_allen_cahn_net
from deepinn.nn._bounds import Bounds
from deepinn.nn._embeddings import check_fourier
from deepinn.nn._fourier import FourierFeatureNet
from deepinn.nn._init import get_initialiser
from deepinn.nn._network import compose_network
from deepinn.nn._options import FourierOptions, PeriodicOptions, resolve_periods
from deepinn.nn._pirate import PirateNet, check_pirate_shape
from deepinn.plugins._hookspecs import hookimpl
from deepinn.plugins._registration import Registration

__all__ = [
    "FourierParams", "MLPParams", "PirateParams", "build_fourier", "build_mlp", "build_pirate",
]


@dataclass
class MLPParams(FourierOptions):
    """A fully connected network: hidden widths, activation, initialiser, input normalisation,
    and the options for hard problems (architecture, rwf, periodic and Fourier embeddings)."""

    hidden: list[int] = field(default_factory=lambda: [50, 50, 50])
    activation: str = "tanh"
    initialiser: str = "xavier_normal"
    normalise: bool = True


@dataclass
class FourierParams(PeriodicOptions):
    """Random Fourier features (``n_features`` frequencies of scale ``sigma``) then an MLP."""

    hidden: list[int] = field(default_factory=lambda: [50, 50, 50])
    n_features: int = 64
    sigma: float = 1.0
    activation: str = "tanh"
    initialiser: str = "xavier_normal"
    normalise: bool = True


@dataclass
class PirateParams:
    """A PirateNet (Wang et al. 2024): random Fourier features of ``width`` (``width/2``
    frequencies of scale ``fourier_scale``), ``blocks`` gated residual blocks whose residual
    weights start at 0, and a last layer fitted to the initial/boundary data before training
    (``physics_init``); ``periodic*`` and ``rwf*`` as for ``net=mlp``.

    Attributes:
        width: Width of the embedding and of every block; even (width/2 cosines and width/2
            sines).
        blocks: Gated residual blocks (three dense layers each).
        fourier_scale: Standard deviation of the Fourier frequencies.
        activation: The blocks' activation.
        initialiser: The blocks' weight initialiser (biases 0).
        normalise: Map the domain's bounding box onto [-1, 1] before the features.
        physics_init: Fit the last layer by least squares to the initial, Dirichlet and data
            values when a fresh run starts.
        rwf: Random weight factorisation of the gates and the blocks' layers (not the last
            layer).
        rwf_mean: Mean of the factorisation's log-scales (with rwf=true).
        rwf_std: Standard deviation of the log-scales (with rwf=true).
        periodic: Coordinate -> period of an exact periodic embedding, e.g. {x: 2.0}.
        periodic_modes: Harmonics per periodic coordinate.
    """

    width: int = 256
    blocks: int = 3
    fourier_scale: float = 1.0
    activation: str = "tanh"
    initialiser: str = "xavier_normal"
    normalise: bool = True
    physics_init: bool = True
    rwf: bool = False
    rwf_mean: float = 1.0
    rwf_std: float = 0.1
    periodic: dict[Any, float] = field(default_factory=dict)
    periodic_modes: int = 1

    def __post_init__(self) -> None:
        check_pirate_shape(self.width, self.blocks)
        PeriodicOptions(  # the shared checks of rwf_* and periodic*
            rwf_mean=self.rwf_mean, rwf_std=self.rwf_std,
            periodic=self.periodic, periodic_modes=self.periodic_modes,
        )
        if self.periodic is None:
            self.periodic = {}
        check_fourier(1, self.fourier_scale, ("net.width", "net.fourier_scale"))
        if not isinstance(self.physics_init, bool):
            raise ConfigurationError(
                f"net.physics_init={self.physics_init!r}: it must be true or false."
            )


def _check_common(name: str, params: Any, in_dim: int, out_dim: int) -> list[int]:
    """Validate the fields every network shares; return the hidden widths."""
    hidden = list(params.hidden)
    if not hidden:
        raise ConfigurationError(
            f"net={name}: hidden=[] has no hidden layer; give at least one width, e.g. "
            "net.hidden=[50,50,50]."
        )
    for width in hidden:
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ConfigurationError(
                f"net={name}: hidden={hidden} has the width {width!r}; every width must be a "
                "positive int, e.g. net.hidden=[50,50,50]."
            )
    for label, dim in (("in_dim", in_dim), ("out_dim", out_dim)):
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ConfigurationError(
                f"net={name}: {label}={dim!r} must be a positive int (the problem's number of "
                f"{'coordinates' if label == 'in_dim' else 'outputs'})."
            )
    try:
        get_activation(params.activation)
        get_initialiser(params.initialiser)
    except ConfigurationError as error:
        raise ConfigurationError(f"net={name}: {error}") from None
    return hidden


def _compose(
    name: str,
    params: Any,
    in_dim: int,
    out_dim: int,
    bounds: Bounds | None,
    coordinates: Sequence[str] | None,
    fourier: tuple[int, float] | None,
) -> torch.nn.Module:
    hidden = _check_common(name, params, in_dim, out_dim)
    try:
        return compose_network(
            in_dim, out_dim, hidden,
            activation=params.activation, initialiser=params.initialiser,
            bounds=bounds if params.normalise else None,
            architecture=params.architecture, rwf=params.rwf_pair(),
            periodic=resolve_periods(params.periodic, in_dim, coordinates),
            periodic_modes=params.periodic_modes, fourier=fourier,
        )
    except ConfigurationError as error:
        raise ConfigurationError(f"net={name}: {error}") from None


def build_mlp(
    params: MLPParams,
    in_dim: int,
    out_dim: int,
    bounds: Bounds | None = None,
    coordinates: Sequence[str] | None = None,
) -> torch.nn.Module:
    """Build a :class:`FullyConnected` ``[in_dim, *hidden, out_dim]`` (or, with options, the
    modified MLP and/or embeddings in front; see :func:`compose_network`)."""
    features = params.fourier_features
    fourier = (features, params.fourier_scale) if features else None
    return _compose("mlp", params, in_dim, out_dim, bounds, coordinates, fourier)


def build_fourier(
    params: FourierParams,
    in_dim: int,
    out_dim: int,
    bounds: Bounds | None = None,
    coordinates: Sequence[str] | None = None,
) -> torch.nn.Module:
    """Build a :class:`FourierFeatureNet` ``[in_dim, *hidden, out_dim]`` (or, with options, the
    composed network with the same Fourier features)."""
    if params.architecture != "plain" or params.rwf or params.periodic:
        fourier = (params.n_features, params.sigma)
        return _compose("fourier", params, in_dim, out_dim, bounds, coordinates, fourier)
    hidden = _check_common("fourier", params, in_dim, out_dim)
    try:
        return FourierFeatureNet(
            [in_dim, *hidden, out_dim],
            n_features=params.n_features,
            sigma=params.sigma,
            activation=params.activation,
            initialiser=params.initialiser,
            bounds=bounds if params.normalise else None,
        )
    except ConfigurationError as error:
        raise ConfigurationError(f"net=fourier: {error}") from None


def build_pirate(
    params: PirateParams,
    in_dim: int,
    out_dim: int,
    bounds: Bounds | None = None,
    coordinates: Sequence[str] | None = None,
) -> torch.nn.Module:
    """Build a :class:`~deepinn.nn._pirate.PirateNet` (its last layer is fitted to the
    problem's data when training starts, if ``params.physics_init``)."""
    _check_common("pirate", _Widths(params), in_dim, out_dim)
    try:
        network = PirateNet(
            in_dim, out_dim, params.width, params.blocks, params.fourier_scale,
            params.activation, params.initialiser,
            bounds if params.normalise else None,
            periodic=resolve_periods(params.periodic, in_dim, coordinates),
            periodic_modes=params.periodic_modes,
            rwf=(params.rwf_mean, params.rwf_std) if params.rwf else None,
            physics_init=params.physics_init,
        )
    except ConfigurationError as error:
        raise ConfigurationError(f"net=pirate: {error}") from None
    return network


class _Widths:
    """A PirateNet's parameters as :func:`_check_common` reads them (one hidden width)."""

    def __init__(self, params: PirateParams) -> None:
        self.hidden = [params.width]
        self.activation, self.initialiser = params.activation, params.initialiser


@hookimpl
def deepinn_networks() -> list[Registration]:
    return [
        Registration(
            "mlp", build_mlp, MLPParams,
            "Fully connected network (tanh, Xavier, normalised input); options: "
            "architecture=modified, rwf, fourier_features, periodic",
        ),
        Registration(
            "fourier",
            build_fourier,
            FourierParams,
            "Random Fourier features followed by a fully connected network",
        ),
        Registration(
            "pirate", build_pirate, PirateParams,
            "PirateNet: Fourier features, gated residual blocks starting as the identity, last "
            "layer fitted to the initial/boundary data",
        ),
        Registration(
            "allen_cahn_net",
            build_allen_cahn_net,
            AllenCahnNetParams,
            "for problem=allen_cahn: an MLP on a periodic embedding of x (exact periodicity)",
        ),
    ]
