"""Spaces: ordered, named coordinate variables (``R1('t') * R2('x')``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from deepinn._errors import ConfigurationError

__all__ = ["R1", "R2", "R3", "Rn", "Space"]


class Space:
    """An ordered product of named variables, each with a dimension.

    ``R2('x')`` has one variable ``x`` of dimension 2; ``R1('t') * R2('x')`` has ``t`` then ``x``
    and dimension 3. Columns of a points tensor follow the variables' order.
    """

    def __init__(self, variables: Mapping[str, int]) -> None:
        if not variables:
            raise ConfigurationError("A space needs at least one variable, got none.")
        for name, dim in variables.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise ConfigurationError(
                    f"Variable name {name!r} is not a valid identifier; use e.g. 'x' or 't'."
                )
            if not isinstance(dim, int) or dim < 1:
                raise ConfigurationError(
                    f"Variable {name!r} has dimension {dim!r}; it must be a positive integer."
                )
        self.variables: dict[str, int] = dict(variables)

    @property
    def dim(self) -> int:
        """The total number of coordinates."""
        return sum(self.variables.values())

    @property
    def names(self) -> tuple[str, ...]:
        """The variable names, in column order."""
        return tuple(self.variables)

    def slice(self, name: str) -> slice:
        """The columns that hold variable ``name``."""
        start = 0
        for var, dim in self.variables.items():
            if var == name:
                return slice(start, start + dim)
            start += dim
        raise ConfigurationError(
            f"Variable {name!r} is not in {self!r}; its variables are {list(self.variables)}."
        )

    def coordinate_names(self) -> list[str]:
        """One name per column: the variable name, indexed when its dimension exceeds one."""
        names: list[str] = []
        for var, dim in self.variables.items():
            names.extend([var] if dim == 1 else [f"{var}{i}" for i in range(dim)])
        return names

    def column(self, name: str) -> int:
        """The column of a one-dimensional variable (``'t'``) or an indexed one (``'x1'``)."""
        names = self.coordinate_names()
        if name in names:
            return names.index(name)
        raise ConfigurationError(
            f"Coordinate {name!r} is not in {self!r}; its coordinates are {names}."
        )

    def __mul__(self, other: Space) -> Space:
        if not isinstance(other, Space):
            return NotImplemented
        overlap = set(self.variables) & set(other.variables)
        if overlap:
            raise ConfigurationError(
                f"Cannot take the product of {self!r} and {other!r}: both contain "
                f"{sorted(overlap)}. Rename one variable, e.g. R1('t') * R2('x')."
            )
        return Space({**self.variables, **other.variables})

    def __contains__(self, name: object) -> bool:
        return name in self.variables

    def __iter__(self) -> Iterator[str]:
        return iter(self.variables)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and list(self.variables.items()) == list(
            other.variables.items()
        )

    def __hash__(self) -> int:
        return hash(tuple(self.variables.items()))

    def __repr__(self) -> str:
        return " * ".join(f"R{dim}({name!r})" for name, dim in self.variables.items())


def Rn(name: str, dim: int) -> Space:  # noqa: N802 - mathematical name
    """The space of one variable ``name`` with ``dim`` coordinates."""
    return Space({name: dim})


def R1(name: str) -> Space:  # noqa: N802
    """The real line, one variable ``name``."""
    return Rn(name, 1)


def R2(name: str) -> Space:  # noqa: N802
    """The plane, one two-dimensional variable ``name``."""
    return Rn(name, 2)


def R3(name: str) -> Space:  # noqa: N802
    """Three-dimensional space, one variable ``name``."""
    return Rn(name, 3)
