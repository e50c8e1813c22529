"""Collocation data: the constraints' points, resampled every N steps and sharded per rank."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, IterableDataset

from deepinn._errors import ConfigurationError
from deepinn.problems import Problem

__all__ = ["CollocationData", "round_generator"]


def round_generator(seed: int, constraint: str, round_index: int) -> torch.Generator:
    """The generator that draws ``constraint``'s points in resampling round ``round_index``.

    Stateless (a function of its arguments), so every rank draws the same global set and a
    resumed run draws what the uninterrupted run drew.
    """
    digest = hashlib.sha256(f"{seed}/{constraint}/{round_index}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & (2**63 - 1))


def _as_is(batch: Any) -> Any:
    """The loaders' collate function: batches are built whole, there is nothing to convert."""
    return batch


class _PointStream(IterableDataset):
    """Yields the current points of every constraint, one batch per optimizer step."""

    def __init__(self, data: CollocationData) -> None:
        super().__init__()
        self.data = data

    def __iter__(self) -> Iterator[dict[str, Any]]:
        step = self.data.start_step()
        while True:
            yield self.data.batch_for(step)
            step += 1


class CollocationData(pl.LightningDataModule):
    """Points for every constraint of a problem, and the evaluation set.

    Args:
        problem: The problem whose constraints are sampled.
        seed: Seeds every draw (with the constraint's name and the resampling round).
        resample_every: Draw new points every this many optimizer steps (0: fixed points).
        eval_points: Size of the evaluation set for the error against the solution.
        dtype: Dtype of the training points (the network's dtype).
    """

    def __init__(
        self,
        problem: Problem,
        seed: int = 0,
        resample_every: int = 0,
        eval_points: int = 10_000,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if resample_every < 0:
            raise ConfigurationError(
                f"resample_every = {resample_every}; use 0 (fixed points) or a positive number "
                "of steps."
            )
        self.problem = problem
        self.seed = seed
        self.resample_every = resample_every
        self.eval_points = eval_points
        self.dtype = dtype or torch.get_default_dtype()
        self._round: int | None = None
        self._global: dict[str, dict[str, torch.Tensor]] = {}
        self._batch: dict[str, Any] = {}

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
            batch = constraint.sample(round_generator(self.seed, constraint.name, round_index))
            batches[constraint.name] = {
                key: value.to(self.dtype) if value.is_floating_point() else value
                for key, value in batch.items()
            }
        return batches

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
        return DataLoader([item], batch_size=None, num_workers=0)

    def state_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "resample_every": self.resample_every}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.seed = int(state_dict["seed"])
        self.resample_every = int(state_dict["resample_every"])
