"""What a user sees in TensorBoard: the errors and the losses first, at the optimizer step, the
gradients last, no ``epoch`` or ``hp_metric`` card; and the loss curves in ``plots/``."""

from __future__ import annotations

import pytest
import torch
from square_poisson import square_poisson

from deepinn.training import fit

STEPS, LOG, VAL = 40, 5, 10


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    problem, net = square_poisson()
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
