"""The schema of ``problem=custom``: a PDE written in configuration (see docs/yaml_pde.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

__all__ = ["DEFAULT_POINTS", "ConstraintSpec", "CustomParams"]

DEFAULT_POINTS = 1000
"""Points of a sampled constraint when ``n`` is not given."""


@dataclass
class ConstraintSpec:
    """One named loss term (``problem.constraints.<name>``).

    Attributes:
        kind: A registered constraint name (``deepinn plugins --kind constraint``): pde,
            dirichlet, neumann, robin, periodic, initial, data, or a plugin's.
        at: Where the points come from: ``interior``, ``boundary`` (the spatial boundary, times
            the time interval when time-dependent), ``initial`` (the spatial domain at t0) or
            ``data`` (the rows of ``file``). Default by kind: pde -> interior, initial ->
            initial, data -> data, other kinds -> boundary.
        n: How many points (default 1000; for ``at: data``, every row of the file).
        sampler: A registered sampler name for this constraint (default: the run's ``sampler``).
        where: Keep only the points where this expression of the coordinates holds, e.g.
            ``"x < 0"`` for one end or ``"y > 0.999"`` for one wall.
        weight: Loss weight (0 switches the term off).
        residual: The PDE residual, an expression of outputs, derivatives, coordinates and
            parameters (``"u_t + u*u_x - nu*u_xx"``).
        source: A right-hand side subtracted from the residual, a function of the coordinates.
        value: The prescribed value (dirichlet, initial, robin: g; neumann: the flux du/dn):
            one expression of the coordinates, or a mapping output -> expression
            (``{u: "0", v: "1"}``), which also names the outputs the condition applies to.
        rate: The initial rate du/dt (kind ``initial``; second order in time problems); one
            expression or a mapping output -> expression, as ``value``.
        outputs: The outputs the condition applies to (default: all, or those a mapping
            ``value`` names).
        file: Observations (``.csv`` with a header, or ``.npz``) for ``at: data``: a path, or
            the name of a packaged data file.
        params: More parameters of the constraint kind, by name (``robin``: alpha, beta;
            ``periodic``: shift, derivatives; a plugin's own schema fields).
    """

    kind: str
    at: Optional[str] = None
    n: Optional[int] = None
    sampler: Optional[str] = None
    where: Optional[str] = None
    weight: float = 1.0
    residual: Optional[str] = None
    source: Optional[str] = None
    value: Any = None
    rate: Any = None
    outputs: Optional[list[str]] = None
    file: Optional[str] = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class CustomParams:
    """A problem written in configuration (the structured config of ``problem=custom``).

    Attributes:
        label: The problem's name in logs and ``metrics.json``.
        coordinates: The coordinate names in column order (``[x, y]``, ``[x, t]``); default:
            the domain's (``x0, x1`` for ``domain=parallelogram``) plus ``t`` when ``time`` is set.
        time: ``[t0, t1]``: the problem is time-dependent, on the domain times this interval.
        time_coordinate: The name of the time coordinate.
        outputs: The network's outputs (``[u]``, ``[u, v, p]``).
        parameters: Named constants: a number or an expression of constants and earlier
            parameters (``nu: 0.01/pi``).
        learnable: Coefficients trained with the network (inverse problems): ``k: 0.5`` (the
            initial value) or ``k: {initial: 0.5, true: 2.0}`` (the true value is reported).
        constraints: The loss terms by name (each names the logged loss).
        exact: The exact solution: an expression of the coordinates (one output) or a mapping
            output -> expression.
        reference: A reference solution file (``.npz``/``.csv``, a path or a packaged name such
            as ``burgers``) when no exact solution is known.
        output_transform: Conditions held exactly ("hard constraints"): an output as an
            expression of the coordinates and the network's raw outputs, e.g.
            ``"-sin(pi*x) + t*(1 - x**2)*u"`` (one output) or a mapping output -> expression
            (unnamed outputs pass through). The conditions it holds can leave the loss.
        gauge: Outputs determined only up to a constant, output -> ``mean`` (``{p: mean}``
            for an incompressible pressure): their error is measured modulo that constant.
    """

    label: str = "custom"
    coordinates: Optional[list[str]] = None
    time: Optional[list[float]] = None
    time_coordinate: str = "t"
    outputs: list[str] = field(default_factory=lambda: ["u"])
    parameters: dict[str, Any] = field(default_factory=dict)
    learnable: dict[str, Any] = field(default_factory=dict)
    constraints: dict[str, ConstraintSpec] = field(default_factory=dict)
    exact: Any = None
    reference: Optional[str] = None
    output_transform: Any = None
    gauge: dict[str, str] = field(default_factory=dict)
