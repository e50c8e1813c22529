"""The README's Python examples run as written and reach the promised accuracy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

README = Path(__file__).resolve().parents[1] / "README.md"

pytestmark = pytest.mark.slow


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_poisson_example_is_at_most_15_lines():
    code = _python_blocks()[0]
    lines = [line for line in code.splitlines() if line.strip()]
    assert len(lines) <= 15, len(lines)


def test_the_poisson_example_reaches_rel_l2_below_1e_2(capsys):
    namespace: dict = {}
    exec(compile(_python_blocks()[0], "README.md", "exec"), namespace)
    assert namespace["result"].metrics["rel_l2"] < 1e-2
    assert float(capsys.readouterr().out.strip().splitlines()[-1]) < 1e-2


def test_the_original_tutorial_flow_trains_on_the_same_service():
    namespace: dict = {}
    first, tutorial = _python_blocks()[:2]
    setup = first.split("pde = dp.constraints")[0]  # the domain, the exact solution
    exec(compile(setup, "README.md", "exec"), namespace)
    torch.manual_seed(0)
    namespace["net"] = namespace["dp"].nn.FullyConnected([2, 20, 20, 1], "tanh")
    tutorial = tutorial.replace(
        "model.train(iterations=2000)", "metrics = model.train(iterations=30)"
    )
    exec(compile(tutorial, "README.md", "exec"), namespace)
    metrics = namespace["metrics"]
    assert metrics["steps"] == 30 and set(metrics["loss_per_constraint"]) == {"pde", "bc0"}
    model = namespace["model"]
    assert type(model.result.module).__name__ == "PINNModule"  # Lightning underneath


def test_compile_rejects_cuda_without_a_gpu():
    import deepinn as dp

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    square = dp.domains.Parallelogram(dp.spaces.R2("x"), [0, 0], [1, 0], [0, 1])
    interior = dp.constraint.PDE(geom=square, no_points=10)
    model = dp.Model(dp.domain.Generic(lambda X, y: y, interior, []), torch.nn.Linear(2, 1))
    with pytest.raises(dp.ConfigurationError, match="CUDA is not available"):
        model.compile("adam", 1e-3, "MSE", "cuda")


def test_unknown_optimiser_lists_the_choices():
    import deepinn as dp

    square = dp.domains.Parallelogram(dp.spaces.R2("x"), [0, 0], [1, 0], [0, 1])
    interior = dp.constraint.PDE(geom=square, no_points=10)
    model = dp.Model(dp.domain.Generic(lambda X, y: y, interior, []), torch.nn.Linear(2, 1))
    with pytest.raises(dp.ConfigurationError, match="Did you mean 'adam'"):
        model.compile("adma")
