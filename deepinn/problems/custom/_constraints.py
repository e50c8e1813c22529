"""One configured constraint (``problem.constraints.<name>``) built through the registry."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import torch

from deepinn._errors import ConfigurationError, UnknownNameError, nearest
from deepinn.constraints import AbstractConstraint
from deepinn.expressions import Expression
from deepinn.problems._problem import MakeSampler
from deepinn.problems.custom._data import read_table
from deepinn.problems.custom._domain import ON_CHOICES, Geometry
from deepinn.problems.custom._schema import DEFAULT_POINTS, ConstraintSpec

__all__ = ["DEFAULT_ON", "NEEDS", "build_constraint", "default_on"]

DEFAULT_ON = {"pde": "interior", "initial": "initial", "data": "data"}
"""``at`` when not given, by kind (any other kind: ``boundary``; a kind unknown to deepinn whose
name is not here: ``interior`` unless it is a boundary kind)."""

_BOUNDARY_KINDS = ("dirichlet", "neumann", "robin", "periodic")

NEEDS = {
    "pde": "residual",
    "dirichlet": "value",
    "neumann": "value",
    "robin": "value",
    "initial": "value",
    "data": "file",
}
"""The key a built-in kind cannot do without."""

_EXAMPLES = {
    "residual": "residual: '-laplacian(u) - 1'",
    "value": "value: '0'",
    "file": "file: observations.csv",
}

_VALUE_KEYWORD = {"neumann": "flux"}
"""The constraint's own name for ``value`` where it differs (Neumann's flux du/dn)."""

Compile = Callable[..., Expression]


def default_on(kind: str, spec: ConstraintSpec) -> str:
    if spec.at is not None:
        return spec.at
    if spec.file is not None:
        return "data"
    if kind in DEFAULT_ON:
        return DEFAULT_ON[kind]
    return "boundary" if kind in _BOUNDARY_KINDS else "interior"


def _check(spec: ConstraintSpec, key: str, kind: str, on: str, geometry: Geometry) -> None:
    if on not in ON_CHOICES:
        hint = nearest(on, ON_CHOICES)
        raise ConfigurationError(
            f"{key}.at = {on!r} is not a place to draw points; use one of "
            f"{', '.join(ON_CHOICES)}{f'. Did you mean {hint!r}?' if hint else '.'} (A part of "
            "the boundary is chosen with where: e.g. where: 'x < 0'.)"
        )
    if kind == "initial" and on != "initial":
        raise ConfigurationError(
            f"{key}.at = {on!r}: an 'initial' constraint holds at t0 on the spatial domain; "
            "use at: initial (or omit at)."
        )
    if kind in ("neumann", "robin") and on != "boundary":
        raise ConfigurationError(
            f"{key}.at = {on!r}: a {kind!r} condition takes the outward normal derivative, which "
            "exists on the boundary only; use at: boundary (or omit at), and where: to pick a "
            "part of it."
        )
    if on == "initial" and geometry.time is None:
        raise ConfigurationError(
            f"{key}.at = 'initial' but the problem is steady; set problem.time: [t0, t1] "
            "(and a time coordinate) for an initial condition."
        )
    if (on == "data") != (spec.file is not None):
        raise ConfigurationError(
            f"{key}: at: data reads its points from a file and file reads data only: "
            + (f"give {key}.file (a .csv or .npz)." if spec.file is None
               else f"set {key}.at: data.")
        )
    needed = NEEDS.get(kind)
    if needed is not None and getattr(spec, needed) is None:
        raise ConfigurationError(
            f"{key}.{needed} is missing: a {kind!r} constraint needs it, e.g. {_EXAMPLES[needed]}."
        )
    n = spec.n
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ConfigurationError(f"{key}.n = {n!r}; give a positive number of points, e.g. 1000.")
    if not (spec.weight >= 0.0 and math.isfinite(spec.weight)):
        raise ConfigurationError(
            f"{key}.weight = {spec.weight!r}; use a finite weight >= 0 (0 switches the term off)."
        )


def _outputs(spec: ConstraintSpec, key: str, outputs: tuple[str, ...]) -> tuple[str, ...] | None:
    if spec.outputs is None:
        return None
    chosen = tuple(str(o) for o in spec.outputs)
    for name in chosen:
        if name not in outputs:
            hint = nearest(name, outputs)
            raise ConfigurationError(
                f"{key}.outputs: unknown output {name!r}; the outputs are {list(outputs)}"
                + (f". Did you mean {hint!r}?" if hint else ".")
            )
    if not chosen:
        raise ConfigurationError(f"{key}.outputs is empty; name at least one output or omit it.")
    return chosen


def _mapped_outputs(
    spec: ConstraintSpec, key: str, outputs: tuple[str, ...], chosen: tuple[str, ...] | None
) -> tuple[str, ...] | None:
    """The outputs a per-output ``value`` or ``rate`` mapping names (``{u: "0", v: "1"}``):
    those the condition applies to, in the problem's order; they must match ``outputs:``."""
    for field_name in ("value", "rate"):
        given = getattr(spec, field_name)
        if not isinstance(given, Mapping):
            continue
        names = [str(name) for name in given]
        unknown = [name for name in names if name not in outputs]
        if unknown or not names:
            raise ConfigurationError(
                f"{key}.{field_name} names {names} but the outputs are {list(outputs)}; give one "
                f"expression per output the condition applies to, e.g. {field_name}: "
                f"{{{outputs[0]}: '0'}}."
            )
        if chosen is not None and set(chosen) != set(names):
            raise ConfigurationError(
                f"{key}.{field_name} names {names} but {key}.outputs is {list(chosen)}; give one "
                "expression per output of the condition (or leave outputs out: the mapping "
                "names them)."
            )
        if chosen is None:
            chosen = tuple(o for o in outputs if o in names)
    return chosen


