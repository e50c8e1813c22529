"""``problem=custom``: a PDE problem written in configuration (docs/yaml_pde.md).

Coordinates, the domain (the ``domain`` group, times ``time: [t0, t1]``), outputs, parameters,
learnable coefficients and named constraints. Each constraint is built through the registry by
its registered kind (``registry.constraints.build(kind, params, **context)``), so a plugin's
constraint kind is configured like the built-in ones; residuals, values and sources are
expressions (:mod:`deepinn.expressions`) whose derivative operators are the registered
operators that have an expression form, and whose derivative hints are set on the constraint.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import torch

from deepinn._errors import ConfigurationError
from deepinn.constraints import AbstractConstraint
from deepinn.domains import AbstractDomain
from deepinn.expressions import (
    CONSTANTS,
    OPERATORS,
    Expression,
    ExpressionOperator,
    compile_function,
    compile_residual,
)
from deepinn.nn._transform import Transform
from deepinn.problems._problem import MakeSampler, Problem
from deepinn.problems.custom._constraints import build_constraint, default_on
from deepinn.problems.custom._data import read_table
from deepinn.problems.custom._domain import build_geometry
from deepinn.problems.custom._region import Mask, RegionProblem, union
from deepinn.problems.custom._schema import ConstraintSpec, CustomParams

__all__ = ["build_custom", "expression_operators"]


def expression_operators(registry: Any) -> dict[str, ExpressionOperator]:
    """The built-in expression operators plus every registered operator with an expression form.

    A registered operator offers one by giving its factory an attribute ``expression``, an
    :data:`~deepinn.expressions.ExpressionOperator`; it is then callable in expressions under its
    registered name.
    """
    operators = dict(OPERATORS)
    if registry is not None:
        for registration in registry.operators.registrations():
            form = getattr(registration.factory, "expression", None)
            if callable(form):
                operators[registration.name] = form
    return operators


def _names(values: Any, key: str, what: str) -> tuple[str, ...]:
    names = tuple(str(v) for v in values)
    if not names or len(set(names)) != len(names) or not all(n.isidentifier() for n in names):
        raise ConfigurationError(
            f"{key} = {list(names)}; give distinct {what} names (letters, digits, _), e.g. [u]."
        )
    return names


def _constant(value: Any, key: str, coordinates: tuple[str, ...], known: dict[str, float]) -> float:
    """A parameter's value: a number or an expression of constants and earlier parameters."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigurationError(
            f"{key} = {value!r}; give a number or an expression of constants, e.g. 0.01/pi."
        )
    if isinstance(value, str):
        expression = compile_function(value, key=key, coordinates=coordinates, parameters=known)
        if not expression.is_constant:
            used = sorted(expression.names & set(coordinates))
            raise ConfigurationError(
                f"{key} = {value!r} depends on the coordinate(s) {used}; a parameter is a "
                "constant. Write the term into the residual or source instead."
            )
        value = float(expression(torch.zeros(1, len(coordinates), dtype=torch.float64))[0, 0])
    if not math.isfinite(float(value)):
        raise ConfigurationError(f"{key} = {value!r}; a parameter must be finite.")
    return float(value)


def _learnable(
    params: CustomParams, taken: set[str]
) -> tuple[dict[str, torch.nn.Parameter], dict[str, float]]:
    parameters: dict[str, torch.nn.Parameter] = {}
    true_values: dict[str, float] = {}
    for name, spec in params.learnable.items():
        key = f"problem.learnable.{name}"
        if name in taken:
            raise ConfigurationError(
                f"{key}: {name!r} is already a coordinate, output or parameter; rename it."
            )
        # YAML 1.1 reads an unquoted key `true` as the boolean True: accept both.
        raw = dict(spec) if isinstance(spec, Mapping) else {"initial": spec}
        spec = {("true" if k is True else str(k)): v for k, v in raw.items()}
        unknown = sorted(set(spec) - {"initial", "true"})
        if unknown or "initial" not in spec:
            raise ConfigurationError(
                f"{key} = {spec!r}; give the initial value ({name}: 0.5) or "
                f"{{initial: 0.5, true: 2.0}} (true: the value to report the error against)."
            )
        initial = _constant(spec["initial"], f"{key}.initial", (), {})
        parameters[name] = torch.nn.Parameter(torch.tensor([initial]))
        if spec.get("true") is not None:
            true_values[name] = _constant(spec["true"], f"{key}.true", (), {})
    return parameters, true_values


