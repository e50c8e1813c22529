"""How many torch operators one loss-and-gradient launches: the plain loop against deepinn's
eager paths (forward lanes, nested autograd), on the same network and points.

On small networks every kernel takes a few microseconds, so an eager step costs about what its
operator calls cost: this count, not the arithmetic, decides which eager path is faster. Counted
with ``torch.profiler`` after three warm-up calls: the ``aten::`` operators called from Python or
from autograd's engine, not those an operator calls inside itself.

    python bench/kernel_count.py P2 P1
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def count_operators(step: Callable[[], object]) -> int:
    """The top-level ``aten::`` operator calls of one ``step()``, after three warm-up calls."""
    from torch.profiler import ProfilerActivity, profile

    for _ in range(3):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    return sum(
        1
        for event in prof.events()
        if event.name.startswith("aten::")
        and not (event.cpu_parent is not None and event.cpu_parent.name.startswith("aten::"))
    )


def steps(case: str) -> dict[str, Callable[[], object]]:
    """One loss-and-gradient of ``case`` per implementation, each on its own network copy."""
    import speed
    import torch

    from deepinn.training import RunConfig
    from deepinn.training.step._loss import PINNLoss

    problem, network, points = speed._setup(case)
    plain_net, inputs, plain_loss = speed._plain_loop(case, copy.deepcopy(network), points)
    plain_parameters = list(plain_net.parameters())
    result: dict[str, Callable[[], object]] = {
        "plain loop": lambda: torch.autograd.grad(plain_loss(plain_net, inputs), plain_parameters)
    }

    def deepinn(mode: str) -> Callable[[], object]:
        net = copy.deepcopy(network)
        parameters = list(net.parameters())
        loss = PINNLoss(problem, net, RunConfig(field_mode=mode, compile=False))
        return lambda: torch.autograd.grad(loss(points)[0], parameters)

    result["deepinn forward lanes"] = deepinn("auto")  # auto without its probe: the lanes
    result["deepinn nested autograd"] = deepinn("reverse")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help="P1 and/or P2 (default: both)")
    args = parser.parse_args(argv)
    cases = args.cases or ["P2", "P1"]
    unknown = sorted(set(cases) - {"P1", "P2"})
    if unknown:
        parser.error(f"unknown case(s) {unknown}: choose P1 and/or P2")

    import torch

    torch.set_num_threads(1)
    for number, case in enumerate(cases):
        counts = {name: count_operators(step) for name, step in steps(case).items()}
        if number == 0:
            print("| case | " + " | ".join(counts) + " |")
            print("|---" * (len(counts) + 1) + "|")
        print(f"| {case} | " + " | ".join(str(n) for n in counts.values()) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
