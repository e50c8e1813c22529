"""A finished run as an object: its network, problem, configuration, metrics and coefficients,
and what they give at any points (predictions, residuals, the error)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from deepinn._errors import ConfigurationError
from deepinn.problems import Problem
from deepinn.runs._predict import (
    as_points,
    batched_partial,
    batched_predict,
    batched_residuals,
    grid_points,
    pde_constraints,
    returned,
)
from deepinn.training.service._metrics import relative_l2, relative_l2_per_output

__all__ = ["TrainedRun"]


@dataclass
class TrainedRun:
    """A finished run, loaded (:func:`deepinn.load`).

    Attributes:
        run_dir: The run folder.
        network: The trained network, in eval mode, in the dtype it was trained in, on the
            chosen device; under an output transform (exact conditions) it is the transformed
            network, so its outputs are the solution.
        problem: The problem (rebuilt from the configuration, or the one given to ``load``),
            with its learned coefficients set.
        config: The run's configuration as plain data (``.hydra/config.yaml``), or the
            description a run started from Python keeps.
        metrics: The run's ``metrics.json``.
        coefficients: The learned coefficients of an inverse problem, by name.
        record: The run's ``run.json``.
        checkpoint: Which weights were loaded: ``final``, ``last`` or ``best``.
    """

    run_dir: Path
    network: torch.nn.Module
    problem: Problem
    config: dict[str, Any] | None
    metrics: dict[str, Any]
    coefficients: dict[str, torch.Tensor] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)
    checkpoint: str = "final"

    @property
    def coordinates(self) -> list[str]:
        """The input columns, in order (``['t', 'x']``)."""
        return self.problem.space.coordinate_names()

    @property
    def outputs(self) -> tuple[str, ...]:
        """The output names, in column order."""
        return tuple(self.problem.outputs)

    @property
    def dtype(self) -> torch.dtype:
        """The network's dtype."""
        parameter = next(iter(self.network.parameters()), None)
        return parameter.dtype if parameter is not None else torch.get_default_dtype()

    @property
    def device(self) -> torch.device:
        """The network's device."""
        parameter = next(iter(self.network.parameters()), None)
        return parameter.device if parameter is not None else torch.device("cpu")

    def predict(self, points: Any, *, grid: bool = False, batch_size: int = 65_536) -> Any:
        """The network's outputs at ``points``, computed in batches of ``batch_size`` rows.

        Args:
            points: An (N, d) tensor or array, columns in the order of :attr:`coordinates`;
                or a dict of coordinate arrays (``{"t": t, "x": x}``; a variable of several
                dimensions by coordinate, ``x0``, ``x1``, or whole as (N, dim)).
            grid: The dict's 1-D arrays are the axes of a grid (``{"x": linspace(0, 1, 101),
                "t": linspace(0, 1, 51)}``): the outputs come shaped like the grid, one axis per
                coordinate in the order of :attr:`coordinates`.
            batch_size: Rows per forward pass (the memory of one pass).

        Returns:
            For an (N, d) tensor or array: the outputs (N, len(outputs)), a tensor or a numpy
            array as the points were, in the network's dtype, on the CPU. For a dict: a dict
            of (N,) arrays by output name.

        Raises:
            ShapeError: The points are not (N, d), or the dict lacks a coordinate.
        """
        shape: tuple[int, ...] = (-1,)
        if grid:
            x, shape = grid_points(points, self.problem.space)
            kind = "mapping-tensor" if all(
                isinstance(v, torch.Tensor) for v in points.values()) else "mapping"
        else:
            x, kind = as_points(points, self.problem.space)
        values = batched_predict(self.network, x, _positive(batch_size))
        if kind.startswith("mapping"):
            return {
                name: returned(values[:, index].reshape(shape).clone(), kind)
                for index, name in enumerate(self.outputs)
            }
        return returned(values, kind)

    def residuals(self, points: Any, *, batch_size: int = 16_384) -> dict[str, Any]:
        """Each PDE constraint's residual at ``points``, as the loss takes it.

        The residual is the constraint's function of the network's field (values and
        derivatives by autograd) minus its source, (N, m) per constraint; a well-trained run
        has residuals near zero inside the domain.

        Args:
            points: As for :meth:`predict`.
            batch_size: Rows per pass (a pass keeps the graph of the derivatives).

        Returns:
            ``{constraint name: (N, m) residual}``, tensors or numpy arrays as the points were.

        Raises:
            ConfigurationError: The problem has no PDE constraint.
        """
        x, kind = as_points(points, self.problem.space)
        constraints = pde_constraints(self.problem.constraints)
        if not constraints:
            names = [c.name for c in self.problem.constraints]
            raise ConfigurationError(
                f"residuals: problem {self.problem.name!r} has no PDE constraint (its constraints "
                f"are {names}); residuals are evaluated for PDE constraints only."
            )
        return {
            c.name: returned(
                batched_residuals(self.network, c, x, self.problem.space, self.outputs,
                                  _positive(batch_size)),
                kind.removeprefix("mapping-") if kind != "mapping" else "numpy",
            )
            for c in constraints
        }

    def derivative(
        self, points: Any, output: str, *coordinates: str, batch_size: int = 16_384
    ) -> Any:
        """The partial derivative of ``output`` by ``coordinates`` at ``points``, by autograd:
        ``derivative(x, "u", "x")`` is du/dx, ``derivative(x, "u", "x", "x")`` d2u/dx2,
        ``derivative(x, "u", "x", "t")`` d2u/dx dt (no coordinate: the value).

        Args:
            points: As for :meth:`predict` (not a grid).
            output: One of :attr:`outputs`.
            coordinates: Coordinates of :attr:`coordinates`, differentiated in turn.
            batch_size: Rows per pass (a pass keeps the graph of the derivatives).

        Returns:
            (N,): a tensor or a numpy array as the points were.

        Raises:
            ConfigurationError: An output or a coordinate the problem does not have.
        """
        unknown = [c for c in coordinates if c not in self.coordinates]
        if output not in self.outputs or unknown:
            what = (f"output {output!r} (outputs {list(self.outputs)})"
                    if output not in self.outputs
                    else f"coordinate(s) {unknown} (coordinates {self.coordinates})")
            raise ConfigurationError(
                f"derivative: problem {self.problem.name!r} has no {what}; name those."
            )
        x, kind = as_points(points, self.problem.space)
        values = batched_partial(self.network, x, self.problem.space, self.outputs, output,
                                 coordinates, _positive(batch_size))
        return returned(values[:, 0], "tensor" if kind.endswith("tensor") else "numpy")

    def error(self, n_points: int | None = None) -> dict[str, Any]:
        """The relative L2 error against the problem's exact or reference solution, on the
        evaluation set the run was measured on (``n_points``: that many points instead).

        Returns:
            ``{"rel_l2": ..., "rel_l2_per_output": {name: ...}}`` (floats), and ``points``,
            the number of points measured on.

        Raises:
            ConfigurationError: The problem has neither an exact nor a reference solution.
        """
        if not self.problem.has_solution:
            raise ConfigurationError(
                f"error: problem {self.problem.name!r} has no exact or reference solution to "
                "measure against; give the problem exact=... or reference=(points, values)."
            )
        n = n_points if n_points is not None else int(self.record.get("eval_points", 10_000))
        points, exact = self.problem.evaluation_set(n)
        if exact is None:  # not reached: the problem has a solution
            raise ConfigurationError(f"error: problem {self.problem.name!r} gave no solution.")
        prediction = batched_predict(self.network, points).to(torch.float64)
        prediction = self.problem.modulo_gauge(prediction, exact)
        result: dict[str, Any] = {
            "rel_l2": float(relative_l2(prediction, exact)),
            "points": len(points),
        }
        per_output = relative_l2_per_output(prediction, exact, self.problem.outputs)
        if per_output:
            result["rel_l2_per_output"] = {k: float(v) for k, v in per_output.items()}
        return result

    def export(
        self, path: str | os.PathLike[str], format: str = "torchscript", **options: Any
    ) -> Path:
        """Write the network as a standalone file that runs without deepinn, or the
        prediction as VTK fields for ParaView.

        ``torchscript``: ``torch.jit.load(path)`` maps an (N, d) tensor of points (columns in
        the order of :attr:`coordinates`) to the (N, len(outputs)) outputs. ``onnx``: one input
        ``points`` (N, d) in the network's dtype, one output (N,) per output name; needs
        ``pip install "deepinn[export]"``. ``vtk``: the outputs (with ``<output>_exact`` and
        ``<output>_error`` where the problem has an exact solution) on a grid or a mesh, a
        ``.vtu`` file, or one per time slice and a ``.series`` index for a time-dependent
        problem; ``options``: ``grid`` (axes by coordinate), ``mesh`` (a meshio Mesh or file),
        ``resolution`` (points per axis not given), ``time`` (the time coordinate, ``"t"``);
        needs meshio (the same extra).

        Returns:
            The path written (for a VTK time series, its ``.series`` index).

        Raises:
            ConfigurationError: An unknown format, a missing package, or a network a trace
                cannot reproduce.
        """
        from deepinn.runs._export import export

        return export(self, path, format, **options)

    def __repr__(self) -> str:
        return (
            f"TrainedRun({str(self.run_dir)!r}, problem={self.problem.name!r}, "
            f"outputs={list(self.outputs)}, coordinates={self.coordinates}, "
            f"checkpoint={self.checkpoint!r}, dtype={self.dtype})"
        )


def _positive(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigurationError(f"batch_size = {batch_size!r}; use a positive integer.")
    return batch_size