def _per_output(
    value: Any, key: str, outputs: tuple[str, ...], what: str, every: bool
) -> dict[str, str]:
    """``{output: text}`` from one expression (one output) or a mapping output -> expression;
    ``every``: each output must be named, else a subset may be."""
    if isinstance(value, str):
        if len(outputs) > 1:
            raise ConfigurationError(
                f"{key} is one expression but there are {len(outputs)} outputs "
                f"{list(outputs)}; give a mapping, e.g. {key.split('.')[-1]}: {{u: ..., v: ...}}."
            )
        return {outputs[0]: value}
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f"{key} = {value!r}; give an expression of {what} or a mapping output -> expression."
        )
    texts = {str(k): str(v) for k, v in value.items()}
    unknown = sorted(set(texts) - set(outputs))
    missing = sorted(set(outputs) - set(texts)) if every else []
    if unknown or missing or not texts:
        raise ConfigurationError(
            f"{key} names {sorted(texts)} but the outputs are {list(outputs)}; give one "
            f"expression per output{'' if every else ' it sets'}."
        )
    return texts


def _refuse_learnable(
    expression: Expression, text: str, key: str, learnable: Iterable[str], why: str
) -> None:
    """Refuse an expression that names a learnable coefficient where it cannot learn."""
    used = sorted(expression.names & set(learnable))
    if used:
        raise ConfigurationError(
            f"{key}: {text!r} uses the learnable coefficient(s) {used}, but {why}."
        )


