"""A PDE problem: a domain, the constraints of its loss, and its solution where known."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import torch

from deepinn._errors import ConfigurationError
from deepinn.constraints import AbstractConstraint
from deepinn.domains import AbstractDomain
from deepinn.nn._transform import Transform
from deepinn.problems._gauge import check_gauge, modulo_gauge

__all__ = ["MakeSampler", "Problem", "mostly_outside", "zero_value"]


def zero_value(x: torch.Tensor) -> torch.Tensor:
    """The value 0 at every point of ``x`` (N, d), as (N, 1) of its dtype and device: the
    homogeneous condition's value."""
    return torch.zeros(len(x), 1, dtype=x.dtype, device=x.device)


def mostly_outside(
    domain: AbstractDomain, points: torch.Tensor
) -> tuple[float, list[float]] | None:
    """The share of ``points`` outside ``domain`` and one of them, when most of them are (None
    otherwise, or when the domain cannot tell): points placed in the wrong range or order."""
    x = points.detach().to(torch.float64).cpu()
    if len(x) == 0:
        return None
    try:
        inside = domain.contains(x)
    except NotImplementedError:  # a domain that cannot tell: nothing to check
        return None
    share = 1.0 - float(inside.double().mean())
    if share <= 0.5:
        return None
    return share, x[~inside][0].tolist()


class MakeSampler(Protocol):
    """Builds the configured sampler for one constraint: ``make_sampler(domain, n_points)``.

    ``deepinn train`` passes a :class:`deepinn.samplers.SamplerFactory`; any callable of this
    shape will do (a test's ``lambda domain, n: RandomUniformSampler(domain, n)``).
    """

    def __call__(self, domain: AbstractDomain, n_points: int) -> object: ...


