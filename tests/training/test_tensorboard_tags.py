"""What a user sees in TensorBoard: the errors and the losses first, at the optimizer step, the
gradients last, no ``epoch`` or ``hp_metric`` card; and the loss curves in ``plots/``."""

from __future__ import annotations

import math

import pytest
import torch

import deepinn as dp
from deepinn.constraints import DirichletBC, PDEConstraint
from deepinn.training import fit

STEPS, LOG, VAL = 40, 5, 10


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    square = dp.domains.Parallelogram(dp.spaces.R2("x"), (0.0, 0.0), (1.0, 0.0), (0.0, 1.0))
    exact = lambda x: torch.sin(math.pi * x[:, :1]) * torch.sin(math.pi * x[:, 1:])  # noqa: E731
    pde = PDEConstraint(
        "pde", dp.samplers.RandomUniformSampler(square, 64),
        residual=lambda f: -f.laplacian("u") / (2 * math.pi**2), source=exact,
    )
    boundary = DirichletBC(
        "boundary", dp.samplers.RandomUniformSampler(square.boundary, 32), value=exact
    )
    problem = dp.Problem("square", square, [pde, boundary], exact=exact)
    torch.manual_seed(0)
    net = dp.nn.FullyConnected([2, 8, 1], "tanh", bounds=square.bounding_box())
    folder = tmp_path_factory.mktemp("run")
    fit(
        problem, net, max_steps=STEPS, run_dir=folder, log_every=LOG, val_every=VAL,
        grad_norm_every=10, histogram_every=20, eval_points=256,
        trainer_options={"enable_progress_bar": False},
    )
    return folder


@pytest.fixture(scope="module")
def events(run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(
        str(run / "tensorboard"), size_guidance={"images": 0, "histograms": 0, "scalars": 0}
    )
    accumulator.Reload()
    return accumulator


def _groups(tags):
    """TensorBoard's groups in its order: by the tag's first word, tags sorted by name."""
    groups: list[str] = []
    for tag in sorted(tags):
        group = tag.split("/", 1)[0]
        if group not in groups:
            groups.append(group)
    return groups


def test_errors_and_losses_come_first_and_gradients_last(events):
    tags = events.Tags()
    every = tags["scalars"] + tags["images"] + tags["histograms"]
    groups = _groups(every)
    assert groups[:2] == ["error", "train"]  # TensorBoard opens these two
    assert groups[-1] == "weights"  # gradient norms and histograms, closed
    assert {"error/rel_l2", "train/loss", "train/loss/pde", "train/loss/boundary"} <= set(every)
    assert {"error/solution", "train/points"} <= set(tags["images"])
    assert any(tag.startswith("weights/grad_norm/") for tag in tags["scalars"])
    assert any(tag.startswith("weights/grad/") for tag in tags["histograms"])


def test_no_epoch_or_hp_metric_card(events):
    assert not {"epoch", "hp_metric"} & set(events.Tags()["scalars"])


def test_the_error_is_logged_at_the_optimizer_step_like_the_losses(events):
    assert [e.step for e in events.Scalars("error/rel_l2")] == list(range(VAL, STEPS + 1, VAL))
    assert [e.step for e in events.Scalars("train/loss")] == list(range(0, STEPS, LOG))
    assert [e.step for e in events.Images("error/solution")] == list(range(VAL, STEPS + 1, VAL))


def test_the_loss_curves_land_in_plots_and_in_the_checkpoint(run):
    assert (run / "plots" / "losses.png").stat().st_size > 10_000
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    history = next(
        state["history"] for state in checkpoint["callbacks"].values() if "history" in state
    )
    assert set(history["losses"]) == {"total", "pde", "boundary"}
    measured = list(range(VAL, STEPS + 1, VAL))  # the last one may follow the checkpoint
    assert history["val_steps"] == measured[: len(history["val_steps"])] != []
    assert len(history["val"]["rel_l2"]) == len(history["val_steps"])
