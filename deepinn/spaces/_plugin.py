"""Built-in plugin: the spaces R1, R2, R3."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from deepinn.plugins._hookspecs import hookimpl
from deepinn.plugins._registration import Registration
from deepinn.spaces._space import Rn, Space


@dataclass
class SpaceParams:
    """Parameters of a Euclidean space with one named variable."""

    variable: str = "x"


def _factory(dim: int) -> Callable[[SpaceParams], Space]:
    def build(params: SpaceParams) -> Space:
        return Rn(params.variable, dim)

    build.__name__ = f"build_r{dim}"
    return build


@hookimpl
def deepinn_spaces() -> list[Registration]:
    return [
        Registration(f"r{dim}", _factory(dim), SpaceParams, f"R^{dim} with one named variable")
        for dim in (1, 2, 3)
    ]
