"""TEMPLATE (the entry-point module): deepinn-example's hook implementations.

``pyproject.toml`` declares ``[project.entry-points.deepinn] example = "deepinn_example.plugin"``,
so ``deepinn.plugins.load_registry()`` imports this module (and only then: never on
``import deepinn``) and calls every function marked ``@hookimpl``. Each function's name must be
one of the hooks (``deepinn_spaces``, ``deepinn_domains``, ``deepinn_samplers``,
``deepinn_constraints``, ``deepinn_operators``, ``deepinn_networks``, ``deepinn_problems``,
``deepinn_callbacks``); a misspelt one is an error at load time. Each returns a list of
``Registration(name, factory, schema, summary)``:

- ``name``: unique within its kind across all installed plugins (two providers of one name is an
  error naming both), letters, digits and underscores; it is the Hydra option
  (``deepinn train domain=annulus``);
- ``factory``: a module-level function building the component from a schema instance plus the
  kind's context (see each module);
- ``schema``: a dataclass of the parameters, also the Hydra structured config of the option;
- ``summary``: one line for ``deepinn plugins``.

Hooks should be cheap and side-effect free: they run in every process that loads the registry
(every DDP rank, every ``deepinn plugins``). Build components in the factories.

After ``pip install deepinn-example``::

    python -m deepinn plugins    # lists the components below, distribution deepinn-example
    deepinn train problem=poisson_annulus domain=annulus sampler=jittered_grid net=example_resmlp
    deepinn train problem=poisson_annulus domain=circle problem.sources=[[0.5,0.5,2]]
    deepinn train callbacks=[example_residual_histogram] \
        callbacks.example_residual_histogram.bins=60
"""

from __future__ import annotations

from deepinn.plugins import Registration, hookimpl

from deepinn_example.callback import ResidualHistogramParams, build_residual_histogram
from deepinn_example.constraint import PointwiseSourceParams, build_pointwise_source
from deepinn_example.domain import AnnulusParams, build_annulus
from deepinn_example.network import ResMLPParams, build_resmlp
from deepinn_example.operator import BiharmonicParams, build_biharmonic
from deepinn_example.problem import PoissonAnnulusParams, build_poisson_annulus
from deepinn_example.sampler import JitteredGridParams, build_jittered_grid
from deepinn_example.space import SpaceTimeParams, build_spacetime

__all__ = [
    "deepinn_callbacks",
    "deepinn_constraints",
    "deepinn_domains",
    "deepinn_networks",
    "deepinn_operators",
    "deepinn_problems",
    "deepinn_samplers",
    "deepinn_spaces",
]


@hookimpl
def deepinn_spaces() -> list[Registration]:
    return [
        Registration(
            "spacetime", build_spacetime, SpaceTimeParams, "R1(t) x Rn(x): time times space"
        )
    ]


@hookimpl
def deepinn_domains() -> list[Registration]:
    return [
        Registration(
            "annulus", build_annulus, AnnulusParams, "a ring between two concentric circles (2-D)"
        )
    ]


@hookimpl
def deepinn_samplers() -> list[Registration]:
    return [
        Registration(
            "jittered_grid",
            build_jittered_grid,
            JitteredGridParams,
            "stratified: one random point per cell of a regular grid",
        )
    ]


@hookimpl
def deepinn_constraints() -> list[Registration]:
    return [
        Registration(
            "pointwise_source",
            build_pointwise_source,
            PointwiseSourceParams,
            "-lap u = regularised point sources sum q_k delta_eps(x - p_k) (2-D)",
        )
    ]


@hookimpl
def deepinn_operators() -> list[Registration]:
    return [
        Registration(
            "biharmonic", build_biharmonic, BiharmonicParams, "lap(lap u) of one output, (N, 1)"
        )
    ]


@hookimpl
def deepinn_networks() -> list[Registration]:
    return [
        Registration(
            "example_resmlp",  # prefixed: a plugin should not take names authors write
            build_resmlp,
            ResMLPParams,
            "residual MLP (skip connections, normalised input)",
        )
    ]


@hookimpl
def deepinn_problems() -> list[Registration]:
    return [
        Registration(
            "poisson_annulus",
            build_poisson_annulus,
            PoissonAnnulusParams,
            "-lap u = point sources on an annulus (or any 2-D domain), exact solution known",
        )
    ]


@hookimpl
def deepinn_callbacks() -> list[Registration]:
    return [
        Registration(
            "example_residual_histogram",
            build_residual_histogram,
            ResidualHistogramParams,
            "TensorBoard figure: histogram of each constraint's log10 |residual|",
        )
    ]
