# Hook specifications have no body (pluggy never calls them), only their signature and docstring.
# mypy: disable-error-code="empty-body"
"""The plugin contract: one ``deepinn_<kind>`` hook per kind of component.

Every hook is called once, when ``deepinn.plugins.load_registry()`` runs (never at import), with
no arguments, and returns a list of :class:`deepinn.plugins.Registration`. Two providers of one
name (deepinn's own components included) are never a silent override: both stay usable as
``provider:name`` (``deepinn:name`` for deepinn's own) and choosing the bare name is an error
naming both. A plugin is loaded all or nothing. The registration's ``schema`` is a
dataclass of the component's parameters; it is stored in Hydra's ConfigStore as option
``<name>`` of the kind's config group (``domain``, ``sampler``, ``net``, ``problem``; see
``deepinn.plugins.KIND_TABLE``), so ``deepinn train domain=<name> domain.<field>=...`` selects
and configures it with no edit to deepinn. Callbacks are chosen several at once, each under its
own name (``callbacks=[<name>,...] callbacks.<name>.<field>=...``). Spaces, constraints and
operators are used by name inside configured problems (``problem=custom``).
A schema must not have a field called ``name``: the config node uses it for the option's name,
and a registration whose schema has one is refused.
"""

from __future__ import annotations

import pluggy

from deepinn.plugins._registration import Registration

PROJECT_NAME = "deepinn"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def deepinn_spaces() -> list[Registration]:
    """Register spaces.

    Called once per registry load. The factory is ``factory(params) -> deepinn.spaces.Space``.
    Returns a list of registrations, each name unique among all plugins' spaces.
    """


@hookspec
def deepinn_domains() -> list[Registration]:
    """Register domains (sets in a space that can be sampled, with boundaries and normals).

    Called once per registry load. The factory is ``factory(params) -> AbstractDomain``.
    Returns a list of registrations, each name unique among all plugins' domains.
    """


@hookspec
def deepinn_samplers() -> list[Registration]:
    """Register point samplers.

    Called once per registry load. The factory is
    ``factory(params, domain, n_points, seed) -> AbstractSampler`` where ``domain`` is an
    ``AbstractDomain`` (an interior or a boundary), ``n_points`` a positive int and ``seed`` an
    int or None. Returns a list of registrations, each name unique among all plugins' samplers.
    """


@hookspec
def deepinn_constraints() -> list[Registration]:
    """Register constraint types (a sampler + a residual + a weight + a name).

    Called once per registry load. The factory is ``factory(params, **context) -> Constraint``
    where the keyword context is what the problem building it passes (``problem=custom``:
    ``name`` and ``space`` always, ``sampler`` or ``points``/``values``/``outputs``, and the
    entry's other keys; see docs/plugins.md), so accept ``**unused`` beside the keywords you use.
    Returns a list of registrations, each name unique among all plugins' constraints.
    """


@hookspec
def deepinn_operators() -> list[Registration]:
    """Register derivative operators.

    Called once per registry load. The factory is ``factory(params) -> callable`` returning the
    operator (for example ``laplacian(u, x)``). Returns a list of registrations, each name unique
    among all plugins' operators.
    """


@hookspec
def deepinn_networks() -> list[Registration]:
    """Register networks.

    Called once per registry load. The factory is
    ``factory(params, in_dim, out_dim, bounds) -> torch.nn.Module`` where ``bounds`` is the
    ``(lower, upper)`` bounding box of the problem's inputs (for input normalisation) or None.
    Returns a list of registrations, each name unique among all plugins' networks.
    """


@hookspec
def deepinn_problems() -> list[Registration]:
    """Register PDE problems (a space, a domain, constraints and an exact solution if known).

    Called once per registry load. The factory is
    ``factory(params, domain, make_sampler) -> deepinn.problems.Problem`` where ``domain`` is the
    domain chosen on the command line (``domain=circle``; a problem with a fixed geometry may
    ignore it) and ``make_sampler(domain, n_points)`` builds the sampler chosen on the command
    line (``sampler=sobol``) for one constraint, seeded from the run's seed. A factory that also
    has a ``registry`` parameter gets the run's ``Registry`` (to build constraints,
    samplers or operators by registered name, as ``problem=custom`` does). Returns a list of
    registrations, each name unique among all plugins' problems.
    """


@hookspec
def deepinn_callbacks() -> list[Registration]:
    """Register training callbacks (monitoring: figures, metrics, early stopping).

    Called once per registry load. The factory is
    ``factory(params) -> lightning.pytorch.Callback``; the run gives the callback to its
    ``lightning.Trainer`` after deepinn's own (progress, checkpoints, figures), and every DDP
    rank builds it alike from the same parameters. Returns a list of registrations, each name
    unique among all plugins' callbacks.
    """
