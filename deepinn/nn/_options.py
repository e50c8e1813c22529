"""The options every MLP-type network takes (``net=mlp``, ``net=fourier``, ``net=allen_cahn_net``).

- ``architecture``: ``plain`` (the MLP) or ``modified`` (the gated MLP of Wang, Teng &
  Perdikaris 2021, see ``_modified``).
- ``rwf``, ``rwf_mean``, ``rwf_std``: random weight factorisation of every dense layer,
  ``W = diag(exp(s)) V`` with ``s ~ N(rwf_mean, rwf_std^2)`` (see ``_rwf``).
- ``periodic``, ``periodic_modes``: exact periodic embedding, coordinate (name or column index,
  an int) -> period, with harmonics ``k = 1..periodic_modes`` (see ``_embeddings``).
- ``fourier_features``, ``fourier_scale`` (``net=mlp``, ``net=allen_cahn_net``; ``net=fourier``
  has its own ``n_features``/``sigma``): random Fourier features, 0 for none.

Every value is validated in ``__post_init__`` (hence when Hydra or the registry builds the
schema), with a message naming the key, the value and the fix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from deepinn._errors import ConfigurationError, nearest
from deepinn.nn._embeddings import check_fourier
from deepinn.nn._rwf import check_rwf

__all__ = [
    "ARCHITECTURES",
    "ArchitectureOptions",
    "FourierOptions",
    "PeriodicOptions",
    "resolve_periods",
]

ARCHITECTURES: tuple[str, ...] = ("plain", "modified")
"""The values of ``net.architecture``."""


def _positive_int(key: str, value: object, example: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(
            f"net.{key}={value!r}: it must be an int >= 1, e.g. net.{key}={example}."
        )


@dataclass
class ArchitectureOptions:
    """``architecture`` and random weight factorisation (``rwf``, ``rwf_mean``, ``rwf_std``)."""

    architecture: str = "plain"
    rwf: bool = False
    rwf_mean: float = 1.0
    rwf_std: float = 0.1

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check every option this schema holds (subclasses extend it)."""
        if self.architecture not in ARCHITECTURES:
            guess = nearest(str(self.architecture), ARCHITECTURES)
            hint = f" Did you mean {guess!r}?" if guess else ""
            raise ConfigurationError(
                f"net.architecture={self.architecture!r} is not an architecture; choose one of "
                f"{list(ARCHITECTURES)} (e.g. net.architecture=modified).{hint}"
            )
        check_rwf(self.rwf_mean, self.rwf_std)

    def rwf_pair(self) -> tuple[float, float] | None:
        """``(rwf_mean, rwf_std)`` when ``rwf`` is on, else None."""
        return (self.rwf_mean, self.rwf_std) if self.rwf else None


@dataclass
class PeriodicOptions(ArchitectureOptions):
    """Adds the exact periodic embedding: ``periodic`` (coordinate -> period), ``periodic_modes``.
    """

    # Keys: coordinate names or column indices (Any: OmegaConf then takes `{x: 2.0}` and
    # `{0: 2.0}`). An empty dict, not None: Hydra cannot merge `net.periodic={x:2.0}` into a None
    # Optional dict node (OmegaConf 2.3 raises AttributeError).
    periodic: dict[Any, float] = field(default_factory=dict)
    periodic_modes: int = 1

    def validate(self) -> None:
        super().validate()
        _positive_int("periodic_modes", self.periodic_modes, "2")
        if self.periodic is None:
            self.periodic = {}
        if not isinstance(self.periodic, Mapping):
            raise ConfigurationError(
                f"net.periodic={self.periodic!r}: give a mapping coordinate -> period, e.g. "
                "net.periodic={x:2.0} ({} for none)."
            )
        for key, period in self.periodic.items():
            if (
                isinstance(period, bool)
                or not isinstance(period, (int, float))
                or not (math.isfinite(period) and period > 0)
            ):
                raise ConfigurationError(
                    f"net.periodic.{key}={period!r}: a period must be a finite number > 0, e.g. "
                    f"net.periodic={{{key}:2.0}}."
                )


@dataclass
class FourierOptions(PeriodicOptions):
    """Adds random Fourier features: ``fourier_features`` (0: none) and ``fourier_scale``."""

    fourier_features: int = 0
    fourier_scale: float = 1.0

    def validate(self) -> None:
        super().validate()
        features = self.fourier_features
        if isinstance(features, bool) or not isinstance(features, int) or features < 0:
            raise ConfigurationError(
                f"net.fourier_features={features!r}: it must be an int >= 0 (0 switches the "
                "features off), e.g. net.fourier_features=64."
            )
        check_fourier(
            max(features, 1), self.fourier_scale, ("net.fourier_features", "net.fourier_scale")
        )


def resolve_periods(
    periodic: Mapping[Any, float] | None, in_dim: int, coordinates: Sequence[str] | None
) -> dict[int, float]:
    """Turn ``{coordinate: period}`` into ``{column: period}``.

    A key is a column index (an int, or a string of digits) or a coordinate name, looked up in
    ``coordinates`` (the problem's coordinate names, in column order).

    Raises:
        ConfigurationError: An index out of range, an unknown name (or a name while the
            coordinate names are unknown), or one column given twice.
    """
    columns: dict[int, float] = {}
    for key, period in (periodic or {}).items():
        text = str(key)
        if isinstance(key, bool) or not isinstance(key, (int, str)):
            raise ConfigurationError(
                f"net.periodic: the key {key!r} is neither a coordinate name nor a column index; "
                "write e.g. net.periodic={x:2.0} or net.periodic={0:2.0}."
            )
        if isinstance(key, int) or text.isdigit():
            column = int(text)
            if column >= in_dim:
                raise ConfigurationError(
                    f"net.periodic: column {column} is out of range; the input has {in_dim} "
                    f"coordinates (0..{in_dim - 1})."
                )
        elif coordinates is None:
            raise ConfigurationError(
                f"net.periodic: the coordinate {text!r} cannot be resolved: the network was built "
                "without coordinate names. Give its column index instead, e.g. "
                f"net.periodic={{0:{period}}}, or build with "
                "coordinates=problem.space.coordinate_names()."
            )
        elif text in coordinates:
            column = list(coordinates).index(text)
        else:
            guess = nearest(text, list(coordinates))
            hint = f" Did you mean {guess!r}?" if guess else ""
            raise ConfigurationError(
                f"net.periodic: {text!r} is not a coordinate; the coordinates are "
                f"{list(coordinates)}.{hint}"
            )
        if column in columns:
            raise ConfigurationError(
                f"net.periodic: column {column} is given twice ({periodic!r})."
            )
        columns[column] = float(period)
    return columns
