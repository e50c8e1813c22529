"""Collocation data: the constraints' points, resampled every N steps and sharded per rank."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeGuard

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, IterableDataset

from deepinn._errors import ConfigurationError
from deepinn.constraints import AbstractConstraint
from deepinn.problems import Problem
from deepinn.samplers import AdaptiveSampler
from deepinn.training.settings._settings import RunConfig

__all__ = ["CollocationData", "round_generator"]

log = logging.getLogger(__name__)

PointwiseResidual = Callable[[AbstractConstraint, dict[str, torch.Tensor]], torch.Tensor]
"""``residual(constraint, batch) -> (N,)``: the norm of the constraint's residual per point."""

_KEPT_ROUNDS = 2  # adaptive selections kept in the state (the loader prefetches one batch)


def round_generator(seed: int, constraint: str, round_index: int) -> torch.Generator:
    """The generator that draws ``constraint``'s points in resampling round ``round_index``.

    Stateless (a function of its arguments), so every rank draws the same global set and a
    resumed run draws what the uninterrupted run drew.
    """
    digest = hashlib.sha256(f"{seed}/{constraint}/{round_index}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & (2**63 - 1))


def _selects(sampler: object) -> TypeGuard[AdaptiveSampler]:
    """Whether ``sampler`` selects its points from the residual: an adaptive sampler, except on a
    finite set (an interval's ends), where every point keeps its share and nothing is refined."""
    return isinstance(sampler, AdaptiveSampler) and sampler.domain.intrinsic_dim > 0


def _as_is(batch: Any) -> Any:
    """The loaders' collate function: batches are built whole, there is nothing to convert."""
    return batch


class _PointStream(IterableDataset):
    """Yields the current points of every constraint, one batch per ``steps_per_batch``
    optimizer steps (a divisor of ``resample_every``: a batch never spans two rounds)."""

    def __init__(self, data: CollocationData) -> None:
        super().__init__()
        self.data = data

    def __iter__(self) -> Iterator[dict[str, Any]]:
        step, every = self.data.start_step(), self.data.steps_per_batch
        while True:
            yield self.data.batch_for(step)
            step += every - step % every  # the next batch starts at a multiple of ``every``


class CollocationData(pl.LightningDataModule):
    """Points for every constraint of a problem, and the evaluation set.

    Args:
        problem: The problem whose constraints are sampled.
        run: The run's knobs (default :class:`RunConfig`), read whole: ``seed`` (every draw's
            generator is a function of it, the constraint's name and the resampling round, see
            :func:`round_generator`; a sampler's own ``seed`` serves its standalone
            ``sample_points()`` calls only), ``resample_every``, ``eval_points`` and ``dtype``
            (the training points').
        max_steps: The run's length, if known (an adaptive sampler must be re-selected in it).

    Constraints whose sampler is an :class:`AdaptiveSampler` (``sampler=adaptive``), except on a
    finite set (an interval's ends: each point keeps its share), are re-selected at every round
    from the *current* network's residual: round 0 is the first ``n`` of a uniform pool; each
    later round draws a pool of ``pool_factor * n`` candidates (generator: seed, constraint,
    round), scores it with ``residual`` (default: the training module's
    ``PINNLoss.pointwise_residual``, or the sampler's own ``residual_fn`` when set) and keeps
    points by RAD / RAR-D / greedy (generator: seed, constraint + "/select", round). Rank 0's
    choice is broadcast, so every DDP rank holds the same global set before taking its shard.
    The selections of the last rounds are in :meth:`state_dict`, so a resumed run reuses what
    the uninterrupted run selected with the weights it had then.

    Raises:
        ConfigurationError: An adaptive sampler that would never be re-selected (see
            :meth:`RunConfig.check_resampling`).
    """

    def __init__(
        self, problem: Problem, run: RunConfig | None = None, *, max_steps: int | None = None
    ) -> None:
        super().__init__()
        run = run if run is not None else RunConfig()
        adaptive = [
            c.name
            for c in problem.constraints
            if _selects(getattr(c, "sampler", None))
        ]
        run.check_resampling(adaptive, max_steps)
        self.adaptive = adaptive
        """The constraints whose points are selected from the residual."""
        self.problem = problem
        self.seed = run.seed
        self.resample_every = run.resample_every
        self.eval_points = run.eval_points
        self.dtype = run.torch_dtype
        self._round: int | None = None
        self._global: dict[str, dict[str, torch.Tensor]] = {}
        self._batch: dict[str, Any] = {}
        self.residual: PointwiseResidual | None = None
        self._selected: dict[int, dict[str, dict[str, torch.Tensor]]] = {}
        self.steps_per_batch = 1  # fit sets it with the module's (see training._stepping)

    # ------------------------------------------------------------------ sharding
    def _rank_world(self) -> tuple[int, int]:
        trainer = self.trainer
        if trainer is None:
            return 0, 1
        return trainer.global_rank, trainer.world_size

    def start_step(self) -> int:
        return self.trainer.global_step if self.trainer is not None else 0

    def round_of(self, step: int) -> int:
        return step // self.resample_every if self.resample_every else 0

    def global_points(self, round_index: int = 0) -> dict[str, dict[str, torch.Tensor]]:
        """Every constraint's full (unsharded) batch for a resampling round."""
        batches = {}
        for constraint in self.problem.constraints:
            sampler = getattr(constraint, "sampler", None)
            if _selects(sampler):
                batch = self._adaptive_batch(constraint, sampler, round_index)
            else:
                batch = constraint.sample(round_generator(self.seed, constraint.name, round_index))
            batches[constraint.name] = {
                key: value.to(self.dtype) if value.is_floating_point() else value
                for key, value in batch.items()
            }
        return batches

    # ------------------------------------------------------------------ adaptive points
    def _residual_for(self, sampler: AdaptiveSampler) -> PointwiseResidual:
        if sampler.residual_fn is not None:
            return lambda _constraint, batch: sampler._residual_norm(batch["x"])
        if self.residual is not None:
            return self.residual
        module = self.trainer.lightning_module if self.trainer is not None else None
        loss = getattr(module, "loss", None)
        if loss is None or not hasattr(loss, "pointwise_residual"):
            raise ConfigurationError(
                "sampler=adaptive needs the network's residual: train through deepinn.fit (or "
                "set CollocationData.residual = loss.pointwise_residual)."
            )
        return loss.pointwise_residual

    def _adaptive_batch(
        self, constraint: AbstractConstraint, sampler: AdaptiveSampler, round_index: int
    ) -> dict[str, torch.Tensor]:
        """The constraint's global batch of ``round_index``, selected from the residual."""
        name = constraint.name
        kept = self._selected.get(round_index, {})
        if name in kept:
            return kept[name]
        with sampler.drawing_pool():
            pool = constraint.sample(round_generator(self.seed, name, round_index))
        n = sampler.n_points
        if round_index == 0:
            batch = {key: value[:n] for key, value in pool.items()}
        else:
            previous = self._selected.get(round_index - 1, {}).get(name)
            if sampler.method == "rard" and previous is None:
                log.warning(
                    "adaptive sampler (rard) of %r: round %d has no previous set in the state; "
                    "starting again from a uniform set.", name, round_index,
                )
                previous = {key: value[:n] for key, value in pool.items()}
            scores = self._residual_for(sampler)(constraint, pool)
            count = sampler.n_added if sampler.method == "rard" else n
            generator = round_generator(self.seed, f"{name}/select", round_index)
            index = self._same_on_every_rank(sampler.select(scores, count, generator))
            batch = {key: value[index] for key, value in pool.items()}
            if sampler.method == "rard" and previous is not None:
                batch = {key: torch.cat([previous[key], batch[key]]) for key in batch}
        self._selected.setdefault(round_index, {})[name] = batch
        for old in sorted(self._selected)[:-_KEPT_ROUNDS]:
            del self._selected[old]
        return batch

    def _same_on_every_rank(self, index: torch.Tensor) -> torch.Tensor:
        """Rank 0's selection on every rank (they agree already; this makes it certain)."""
        _rank, world = self._rank_world()
        if world > 1 and self.trainer is not None:
            index = torch.as_tensor(self.trainer.strategy.broadcast(index, src=0))
        return index

    def batch_for(self, step: int) -> dict[str, Any]:
        """The batch of optimizer step ``step``: this rank's shard of the round's points."""
        round_index = self.round_of(step)
        if round_index != self._round:
            self._global = self.global_points(round_index)
            rank, world = self._rank_world()
            points = {
                name: {key: value[rank::world] for key, value in batch.items()}
                for name, batch in self._global.items()
            }
            rows = {name: batch["x"].shape[0] for name, batch in self._global.items()}
            for name, count in rows.items():
                if count < world:
                    raise ConfigurationError(
                        f"Constraint {name!r} has {count} points for {world} ranks; give it at "
                        "least one point per rank."
                    )
            self._batch = {"round": round_index, "rows": rows, "points": points}
            self._round = round_index
        return self._batch

    def current_global_points(self) -> dict[str, dict[str, torch.Tensor]]:
        """The full point sets of the current round (for figures)."""
        if not self._global:
            self._global = self.global_points(self.round_of(self.start_step()))
        return self._global

    # ------------------------------------------------------------------ loaders
    def train_dataloader(self) -> DataLoader:
        return DataLoader(_PointStream(self), batch_size=None, num_workers=0, collate_fn=_as_is)

    def val_dataloader(self) -> DataLoader:
        points, values = self.problem.evaluation_set(self.eval_points)
        item = {"x": points.to(self.dtype)}
        if values is not None:
            item["u"] = values.to(self.dtype)
        # a list is a map-style dataset at run time; torch's stubs ask for a Dataset
        return DataLoader([item], batch_size=None, num_workers=0)  # type: ignore[arg-type]

    def state_dict(self) -> dict[str, Any]:
        selected = {
            str(round_index): {name: dict(batch) for name, batch in batches.items()}
            for round_index, batches in self._selected.items()
        }
        return {"seed": self.seed, "resample_every": self.resample_every, "adaptive": selected}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.seed = int(state_dict["seed"])
        self.resample_every = int(state_dict["resample_every"])
        self._selected = {
            int(round_index): {name: dict(batch) for name, batch in batches.items()}
            for round_index, batches in state_dict.get("adaptive", {}).items()
        }
        self._round = None
