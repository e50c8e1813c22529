"""The two fixed speed cases: deepinn against the plain loop of ``bench/plain_loop.py``.

P1: 2-D Poisson (``problem=poisson`` on the unit square), MLP 2-50-50-50-50-1 tanh, 2000 interior
and 400 boundary points. P2: Burgers (``problem=burgers``), MLP 2-20-20-20-1 tanh, 2540 interior,
80 boundary and 160 initial points. Both: Adam (lr 1e-3), full batch, float32,
``torch.set_num_threads(2)``, the same points and the same initial weights for every
implementation. deepinn runs through ``deepinn.fit`` (Lightning, loss logging every 10 steps,
the losses checked for NaN/inf every 10 steps) with ``field_mode='reverse'`` (nested autograd)
or ``'auto'`` (forward Laplacian); the plain loop is nested autograd.

A machine's speed drifts from minute to minute (shared caches and memory bandwidth), so
timings taken in separate processes minutes apart do not give a trustworthy ratio. Each
deepinn run therefore carries its own plain loop: after every
``PAIRED_BLOCK`` deepinn steps, a ``PairedPlainLoop`` callback (``bench/timing.py``) runs as
many plain-loop steps (a copy of the same network, the same points, its own Adam) in the same
process, so both are timed under the same conditions; the ratio is taken against those paired
steps. A deepinn step is timed over its whole cycle (one ``on_train_batch_end`` to the next,
less the paired steps in between), so Lightning's loop, data fetching and hooks are inside the
figure.
"""

from __future__ import annotations

from typing import Any

CASES: dict[str, dict[str, Any]] = {
    "P1": {
        "problem": "poisson",
        "params": {"n_interior": 2000, "n_boundary": 400},
        "layers": [2, 50, 50, 50, 50, 1],
        "description": "2-D Poisson, MLP 2-50-50-50-50-1 tanh, 2000 + 400 points",
    },
    "P2": {
        "problem": "burgers",
        "params": {"n_interior": 2540, "n_boundary": 80, "n_initial": 160},
        "layers": [2, 20, 20, 20, 1],
        "description": "Burgers, MLP 2-20-20-20-1 tanh, 2540 + 80 + 160 points",
    },
}
IMPLEMENTATIONS = ("plain", "reverse", "auto", "compile")
SEED = 0
PAIRED_BLOCK = 10


def _plain_loop(case: str, network: Any, points: dict[str, dict[str, Any]]) -> tuple[Any, Any, Any]:
    """The plain loop's network (a copy of ``network``'s weights), inputs and loss function."""
    import plain_loop

    net = plain_loop.make_network(CASES[case]["layers"], network.state_dict())
    inputs = {name: batch["x"].clone() for name, batch in points.items()}
    if case == "P1":
        inputs["source"] = plain_loop.poisson_source(inputs["pde"])
        return net, inputs, plain_loop.poisson_loss
    return net, inputs, plain_loop.burgers_loss


def _plain_step(case: str, network: Any, points: dict[str, dict[str, Any]]) -> Any:
    """One plain-loop Adam step (its own copy of the network and its own optimizer) per call."""
    import torch

    net, inputs, loss_fn = _plain_loop(case, network, points)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step() -> None:
        optimizer.zero_grad()
        loss_fn(net, inputs).backward()
        optimizer.step()

    return step


def _setup(case: str, scale: float = 1.0) -> tuple[Any, Any, dict[str, dict[str, Any]]]:
    """The problem, deepinn's network (seeded) and the float32 points of every constraint
    (``scale`` times the case's number of points of each constraint)."""
    import torch

    from deepinn.nn import FullyConnected
    from deepinn.plugins import load_registry
    from deepinn.training import CollocationData, RunConfig

    spec = CASES[case]
    registry = load_registry(strict=True)
    domain = registry.build("domains", "parallelogram")

    def make_sampler(d: Any, n: int) -> Any:
        return registry.build("samplers", "random", None, domain=d, n_points=n, seed=SEED)

    params = {name: round(n * scale) for name, n in spec["params"].items()}
    problem = registry.build(
        "problems", spec["problem"], params, domain=domain, make_sampler=make_sampler
    )
    torch.manual_seed(SEED)
    network = FullyConnected(spec["layers"], activation="tanh", bounds=None)
    run = RunConfig(seed=SEED, eval_points=1000, dtype="float32")
    points = CollocationData(problem, run).global_points(0)
    return problem, network, points


def run_speed(case: str, implementation: str, steps: int, threads: int = 2) -> dict[str, Any]:
    """Time ``steps`` Adam steps of one implementation of one case on ``threads`` threads."""
    import plain_loop
    import torch
    from timing import PairedPlainLoop, peak_rss_mib, steady_median

    torch.set_num_threads(threads)
    problem, network, points = _setup(case)
    warmup_s = None
    paired: dict[str, Any] = {}
    if implementation == "plain":
        net, inputs, loss_fn = _plain_loop(case, network, points)
        seconds, cpu_seconds, first_loss = plain_loop.train(net, loss_fn, inputs, steps)
    else:
        from deepinn.training import adam, fit

        timer = PairedPlainLoop(_plain_step(case, network, points), PAIRED_BLOCK)
        compiled = implementation == "compile"  # the forward Laplacian through torch.compile
        result = fit(
            problem, network, phases=adam(1e-3), max_steps=steps, seed=SEED, run_dir=None,
            dtype=torch.float32, field_mode="auto" if compiled else implementation,
            compile=compiled, val_every=steps, eval_points=1000, threads=threads,
            trainer_options={"accelerator": "cpu", "devices": 1, "enable_progress_bar": False,
                             "callbacks": [timer]},
            logger=False,
        )
        seconds, cpu_seconds, first_loss = timer.seconds, timer.cpu_seconds, timer.first_loss
        warmup_s = sum(c.warmup_s for c in result.module.compiled) if compiled else None
        plain_median = steady_median(timer.plain_seconds)
        plain_cpu = steady_median(timer.plain_cpu_seconds)
        paired = {
            "paired_plain_ms_per_step": plain_median and 1e3 * plain_median,
            "paired_plain_cpu_ms_per_step": plain_cpu and 1e3 * plain_cpu,
            "paired_plain_steps": len(timer.plain_seconds),
            "field_modes": result.module.loss.group_modes,  # what field_mode=auto chose
            "mode_probe_ms": {
                name: {mode: 1e3 * t for mode, t in probe.items()}
                for name, probe in result.module.loss.mode_probe.items()
            },
        }
    median, cpu_median = steady_median(seconds), steady_median(cpu_seconds)
    return {
        **paired,
        "case": case,
        "kind": "speed",
        "implementation": implementation,
        "description": CASES[case]["description"],
        "steps": steps,
        "ms_per_step": median and 1e3 * median,
        "cpu_ms_per_step": cpu_median and 1e3 * cpu_median,
        "first_loss": first_loss,
        "peak_rss_mib": peak_rss_mib(),
        "threads": torch.get_num_threads(),
        "compile_warmup_s": warmup_s,
    }