def _values(
    given: Any, key: str, chosen: tuple[str, ...] | None, function: Compile
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A value or rate: one expression, or one per output of a mapping, as columns."""
    if not isinstance(given, Mapping):
        return function(str(given), key)
    columns = [function(str(given[o]), f"{key}.{o}") for o in chosen or given]

    def values(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([column(x) for column in columns], dim=1)

    return values


_WHERE_PROBE = 4096
"""Points of the domain a ``where:`` condition is tried on when the problem is built."""


def _sampler(
    spec: ConstraintSpec, key: str, domain: Any, n: int, registry: Any,
    make_sampler: MakeSampler, function: Compile,
) -> Any:
    sampler = make_sampler(domain, n)
    if spec.sampler is not None:
        try:
            registry.samplers.get(spec.sampler)
        except UnknownNameError as error:
            raise ConfigurationError(f"{key}.sampler: {error}") from None
        seed = getattr(sampler, "seed", None)
        sampler = registry.samplers.build(spec.sampler, None, domain=domain, n_points=n, seed=seed)
    if spec.where is not None:
        where = function(spec.where, f"{key}.where", tuple(domain.space.coordinate_names()))
        if not hasattr(sampler, "filter_fn"):
            raise ConfigurationError(
                f"{key}.where: the sampler {sampler!r} cannot filter points (no filter_fn)."
            )
        sampler.filter_fn = lambda points: where(points)[:, 0] != 0
        probe = domain.sample_uniform(_WHERE_PROBE, torch.Generator().manual_seed(0))
        if not bool(sampler.filter_fn(probe.to(torch.get_default_dtype())).any()):
            raise ConfigurationError(
                f"{key}.where = {spec.where!r} holds at none of {_WHERE_PROBE} points spread over "
                f"{domain!r}, so the constraint would get no points. Check the condition: it is "
                "true where the constraint applies (e.g. where: 'x < 0' for the left part)."
            )
    return sampler


def build_constraint(
    name: str, spec: ConstraintSpec, *, registry: Any, geometry: Geometry,
    outputs: tuple[str, ...], make_sampler: MakeSampler, residual: Compile, function: Compile,
) -> AbstractConstraint:
    """Build ``problem.constraints.<name>`` through ``registry.constraints``.

    Raises:
        ConfigurationError: Naming the key: an unknown kind (with the nearest), ``at``,
            output or sampler, a bad count, a missing residual/value/file, an expression error
            or a parameter the kind does not take.
    """
    key = f"problem.constraints.{name}"
    try:
        registration = registry.constraints.get(spec.kind)
    except UnknownNameError as error:
        raise ConfigurationError(
            f"{key}.kind: {error} (deepinn plugins --kind constraint lists them.)"
        ) from None
    kind = spec.kind
    on = default_on(kind, spec)
    _check(spec, key, kind, on, geometry)
    chosen = _mapped_outputs(spec, key, outputs, _outputs(spec, key, outputs))
    context: dict[str, Any] = {"name": name, "space": geometry.domain.space}
    if on == "data":
        points, values, present = read_table(
            str(spec.file), f"{key}.file", geometry.coordinates, chosen or outputs, geometry.time,
            require_all=chosen is not None,
        )
        if spec.n is not None:
            if spec.n > len(points):
                raise ConfigurationError(
                    f"{key}.n = {spec.n} but {spec.file} has {len(points)} rows; ask for at most "
                    f"{len(points)} or omit n (all rows)."
                )
            points, values = points[: spec.n], values[: spec.n]
        context.update(points=points, values=values, outputs=present)
    else:
        places = {"interior": geometry.domain, "boundary": geometry.boundary}
        domain = places.get(on, geometry.spatial)
        n = DEFAULT_POINTS if spec.n is None else spec.n
        context["sampler"] = _sampler(spec, key, domain, n, registry, make_sampler, function)
        if chosen is not None or kind in (*_BOUNDARY_KINDS, "initial"):
            context["outputs"] = chosen or outputs
    if on == "initial":
        context.update(time=geometry.time, t0=geometry.t0)
    expression = None
    if spec.residual is not None:
        expression = residual(spec.residual, f"{key}.residual")
        context["residual"] = expression
    for field_name in ("source", "value", "rate"):
        text = getattr(spec, field_name)
        if text is not None:
            keyword = _VALUE_KEYWORD.get(kind, field_name) if field_name == "value" else field_name
            context[keyword] = _values(text, f"{key}.{field_name}", chosen, function)
    fields = {f.name for f in dataclasses.fields(registration.schema)}
    params: dict[str, Any] = {"weight": spec.weight} if "weight" in fields else {}
    for param, value in spec.params.items():
        if param in context or param in ConstraintSpec.__dataclass_fields__:
            raise ConfigurationError(
                f"{key}.params.{param}: set by the constraint's own key ({key}.{param} or from "
                "the problem); remove it from params."
            )
        (params if param in fields else context)[param] = value
    try:
        constraint: AbstractConstraint = registry.constraints.build(kind, params, **context)
    except TypeError as error:
        missing = re.search(
            r"missing \d+ required (?:keyword-only |positional )?arguments?: (.+)", str(error)
        )
        if missing:
            names = re.findall(r"'(\w+)'", missing.group(1))
            shown = ", ".join(f"params.{name}" for name in names)
            raise ConfigurationError(
                f"{key}: the {kind!r} constraint needs {shown}, which is not given; add it, e.g. "
                f"{key}: {{kind: {kind}, ..., params: {{{names[0]}: ...}}}} (docs/yaml_pde.md "
                "lists what each kind needs)."
            ) from None
        raise ConfigurationError(
            f"{key}: the {kind!r} constraint does not take what was given ({error}). Remove "
            f"that key, or pick a kind that uses it; its keys: at, n, sampler, where, weight, "
            "outputs and those it needs (pde: residual, source; dirichlet/robin/initial: value; "
            "neumann: value (the flux); initial: rate; data: file; params: alpha, beta, shift, "
            "derivatives ...)."
        ) from None
    except ConfigurationError as error:
        raise ConfigurationError(f"{key}: {error}") from None
    if "weight" not in fields:
        constraint.weight = float(spec.weight)
    if expression is not None:
        _set_hints(constraint, expression)
    return constraint


def _set_hints(constraint: AbstractConstraint, expression: Expression) -> None:
    """The residual's derivative hints on the constraint (forward-Laplacian fast path)."""
    constraint.infer_hints = False  # the expression's parse knows them
    own = getattr(type(constraint), "order", 0)
    constraint.order = max(expression.order, own if isinstance(own, int) else 0)
    previous = getattr(constraint, "second_order", None)
    hint = expression.second_order
    if previous is not None and hint is not None and tuple(previous) != tuple(hint):
        hint = tuple(c for c in expression.coordinates if c in {*previous, *hint})
        constraint.laplacian_only = False
    else:
        constraint.laplacian_only = bool(expression.laplacian_only and hint is not None)
    constraint.second_order = hint if hint is not None else previous
