"""The forward lanes of a tanh MLP in one autograd node, with a hand-written backward.

:func:`tanh_jet` computes what ``FullyConnected.forward_lanes`` computes from the input's own
lanes (see ``_forward_laplacian``) for a tanh network, but as a single
:class:`torch.autograd.Function`: the value, gradient and second-derivative lanes of a layer are
one ``(width, lanes * N)`` matrix, so a layer is one matmul forward and two backward (the input's
adjoint and the weight's gradient), and the elementwise work of tanh is done by fused kernels
(``tanh_backward`` forms ``(1 - t^2) g`` in one), in place on buffers the function owns, and
tanh itself is evaluated through the sigmoid (cheaper on CPUs). Autograd records one node
instead of one per operator, and the backward reuses its adjoint buffers instead of allocating.

With ``t = tanh(z)``, ``d1 = 1 - t^2`` and ``q`` the squared gradient lanes of the marked
coordinates (their sum in Laplacian mode)::

    g' = d1 g          D' = d1 (D - 2 t q)

and, for the adjoints (bars) of a layer's outputs::

    D_bar = d1 D'_bar
    g_bar = d1 g'_bar - 4 t D_bar g          (marked lanes; the others only the first term)
    z_bar = d1 (t_bar - 2 t (sum g'_bar g + sum D'_bar (D - 2 t q)) - 2 sum D_bar q)

A backward asked to build a graph (``create_graph=True``, a double backward) recomputes the
lanes with the plain differentiable code and differentiates those instead, so higher
derivatives stay exact.

It applies to input lanes as :func:`input_lanes` makes them (identity gradient, no second
derivative) of at least one float32 or float64 point (no autocast), marked coordinates that form
a contiguous range (or none), eager mode, and at least one hidden layer; :func:`applies` says
whether it does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import torch

from deepinn.nn import _forward_laplacian as fl
from deepinn.nn._activations import AbstractActivation, Tanh

__all__ = ["applies", "tanh_jet"]

_tanh_backward = torch.ops.aten.tanh_backward.default
_tanh_backward_out = torch.ops.aten.tanh_backward.grad_input
_EXACT_DTYPES = (torch.float32, torch.float64)


class _Plan(NamedTuple):
    """The lane layout: d gradient lanes, marked window [start, stop), m second-derivative lanes."""

    dim: int
    start: int
    stop: int
    lanes: int
    summed: bool


def applies(
    activation: AbstractActivation, lanes: fl.Lanes, marked: fl.Marked, layers: int
) -> bool:
    """Whether :func:`tanh_jet` computes exactly what the plain lanes of this network would.

    Args:
        activation: The network's activation (tanh only).
        lanes: The lanes entering the network (the raw input's, from ``input_lanes``).
        marked: The coordinates whose second derivatives are carried (a contiguous range or none).
        layers: The number of dense layers (at least two: one hidden layer).
    """
    if type(activation) is not Tanh or layers < 2 or lanes.diag is not None:
        return False
    if marked.count and marked.window is None:
        return False
    if torch.compiler.is_compiling() or torch._C._are_functorch_transforms_active():
        return False
    value = lanes.value
    # float32/float64 only: with 8 or 11 mantissa bits 2 sigmoid(2z) - 1 loses tanh's relative
    # precision near 0 (a value near 0 wrong in its leading digit). No points: the plain code.
    if value.dim() != 2 or value.dtype not in _EXACT_DTYPES or value.shape[0] == 0:
        return False
    if torch.is_autocast_enabled(value.device.type):
        return False
    return lanes.grad is fl.input_lanes(value).grad


def tanh_jet(x: torch.Tensor, marked: fl.Marked, parameters: Sequence[torch.Tensor]) -> fl.Lanes:
    """The output lanes of the tanh MLP ``parameters`` (``W1, b1, W2, b2, ...``) at ``x``.

    Args:
        x: ``(N, d)`` points (differentiable if they require grad).
        marked: The coordinates whose second derivatives are carried.
        parameters: Each dense layer's weight and bias, first to last; tanh follows every
            layer but the last.

    Returns:
        The lanes of the output: value ``(N, k)``, gradient ``(d, N, k)``, second derivatives
        ``(m, N, k)`` (None when no coordinate is marked).
    """
    window = marked.window if marked.count else slice(0, 0)
    assert window is not None
    count = 0 if not marked.count else 1 if marked.summed else marked.count
    plan = _Plan(marked.dim, window.start, window.stop, count, marked.summed)
    value, grad, diag = _TanhJet.apply(x, plan, *parameters)
    return fl.Lanes(value, grad, diag if count else None)


def _reference(x: torch.Tensor, plan: _Plan, parameters: Sequence[torch.Tensor]) -> fl.Lanes:
    """The same lanes by the plain differentiable lane code (for a double backward)."""
    indices = tuple(range(plan.start, plan.stop))
    window = slice(plan.start, plan.stop) if indices else None
    marked = fl.Marked(plan.dim, indices, window, plan.summed)
    lanes = fl.input_lanes(x)
    tanh = Tanh()
    for index in range(0, len(parameters), 2):
        if index:
            lanes = fl.activation_lanes(lanes, tanh, marked)
        lanes = fl.linear_lanes(lanes, parameters[index], parameters[index + 1])
    return lanes


def _squares(grad: torch.Tensor, plan: _Plan) -> torch.Tensor:
    """The squared gradient lanes (dim 1) of the marked coordinates (summed in Laplacian mode)."""
    chosen = grad[:, plan.start : plan.stop]
    square = chosen * chosen
    if plan.summed and plan.stop - plan.start > 1:
        square = square.sum(dim=1, keepdim=True)
    return square


def _tanh_of_double(double: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``tanh(double / 2)`` into ``out`` as ``2 sigmoid(double) - 1`` (``double`` is clobbered).

    torch's CPU sigmoid kernel is cheaper than its tanh kernel; the absolute error of this form
    is a few units in the last place of 1 (the value rows' own precision).
    """
    torch.sigmoid(double, out=out)
    return out.mul_(2.0).sub_(1.0)


def _add_lane_dot(out: torch.Tensor | None, a: torch.Tensor, b: torch.Tensor,
                  value: float = 1.0) -> torch.Tensor:
    """``out + value * sum_i a[:, i] b[:, i]`` over the lanes (dim 1), in place on ``out`` (a
    new tensor where ``out`` is None): one fused multiply-add per lane, no product of all lanes
    and no reduction over it as ``linalg.vecdot`` makes."""
    lanes = range(a.shape[1])
    if out is None:
        out, lanes = a[:, 0] * b[:, 0], lanes[1:]
        if value != 1.0:
            out.mul_(value)
    for lane in lanes:
        out.addcmul_(a[:, lane], b[:, lane], value=value)
    return out


class _TanhJet(torch.autograd.Function):
    """Value, gradient and second-derivative lanes of a tanh MLP, and their backward.

    Inside, a layer's lanes are one ``(width, lanes, N)`` tensor: the points are the contiguous
    dimension, so every matmul is ``weight @ lanes`` (or its adjoints) with the long dimension
    contiguous, which a BLAS multiplies faster than the ``(N, width)`` layout's thin products
    (in float64 about twice as fast). ``t[:, None]`` broadcasts a layer's tanh over its lanes.
    """

    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, plan: _Plan, *parameters: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        d, _, _, m, _ = plan
        n = x.shape[0]
        rows = 1 + d + m
        weights, biases = parameters[0::2], parameters[1::2]
        # Layer 1: the input's gradient lanes are the identity, so the pre-activation's are the
        # columns of W1, constant over the points: (width, d, 1).
        z = torch.addmm(biases[0].unsqueeze(1), weights[0], x.t(), beta=2.0, alpha=2.0)  # 2 z
        grad_z = weights[0].unsqueeze(2)
        width = z.shape[0]
        h = z.new_empty((width, rows, n))
        t = _tanh_of_double(z, h[:, 0])
        _tanh_backward_out(grad_z, t[:, None], grad_input=h[:, 1 : 1 + d])
        first_square = first_inner = None
        if m:
            first_square = _squares(grad_z, plan)
            first_inner = t[:, None] * (first_square * -2.0)
            _tanh_backward_out(first_inner, t[:, None], grad_input=h[:, 1 + d :])
        hidden = [h]  # the lanes entering each later layer
        pre = []  # each later layer's pre-activation lanes: (z; g; D - 2 t q) and its q
        for weight, bias in zip(weights[1:-1], biases[1:-1], strict=True):
            stacked = torch.mm(weight, h.view(h.shape[0], -1)).view(-1, rows, n)
            h = torch.empty_like(stacked)
            t = _tanh_of_double(stacked[:, 0].add_(bias.unsqueeze(1)).mul_(2.0), h[:, 0])
            _tanh_backward_out(stacked[:, 1 : 1 + d], t[:, None], grad_input=h[:, 1 : 1 + d])
            square = None
            if m:
                square = _squares(stacked[:, 1 : 1 + d], plan)
                inner = stacked[:, 1 + d :].addcmul_(t[:, None], square, value=-2.0)
                _tanh_backward_out(inner, t[:, None], grad_input=h[:, 1 + d :])
            pre.append((stacked, square))
            hidden.append(h)
        out = torch.mm(weights[-1], h.view(h.shape[0], -1)).view(-1, rows, n)
        out[:, 0].add_(biases[-1].unsqueeze(1))
        ctx.save_for_backward(x, *parameters)
        ctx.plan = plan
        ctx.hidden, ctx.pre = hidden, pre
        ctx.first = (grad_z, first_square, first_inner)
        ctx.set_materialize_grads(False)
        lanes = out.permute(1, 2, 0).contiguous()  # (rows, N, k): a view for one output
        return lanes[0], lanes[1 : 1 + d], lanes[1 + d :]

    @staticmethod
    def backward(ctx: Any, *bars: torch.Tensor | None) -> tuple[torch.Tensor | None, ...]:
        saved = ctx.saved_tensors
        x, parameters = saved[0], saved[1:]
        plan: _Plan = ctx.plan
        if torch.is_grad_enabled():  # create_graph: differentiate the plain lanes instead
            return _double_backward(x, plan, parameters, bars, ctx.needs_input_grad)
        d, lo, hi, m, _ = plan
        weights = parameters[0::2]
        hidden, pre = ctx.hidden, ctx.pre
        rows, n = hidden[0].shape[1:]
        out_width = weights[-1].shape[0]
        shape = (out_width, rows, n)  # zeros only where an output was not used
        y_bar = hidden[0].new_empty(shape) if None not in bars else hidden[0].new_zeros(shape)
        parts = (y_bar[:, 0], y_bar[:, 1 : 1 + d], y_bar[:, 1 + d :])
        for bar, part in zip(bars, parts, strict=True):
            if bar is not None:  # (N, k) or (lanes, N, k) into (k, N) or (k, lanes, N)
                part.copy_(bar.movedim(-1, 0))
        grads: list[torch.Tensor | None] = [None] * len(parameters)
        grads[-1] = y_bar[:, 0].sum(1)
        last = hidden[-1].view(hidden[-1].shape[0], -1)
        grads[-2] = torch.mm(y_bar.view(out_width, -1), last.t())
        if out_width == 1:  # an outer product: a broadcast multiply is cheaper than a matmul
            h_bar = weights[-1].view(-1, 1, 1) * y_bar
        else:
            h_bar = torch.mm(weights[-1].t(), y_bar.view(out_width, -1)).view(-1, rows, n)
        for layer in range(len(weights) - 2, -1, -1):
            h = hidden[layer]
            t = h[:, 0]
            if layer:
                stacked, square = pre[layer - 1]
                grad_z, inner = stacked[:, 1 : 1 + d], stacked[:, 1 + d :]
            else:
                grad_z, square, inner = ctx.first
            # h_bar is this function's own buffer: it becomes z_bar in place, lane block by
            # lane block, each block read before it is overwritten.
            value_bar, grad_bar, diag_bar = h_bar[:, 0], h_bar[:, 1 : 1 + d], h_bar[:, 1 + d :]
            if layer:
                dot = _add_lane_dot(None, h_bar[:, 1:], stacked[:, 1:])
            else:
                dot = _add_lane_dot(None, grad_bar, grad_z)
                if m:
                    _add_lane_dot(dot, diag_bar, inner)
            value_bar.addcmul_(t, dot, value=-2.0)
            _tanh_backward_out(grad_bar, t[:, None], grad_input=grad_bar)
            if m:
                a = _tanh_backward_out(diag_bar, t[:, None], grad_input=diag_bar)
                grad_bar[:, lo:hi].addcmul_(a * t[:, None], grad_z[:, lo:hi], value=-4.0)
                _add_lane_dot(value_bar, a, square, value=-2.0)
            _tanh_backward_out(value_bar, t, grad_input=value_bar)
            z_bar = h_bar
            grads[2 * layer + 1] = z_bar[:, 0].sum(1)
            if layer:
                flat = z_bar.view(z_bar.shape[0], -1)
                below = hidden[layer - 1].view(hidden[layer - 1].shape[0], -1)
                grads[2 * layer] = torch.mm(flat, below.t())
                h_bar = torch.mm(weights[layer].t(), flat).view(-1, rows, n)
            else:  # W1's columns are also the first layer's gradient lanes, at every point
                lanes_sum = z_bar[:, 1 : 1 + d].sum(2)
                grads[0] = torch.addmm(lanes_sum, z_bar[:, 0], x)
                x_bar = torch.mm(z_bar[:, 0].t(), weights[0]) if ctx.needs_input_grad[0] else None
        return (x_bar, None, *grads)


def _double_backward(
    x: torch.Tensor,
    plan: _Plan,
    parameters: Sequence[torch.Tensor],
    bars: Sequence[torch.Tensor | None],
    needs: Sequence[bool],
) -> tuple[torch.Tensor | None, ...]:
    """The backward as a differentiable graph: autograd through the plain lane code."""
    inputs = [x, *parameters]
    wanted = [i for i, need in enumerate([needs[0], *needs[2:]]) if need]
    lanes = _reference(x, plan, parameters)
    outputs, grad_outputs = [], []
    for output, bar in zip((lanes.value, lanes.grad, lanes.diag), bars, strict=True):
        if output is not None and bar is not None:
            outputs.append(output.expand_as(bar))
            grad_outputs.append(bar)
    found = torch.autograd.grad(
        outputs,
        [inputs[i] for i in wanted],
        grad_outputs,
        create_graph=True,
        allow_unused=True,
    )
    grads: list[torch.Tensor | None] = [None] * len(inputs)
    for i, grad in zip(wanted, found, strict=True):
        grads[i] = grad
    return (grads[0], None, *grads[1:])