def _exact(
    params: CustomParams, coordinates: tuple[str, ...], outputs: tuple[str, ...],
    numbers: dict[str, float], learnable: Sequence[str] = (),
) -> Callable[[torch.Tensor], torch.Tensor] | None:
    if params.exact is None:
        return None
    texts = _per_output(params.exact, "problem.exact", outputs, "the coordinates", every=True)
    functions = []
    for o in outputs:
        key = f"problem.exact.{o}" if len(outputs) > 1 else "problem.exact"
        function = compile_function(
            texts[o], key=key, coordinates=coordinates, outputs=outputs,
            parameters={**numbers, **dict.fromkeys(learnable, 0.0)},
        )
        _refuse_learnable(
            function, texts[o], key, learnable,
            "the exact solution is a fixed function of the coordinates: write the coefficient's "
            "true value in it as a number (or as a problem.parameters entry)",
        )
        functions.append(function)

    def exact(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([f(x) for f in functions], dim=1)

    return exact


def _output_transform(
    params: CustomParams, coordinates: tuple[str, ...], outputs: tuple[str, ...],
    numbers: dict[str, float],
) -> Transform | None:
    """``problem.output_transform``: each named output as an expression of the coordinates and
    the network's raw outputs (unnamed outputs pass through)."""
    if params.output_transform is None:
        return None
    key = "problem.output_transform"
    texts = _per_output(
        params.output_transform, key, outputs, "the coordinates and outputs", every=False
    )
    names = (*coordinates, *outputs)
    functions = {
        o: compile_function(
            text, key=f"{key}.{o}" if len(outputs) > 1 else key, coordinates=names,
            parameters=numbers,
        )
        for o, text in texts.items()
    }
    for o, function in functions.items():
        if not function.names & set(outputs):
            raise ConfigurationError(
                f"{function.key} = {function.text!r} does not use the network's output, so the "
                f"solution would not depend on the network; write it as g + d*{o}, with d zero "
                "where the condition g holds."
            )

    def transform(x: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
        columns = torch.cat([x, raw], dim=1)
        return torch.cat(
            [
                functions[o](columns) if o in functions else raw[:, i : i + 1]
                for i, o in enumerate(outputs)
            ],
            dim=1,
        )

    return transform


def build_custom(
    params: CustomParams, domain: AbstractDomain, make_sampler: MakeSampler, registry: Any = None
) -> Problem:
    """The problem ``params`` describes, on ``domain`` (times ``params.time``).

    Args:
        registry: Where constraint kinds, samplers and expression operators are looked up
            (passed by the app); default: deepinn's built-in components only.

    Raises:
        ConfigurationError: Naming the key (``problem.constraints.wall.value``) and the fix.
    """
    if registry is None:
        from deepinn.plugins import load_registry

        registry = load_registry(entry_points=[])
    if not params.constraints:
        raise ConfigurationError(
            "problem.constraints is empty: problem=custom needs its loss terms, e.g. "
            "constraints: {pde: {kind: pde, residual: '-laplacian(u) - 1'}, wall: {kind: "
            "dirichlet, value: '0'}}. See docs/yaml_pde.md or +experiment=yaml_poisson_lshape."
        )
    time = None if params.time is None else list(params.time)
    geometry = build_geometry(domain, params.coordinates, time, params.time_coordinate)
    coordinates = geometry.coordinates
    outputs = _names(params.outputs, "problem.outputs", "output")
    clash = sorted(set(outputs) & set(coordinates))
    if clash:
        raise ConfigurationError(
            f"problem.outputs {list(outputs)} and problem.coordinates {list(coordinates)} share "
            f"{clash}; rename one."
        )
    numbers: dict[str, float] = {}
    for name, value in params.parameters.items():
        if name in coordinates or name in outputs:
            raise ConfigurationError(
                f"problem.parameters.{name}: {name!r} is already a coordinate or output; rename it."
            )
        if name in CONSTANTS:
            raise ConfigurationError(
                f"problem.parameters.{name}: {name!r} is a built-in constant of the expressions "
                f"({', '.join(CONSTANTS)}); give the parameter another name."
            )
        numbers[name] = _constant(value, f"problem.parameters.{name}", coordinates, numbers)
    learnable, true_values = _learnable(params, {*coordinates, *outputs, *numbers})
    operators = expression_operators(registry)
    disabled_note = registry.disabled_note() if hasattr(registry, "disabled_note") else ""

    def residual(text: str, key: str) -> Expression:
        return compile_residual(
            text, key=key, coordinates=coordinates, outputs=outputs,
            parameters={**numbers, **learnable}, operators=operators, time=geometry.time,
            unknown_note=disabled_note,
        )

    def function(text: str, key: str, on: tuple[str, ...] = coordinates) -> Expression:
        expression = compile_function(
            text, key=key, coordinates=on, outputs=outputs,
            parameters={**numbers, **dict.fromkeys(learnable, 0.0)},
        )
        _refuse_learnable(
            expression, text, key, learnable,
            "values and sources are computed once when the points are drawn, so they would get "
            "no gradient; move the term into the residual",
        )
        return expression

    constraints: list[AbstractConstraint] = []
    for name, spec in params.constraints.items():
        if not isinstance(spec, ConstraintSpec):
            spec = ConstraintSpec(**dict(spec))
        constraints.append(
            build_constraint(
                str(name), spec, registry=registry, geometry=geometry, outputs=outputs,
                make_sampler=make_sampler, residual=residual, function=function,
            )
        )
    exact = _exact(params, coordinates, outputs, numbers, tuple(learnable))
    reference = None
    if params.reference is not None:
        if exact is not None:
            raise ConfigurationError(
                "problem.exact and problem.reference are both set; keep one (the error is "
                "measured against it)."
            )
        points, values, _ = read_table(
            params.reference, "problem.reference", coordinates, outputs, geometry.time
        )
        reference = (points, values)
    arguments: dict[str, Any] = {
        "outputs": outputs, "exact": exact, "reference": reference, "parameters": learnable,
        "true_parameters": true_values,
        "output_transform": _output_transform(params, coordinates, outputs, numbers),
        "gauge": dict(params.gauge or {}),
    }
    region = _region(params, constraints)
    if region is not None:
        mask, where = region
        return RegionProblem(params.label, geometry.domain, constraints, region=mask,
                             where=where, **arguments)
    return Problem(params.label, geometry.domain, constraints, **arguments)


def _region(
    params: CustomParams, constraints: Sequence[AbstractConstraint]
) -> tuple[Mask, list[str]] | None:
    """The part of the domain the problem is solved on, when every constraint drawn from the
    interior keeps only the points where its ``where:`` holds (None: the whole domain)."""
    masks: list[Mask] = []
    where: list[str] = []
    for (name, spec), constraint in zip(params.constraints.items(), constraints, strict=True):
        spec = spec if isinstance(spec, ConstraintSpec) else ConstraintSpec(**dict(spec))
        if default_on(spec.kind, spec) != "interior":
            continue
        mask = getattr(getattr(constraint, "sampler", None), "filter_fn", None)
        if spec.where is None or mask is None:
            return None
        masks.append(mask)
        where.append(f"problem.constraints.{name}.where")
    return (union(masks), where) if masks else None

