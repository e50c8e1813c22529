"""Checks of a problem's arguments: the domain's dimension, point counts, positive parameters."""

from __future__ import annotations

from collections.abc import Sequence

from deepinn._errors import ConfigurationError
from deepinn.domains import AbstractDomain

__all__ = ["check_counts", "check_positive", "require_dim"]

_DOMAIN_EXAMPLES = {
    1: "domain=interval",
    2: "domain=parallelogram (or circle, triangle, polygon)",
    3: "domain=box (or sphere)",
}


def require_dim(problem: str, domain: AbstractDomain, dims: Sequence[int]) -> None:
    """Fail with the domain's dimension and the valid choices unless ``domain.dim`` is in ``dims``.

    Raises:
        ConfigurationError: The domain has another dimension.
    """
    if domain.dim in dims:
        return
    wanted = " or ".join(f"{d}-D" for d in dims)
    examples = "; ".join(_DOMAIN_EXAMPLES[d] for d in dims if d in _DOMAIN_EXAMPLES)
    raise ConfigurationError(
        f"Problem {problem!r} needs a {wanted} domain; {domain!r} has dimension {domain.dim}. "
        f"Pick {examples}."
    )


def check_counts(problem: str, **counts: int) -> None:
    """Fail unless every named point count is a positive int.

    Raises:
        ConfigurationError: Naming the count and its value.
    """
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigurationError(
                f"problem={problem}: {name} = {value!r}; a constraint needs a positive number of "
                f"points, e.g. problem.{name}=1000."
            )


def check_positive(problem: str, **values: float) -> None:
    """Fail unless every named parameter is a finite number > 0.

    Raises:
        ConfigurationError: Naming the parameter and its value.
    """
    for name, value in values.items():
        if not (float(value) > 0.0 and float(value) < float("inf")):
            raise ConfigurationError(
                f"problem={problem}: {name} = {value!r}; it must be a finite number > 0."
            )
