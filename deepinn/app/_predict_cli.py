"""The commands that use a finished run: ``deepinn predict``, ``deepinn evaluate`` and
``deepinn export``.

``deepinn predict RUN --points FILE --out FILE`` reads points from a CSV file (a header naming
the coordinates) or an NPZ file (an array per coordinate, or one (N, d) array ``points``) and
writes the coordinates and the predicted outputs, a column (CSV) or an array (NPZ) per name.
``deepinn evaluate RUN`` measures the run's error against the problem's solution again and
prints it next to the recorded one, with the solution, error and residual figures in the run
folder's ``evaluation/`` (``--plots DIR``: in DIR; ``--no-plots``: none).
``deepinn export RUN --format torchscript|onnx --out FILE`` writes a standalone network;
``--format vtk`` the prediction on a grid (``--grid x=0:1:101``, ``--resolution``) or a mesh
(``--mesh FILE``) for ParaView, in time slices along ``--time`` (``t`` where the problem has it;
``none``: every coordinate a spatial axis). Each works
for runs from the command line (rebuilt from their configuration); a run started from Python is
loaded from Python (``deepinn.load(run, problem=..., network=...)``). An error is one line
``deepinn <command>: error: ...`` and exit status 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deepinn._errors import ConfigurationError, DeepinnError, ShapeError, spoken_as

__all__ = ["COMMANDS", "run_command"]

COMMANDS = ("predict", "evaluate", "export")
"""The subcommands of this module (``deepinn <command> --help``)."""

_FORMATS = (".csv", ".npz")


def _parser(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"deepinn {command}")
    parser.add_argument("run", help="the run folder (outputs/<date>/<time>)")
    parser.add_argument("--checkpoint", choices=("final", "last", "best"), default="final",
                        help="the run's final network (default) or its last/best checkpoint")
    parser.add_argument("--device", default="cpu", help="where the network runs (cpu, cuda)")
    if command == "predict":
        parser.description = "Predict a finished run's outputs at the points of a file."
        parser.add_argument("--points", required=True,
                            help="a .csv (header: coordinate names) or .npz (an array per "
                                 "coordinate, or 'points' (N, d)) file")
        parser.add_argument("--out", required=True, help="the .csv or .npz file to write")
        parser.add_argument("--batch-size", type=int, default=65_536,
                            help="points per forward pass (default 65536)")
    elif command == "evaluate":
        parser.description = "Measure a finished run's error against its problem's solution."
        parser.add_argument("--points", type=int, default=None,
                            help="evaluation points (default: as many as the run measured)")
        parser.add_argument("--plots", default=None, metavar="DIR",
                            help="where the solution/error and residual figures go (default: "
                                 "the run folder's evaluation/)")
        parser.add_argument("--no-plots", action="store_true", help="write no figures")
    else:
        parser.description = ("Write a finished run's network as a standalone file, or its "
                              "prediction as VTK fields for ParaView.")
        parser.add_argument("--format", default=None,
                            choices=("torchscript", "onnx", "vtk"),
                            help="default: the --out file's suffix (.onnx onnx, .vtu/.vtk vtk, "
                                 "any other torchscript); "
                                 "torchscript: runs with torch.jit.load, without deepinn; onnx: "
                                 "runs with onnxruntime; vtk: the prediction (and the exact "
                                 "solution and error) as a .vtu/.vtk file, one per time slice "
                                 "with a .series index for a time-dependent problem (onnx and "
                                 'vtk need pip install "deepinn[export]")')
        parser.add_argument("--out", required=True, help="the file to write")
        parser.add_argument("--grid", action="append", default=[], metavar="NAME=LO:HI:N",
                            help="vtk: an axis of the grid (repeat per coordinate; the time "
                                 "coordinate's axis gives the time slices); a coordinate not "
                                 "given spans the domain's bounding box")
        parser.add_argument("--resolution", type=int, default=101,
                            help="vtk: points per axis not given by --grid (default 101)")
        parser.add_argument("--mesh", default=None, metavar="FILE",
                            help="vtk: a mesh file (any meshio reads) whose points and cells "
                                 "replace the grid")
        parser.add_argument("--time", default=None, metavar="NAME",
                            help="vtk: the time coordinate, one file per time slice (default: "
                                 "t, where the problem has it); none: every coordinate a "
                                 "spatial axis")
    return parser


def _suffix(path: str, what: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in _FORMATS:
        raise ConfigurationError(
            f"{what} {path!r}: use a .csv or .npz file (got {suffix or 'no suffix'!r})."
        )
    return suffix


def read_points(path: str) -> dict[str, np.ndarray] | np.ndarray:
    """The points of a .csv file (a header naming the columns) or a .npz file (an array per
    coordinate, or one (N, d) array ``points``).

    Raises:
        ConfigurationError: No such file, an unreadable file, or a CSV without a header.
    """
    suffix = _suffix(path, "--points")
    if not Path(path).is_file():
        raise ConfigurationError(f"--points {path!r}: no such file.")
    if suffix == ".npz":
        with np.load(path) as data:
            arrays = {name: data[name] for name in data.files}
        if set(arrays) == {"points"}:
            return arrays["points"]
        arrays.pop("points", None)
        return arrays
    with open(path) as handle:
        header = [name.strip() for name in handle.readline().strip().split(",")]
        if not all(name and not _is_number(name) for name in header):
            raise ConfigurationError(
                f"--points {path!r}: the first line must name the columns by coordinate "
                f"(e.g. 'x,t'); it is {','.join(header)!r}."
            )
        try:
            values = np.loadtxt(handle, delimiter=",", ndmin=2, dtype=np.float64)
        except ValueError as error:
            raise ConfigurationError(f"--points {path!r}: {error}") from None
    if values.size == 0:
        values = values.reshape(0, len(header))
    if values.shape[1] != len(header):
        raise ConfigurationError(
            f"--points {path!r}: {values.shape[1]} columns of numbers under {len(header)} names."
        )
    return {name: values[:, index] for index, name in enumerate(header)}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def write_table(path: str, columns: dict[str, np.ndarray]) -> None:
    """``columns`` as a .csv (a header, full float64 precision) or .npz file (array per name)."""
    suffix = _suffix(path, "--out")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".npz":
        arrays: dict[str, Any] = dict(columns)
        np.savez(target, **arrays)
        return
    table = np.stack([np.asarray(c, dtype=np.float64) for c in columns.values()], axis=1)
    np.savetxt(target, table, delimiter=",", header=",".join(columns), comments="", fmt="%.17g")


def _predict(args: argparse.Namespace, run: Any) -> int:
    points = read_points(args.points)
    if isinstance(points, np.ndarray):
        from deepinn.runs._predict import as_points

        x, _ = as_points(points, run.problem.space)
        points = {name: x[:, i].numpy() for i, name in enumerate(run.coordinates)}
    outputs = run.predict(points, batch_size=args.batch_size)
    clash = sorted(set(points) & set(outputs))
    if clash:
        raise ShapeError(f"--out: {clash} name both a coordinate and an output; rename one.")
    write_table(args.out, {**{k: np.asarray(v) for k, v in points.items()}, **outputs})
    count = len(next(iter(outputs.values())))
    print(f"deepinn predict: {count} points -> {args.out} ({', '.join(outputs)})")
    return 0


def _evaluate(args: argparse.Namespace, run: Any) -> int:
    measured = run.error(args.points)
    recorded = run.metrics.get("rel_l2")
    rows = [("rel_l2", measured["rel_l2"], recorded)]
    stored = run.metrics.get("rel_l2_per_output") or {}
    for name, value in (measured.get("rel_l2_per_output") or {}).items():
        rows.append((f"rel_l2 {name}", value, stored.get(name)))
    print(f"deepinn evaluate: problem {run.problem.name!r}, run {run.run_dir} "
          f"({run.checkpoint} network, {measured['points']} points)")
    print(f"  {'':<16}{'now':>12}{'recorded':>12}")
    for label, value, before in rows:
        shown = f"{before:.3e}" if isinstance(before, (int, float)) else "-"
        print(f"  {label:<16}{value:>12.3e}{shown:>12}")
    for name, value in run.coefficients.items():
        print(f"  {'coefficient ' + name:<16}{float(value.reshape(-1)[0]):>12.6g}")
    if not args.no_plots:
        folder = Path(args.plots) if args.plots is not None else run.run_dir / "evaluation"
        for path in write_plots(run, folder):
            print(f"  wrote {path}")
    return 0


def write_plots(run: Any, folder: Path) -> list[Path]:
    """``solution_<output>.png`` (prediction, exact, error) per output and
    ``residual_<constraint>.png`` (the PDE residual's norm over the solution grid) in ``folder``.
    """
    import torch
    from matplotlib.figure import Figure

    from deepinn.runs._predict import pde_constraints
    from deepinn.training.service._plots import solution_figure, solution_grid

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for index, output in enumerate(run.outputs):
        figure = solution_figure(run.problem, lambda x: run.predict(x).to(torch.float64), index)
        figure.savefig(folder / f"solution_{output}.png", dpi=100)
        written.append(folder / f"solution_{output}.png")
    if not pde_constraints(run.problem.constraints):
        return written
    grid, mask, shape = solution_grid(run.problem, resolution=61)
    names = run.coordinates
    for name, residual in run.residuals(grid).items():
        norm = residual.to(torch.float64).norm(dim=1).numpy()
        figure = Figure(figsize=(4.6, 3.6))
        axes = figure.add_subplot(1, 1, 1)
        if len(shape) == 1:
            axes.semilogy(grid[mask, 0].numpy(), norm[mask])
        else:
            image = np.where(mask, norm, np.nan).reshape(shape)
            lower, upper = run.problem.domain.bounding_box()
            extent = (float(lower[0]), float(upper[0]), float(lower[1]), float(upper[1]))
            shown = axes.imshow(image, origin="lower", extent=extent, aspect="auto")
            figure.colorbar(shown, ax=axes)
            axes.set_ylabel(names[1])
        axes.set_xlabel(names[0])
        axes.set_title(f"|residual| of {name}")
        figure.tight_layout()
        figure.savefig(folder / f"residual_{name}.png", dpi=100)
        written.append(folder / f"residual_{name}.png")
    return written


def grid_axes(specs: Sequence[str]) -> dict[str, np.ndarray]:
    """``--grid NAME=LO:HI:N`` options as axes by coordinate name.

    Raises:
        ConfigurationError: A spec not of that form.
    """
    axes = {}
    for spec in specs:
        name, _, bounds = spec.partition("=")
        parts = bounds.split(":")
        try:
            lower, upper, count = float(parts[0]), float(parts[1]), int(parts[2])
            if len(parts) != 3 or not name.strip() or count < 1:
                raise ValueError(spec)
        except (ValueError, IndexError):
            raise ConfigurationError(
                f"--grid {spec!r}: give NAME=LOWER:UPPER:COUNT, e.g. --grid x=0:1:101."
            ) from None
        axes[name.strip()] = np.linspace(lower, upper, count)
    return axes


def _export(args: argparse.Namespace, run: Any) -> int:
    from deepinn.runs._export import format_for

    args.format = args.format or format_for(args.out)
    options: dict[str, Any] = {}
    if args.format == "vtk":
        options = {"grid": grid_axes(args.grid), "resolution": args.resolution,
                   "mesh": args.mesh}
        if args.time is not None:
            options["time"] = None if args.time.lower() == "none" else args.time
    elif args.grid or args.mesh is not None or args.time is not None:
        raise ConfigurationError(
            f"--grid, --mesh and --time are for --format vtk, not --format {args.format}."
        )
    path = run.export(args.out, args.format, **options)
    print(f"deepinn export: {args.format} -> {path} "
          f"(inputs {run.coordinates}, outputs {list(run.outputs)}, {run.dtype})")
    return 0


def run_command(command: str, arguments: Sequence[str]) -> int:
    """Run ``deepinn <command> <arguments>`` (``command`` one of :data:`COMMANDS`).

    Returns:
        0 on success, 1 on an error (one line on stderr), 2 on a usage error.
    """
    args = _parser(command).parse_args(list(arguments))
    with spoken_as("cli"):  # a refusal's fix in this command's options (--format vtk)
        try:
            from deepinn.runs import load

            run = load(args.run, device=args.device, checkpoint=args.checkpoint)
            action = {"predict": _predict, "evaluate": _evaluate, "export": _export}[command]
            return action(args, run)
        except DeepinnError as error:
            message = " ".join(str(error).split())
            print(f"deepinn {command}: error: {message}", file=sys.stderr)
            return 1
