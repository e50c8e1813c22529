"""The seed notebook runs unchanged with ``import deepinn as dp`` and prints the same values.

The one deliberate difference: the seed's Jacobian(X, y)(i, j) ignored i; deepinn returns the
true dy_i/dX_j, so for y = sin(X), jacobian(0, 1) is 0 and the seed's column is jacobian(1, 1).
"""

from __future__ import annotations

import pytest
import torch
from seed_notebook import SHARED_SPEC, SPEC, extract_code, run_notebook


@pytest.fixture(scope="module")
def notebook():
    code = extract_code()
    displayed, namespace, stdout = run_notebook(code)
    return code, displayed, namespace, stdout


def _value(displayed, source):
    matches = [value for src, value in displayed if src == source]
    assert matches, f"{source!r} was not displayed; displayed: {[s for s, _ in displayed]}"
    return matches


@pytest.mark.skipif(not SHARED_SPEC.exists(), reason="shared/spec is not beside the checkout")
def test_the_kept_copy_is_the_shared_seed():
    assert SPEC.read_bytes() == SHARED_SPEC.read_bytes()


def test_only_the_import_lines_change(notebook):
    code = notebook[0]
    assert "import deepinn as dp" in code
    assert "DeepINN" not in code
    assert (
        "class Net(nn.Module):\n    def __init__(self):\n        super(Net, self).__init__()"
        in code
    )


def test_scalar_gradients(notebook):
    _, displayed, _, stdout = notebook
    assert "x: tensor([2.], requires_grad=True)" in stdout
    assert "Gradient (dy/dx): tensor([4.], grad_fn=<MulBackward0>)" in stdout
    first = _value(displayed, "jacobian")[0]
    assert torch.equal(first.detach(), torch.tensor([4.0]))
    second = _value(displayed, "dp.constraint.Jacobian(x, jacobian)(0,0)")[0]
    assert torch.equal(second.detach(), torch.tensor([2.0]))
    assert second.grad_fn is not None


def test_linear_net_jacobian_equals_its_weight(notebook):
    _, displayed, namespace, _ = notebook
    jacobian = _value(displayed, "jacobian")[1]
    weight = namespace["net"].linear.weight
    assert jacobian.shape == (2,)
    assert torch.allclose(jacobian, weight[0])
    y, output = _value(displayed, "y, output")[0]
    assert torch.allclose(y, output)


def test_sine_jacobian_is_the_true_derivative(notebook):
    _, displayed, namespace, _ = notebook
    X = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    d00, d01 = _value(displayed, "jacobian(0, 0), jacobian(0, 1)")[0]
    assert d00.shape == (2, 1) and torch.allclose(d00, torch.cos(X[:, :1]))
    assert torch.equal(d01, torch.zeros(2, 1))  # the seed printed cos(X[:, 1]) here
    jacobian = namespace["dp"].constraint.Jacobian(X.requires_grad_(), torch.sin(X))
    assert torch.allclose(jacobian(1, 1), torch.cos(X[:, 1:]))  # the seed's printed column
    assert torch.allclose(d00.detach(), torch.tensor([[0.5403], [-0.9900]]), atol=1e-4)


def test_geometry_example(notebook):
    _, displayed, namespace, _ = notebook
    sizes = _value(displayed, "collocation_points_sampled.size()")
    assert sizes[0] == torch.Size([100, 2])
    assert _value(displayed, "collocation_points_labels.size()")[0] == torch.Size([100, 1])
    assert _value(displayed, "y.size()")[-1] == torch.Size([100, 1])
    points = namespace["collocation_points_sampled"]
    d00 = _value(displayed, "jacobian(i = 0, j = 0)")[0]
    assert d00.shape == (100, 1)
    assert torch.allclose(d00, 2 * points[:, :1].detach())
    assert torch.count_nonzero(_value(displayed, "jacobian(i = 0, j = 1)")[0]) == 0
    assert torch.count_nonzero(_value(displayed, "hessian(i = 0, j = 0)")[0]) == 0
    assert torch.count_nonzero(_value(displayed, "hessian(i = 0, j = 1)")[0]) == 0