class Problem:
    """Everything a PINN needs to know about one PDE.

    Args:
        name: The problem's name (logged and written to ``metrics.json``).
        domain: The input domain (space-time for time-dependent problems).
        constraints: The loss terms; their names must be unique.
        outputs: The network's output names, e.g. ``('u',)`` or ``('u', 'v', 'p')``.
        exact: The exact solution ``exact(x) -> (N, len(outputs))`` if known.
        reference: ``(points, values)`` of a reference solution when no closed form exists.
        parameters: Learnable PDE coefficients (inverse problems), trained with the network.
        true_parameters: The coefficients' true values, to report the recovery error.
        output_transform: ``transform(x, raw) -> u``: the solution is this function of the points
            (N, d) and the network's raw outputs (N, k), e.g. ``g(x) + d(x) * raw`` with ``d``
            zero where ``u = g`` is prescribed, so that condition holds exactly for every weight
            (:class:`~deepinn.nn.OutputTransform`; the loss, PINNLoss, wraps the network).
        gauge: Outputs determined only up to a constant, output -> ``'mean'`` (e.g.
            ``{'p': 'mean'}`` for an incompressible pressure): their error is measured modulo
            that constant (see :meth:`modulo_gauge`).
    """

    def __init__(
        self,
        name: str,
        domain: AbstractDomain,
        constraints: Sequence[AbstractConstraint],
        outputs: Sequence[str] = ("u",),
        exact: Callable[[torch.Tensor], torch.Tensor] | None = None,
        reference: tuple[torch.Tensor, torch.Tensor] | None = None,
        parameters: Mapping[str, torch.nn.Parameter] | None = None,
        true_parameters: Mapping[str, float] | None = None,
        output_transform: Transform | None = None,
        gauge: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ConfigurationError(
                f"Problem name = {name!r}; give a non-empty string (it names the run's logs and "
                "metrics.json)."
            )
        if not isinstance(domain, AbstractDomain):
            raise ConfigurationError(
                f"Problem {name!r}: domain = {domain!r} is a {type(domain).__name__}, not a "
                "domain; give one, e.g. dp.domains.Parallelogram(X, [0, 0], [1, 0], [0, 1])."
            )
        for constraint in constraints:
            if not isinstance(constraint, AbstractConstraint):
                raise ConfigurationError(
                    f"Problem {name!r}: {constraint!r} ({type(constraint).__name__}) is not a "
                    "constraint; list constraints such as dp.constraints.PDEConstraint(...) or "
                    "dp.constraints.DirichletBC(...)."
                )
        outputs = tuple(outputs) if not isinstance(outputs, str) else (outputs,)
        if not outputs or not all(isinstance(o, str) and o for o in outputs):
            raise ConfigurationError(
                f"Problem {name!r}: outputs = {outputs!r}; give the network's output names, "
                "e.g. ('u',) or ('u', 'v', 'p')."
            )
        if len(set(outputs)) != len(outputs):
            raise ConfigurationError(
                f"Problem {name!r}: outputs = {outputs!r} names an output twice; give each its "
                "own name."
            )
        if exact is not None and not callable(exact):
            raise ConfigurationError(
                f"Problem {name!r}: exact = {exact!r} is not callable; give a function "
                f"exact(x) -> (N, {len(outputs)}) of the points, or None."
            )
        if exact is not None and reference is not None:
            raise ConfigurationError(
                f"Problem {name!r} has both an exact solution and a reference; give one: exact "
                "for a closed form, reference=(points, values) for tabulated values."
            )
        names = [constraint.name for constraint in constraints]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigurationError(
                f"Problem {name!r} has several constraints named {duplicates}; give each its own "
                "name (it names the logged loss)."
            )
        if not constraints:
            raise ConfigurationError(f"Problem {name!r} has no constraints; add at least one.")
        for constraint in constraints:
            named = getattr(constraint, "outputs", ())
            named = [named] if isinstance(named, str) else named
            unknown = [o for o in named if o not in outputs]
            if unknown:
                raise ConfigurationError(
                    f"Problem {name!r}: constraint {constraint.name!r} is on output(s) {unknown}, "
                    f"but the problem's outputs are {list(outputs)}; name one of those (or add "
                    "it to outputs=...)."
                )
            if constraint.space != domain.space:
                raise ConfigurationError(
                    f"Constraint {constraint.name!r} lives in {constraint.space!r} but problem "
                    f"{name!r} is posed in {domain.space!r}."
                )
        self.name = name
        self.domain = domain
        self.space = domain.space
        self.constraints = list(constraints)
        self.outputs = outputs
        self.exact = exact
        self.reference = None if reference is None else self._checked_reference(reference)
        self.parameters = dict(parameters or {})
        self.true_parameters = dict(true_parameters or {})
        if output_transform is not None and not callable(output_transform):
            raise ConfigurationError(
                f"Problem {name!r}: output_transform = {output_transform!r} is not callable; "
                "give a function transform(x, raw) -> u, or None."
            )
        self.output_transform = output_transform
        self.gauge = check_gauge(name, gauge, outputs)

    def modulo_gauge(self, prediction: torch.Tensor, solution: torch.Tensor) -> torch.Tensor:
        """``prediction`` (N, len(outputs)) with the free constant of every gauged output
        removed against ``solution`` (its mean difference subtracted), ready for an error
        measure; unchanged when the problem declares no gauge."""
        return modulo_gauge(prediction, solution, self.gauge, self.outputs)

    @property
    def has_solution(self) -> bool:
        """Whether the problem can measure an error (exact or reference solution)."""
        return self.exact is not None or self.reference is not None

    def evaluation_set(
        self, n_points: int = 10_000, seed: int = 1234
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Points (float64) to measure the error on, and the solution there (None if unknown).

        A reference solution gives its own points; otherwise ``n_points`` uniform points of the
        domain, drawn from a fixed seed so every run and rank measures on the same set.
        """
        if self.reference is not None:
            points, values = self.reference
            return points.to(torch.float64), values.to(torch.float64)
        generator = torch.Generator().manual_seed(seed)
        points = self.domain.sample_uniform(n_points, generator).to(torch.float64)
        if self.exact is None:
            return points, None
        try:
            with torch.no_grad():
                values = torch.as_tensor(self.exact(points)).to(torch.float64)
        except Exception as error:
            raise ConfigurationError(
                f"Problem {self.name!r}: exact(x) failed on {len(points)} points of shape "
                f"{tuple(points.shape)} ({type(error).__name__}: {error}); fix the function or "
                "leave exact out."
            ) from error
        return points, self._solution_values(points, values, "exact(x)")

    def _solution_values(
        self, points: torch.Tensor, values: torch.Tensor, what: str
    ) -> torch.Tensor:
        """``values`` as (N, len(outputs)) (a column for one output may come as (N,)), finite."""
        k, n = len(self.outputs), len(points)
        if values.dim() == 1 and k == 1:
            values = values.unsqueeze(1)
        if values.dim() == 0 or values.shape != (n, k):
            raise ConfigurationError(
                f"Problem {self.name!r}: {what} has shape {tuple(values.shape)} for {n} points; "
                f"it must be ({n}, {k}): a row per point, a column per output {list(self.outputs)}."
            )
        finite = torch.isfinite(values).all(dim=1)
        if not bool(finite.all()):
            first = points[~finite][0].tolist()
            raise ConfigurationError(
                f"Problem {self.name!r}: {what} is not finite at {int((~finite).sum())} of {n} "
                f"points (the first at x = {first}); the error against it would be nan. Fix it "
                "or leave it out."
            )
        return values

    def _checked_reference(
        self, reference: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The reference's points (N, dim) and values (N, len(outputs)), checked."""
        if not isinstance(reference, (tuple, list)) or len(reference) != 2:
            raise ConfigurationError(
                f"Problem {self.name!r}: reference must be a pair (points, values), got "
                f"{type(reference).__name__}."
            )
        points, values = (torch.as_tensor(part) for part in reference)
        dim = self.space.dim
        if points.dim() == 1 and dim == 1:
            points = points.unsqueeze(1)
        if points.dim() != 2 or points.shape[1] != dim or len(points) == 0:
            raise ConfigurationError(
                f"Problem {self.name!r}: the reference points have shape {tuple(points.shape)}; "
                f"they must be (N, {dim}) with N >= 1, a row per point of {self.space!r}."
            )
        if not bool(torch.isfinite(points).all()):
            raise ConfigurationError(
                f"Problem {self.name!r}: the reference points are not all finite; give finite "
                "coordinates (the error is measured at them)."
            )
        outside = mostly_outside(self.domain, points)
        if outside is not None:
            raise ConfigurationError(
                f"Problem {self.name!r}: most reference points (e.g. {outside[1]}) lie outside the "
                f"domain {self.domain!r}; give "
                "the solution's values at points of the domain, in the order of its coordinates "
                f"{self.space.coordinate_names()}."
            )
        return points, self._solution_values(points, values, "the reference values")

    def configure_weights(self, weights: Mapping[str, float]) -> None:
        """Override constraint weights by name; an unknown name lists the constraints."""
        by_name = {constraint.name: constraint for constraint in self.constraints}
        for name, weight in weights.items():
            if name not in by_name:
                raise ConfigurationError(
                    f"weights.{name}: problem {self.name!r} has no constraint {name!r}; its "
                    f"constraints are {sorted(by_name)}."
                )
            if not (float(weight) >= 0.0 and math.isfinite(float(weight))):
                raise ConfigurationError(
                    f"weights.{name} = {weight!r}; use a finite weight >= 0 (0 switches the "
                    "term off)."
                )
            by_name[name].weight = float(weight)

    def __repr__(self) -> str:
        names = ", ".join(c.name for c in self.constraints)
        return f"Problem({self.name!r}, {self.space!r}, constraints=[{names}])"
