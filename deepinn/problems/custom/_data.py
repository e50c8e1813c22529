"""Files a configured problem reads: reference solutions and observations (``.npz`` / ``.csv``).

A name without a folder that is not an existing file (``reference: burgers``) is one of deepinn's
packaged data files (``deepinn/problems/data/<name>.npz`` or ``.csv``). Columns are matched to
the problem's coordinates and outputs by name:

- ``.csv``: a header line naming the columns, e.g. ``x,y,u``; one row per point.
- ``.npz`` scattered: one 1-D array per coordinate and per output, all of one length.
- ``.npz`` grid: one 1-D array per coordinate (its grid values) and, per output, an array with
  one axis per coordinate, the time axis first and then the space coordinates in order (the
  layout of ``burgers.npz``: ``u`` is (n_t, n_x)); an array ``axes`` of coordinate names gives
  another axis order.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from deepinn._errors import ConfigurationError
from deepinn.problems._reference import DATA_DIR

__all__ = ["read_table", "resolve_file"]

_SUFFIXES = (".npz", ".csv")


def resolve_file(value: str, key: str) -> Path:
    """The file ``value`` names: a path, or a packaged data file by name.

    Raises:
        ConfigurationError: Naming ``key``, the value, the packaged names and the fix.
    """
    path = Path(value).expanduser()
    candidates = [path]
    if path.parent == Path(".") and not path.is_absolute():
        candidates += [DATA_DIR / path.name] + [DATA_DIR / (path.name + s) for s in _SUFFIXES]
    for candidate in candidates:
        if candidate.is_file():
            if candidate.suffix not in _SUFFIXES:
                raise ConfigurationError(
                    f"{key} = {value!r}: {candidate} is neither .npz nor .csv; give a .npz or "
                    ".csv file."
                )
            return candidate
    packaged = sorted(p.stem for p in DATA_DIR.iterdir() if p.suffix in _SUFFIXES)
    raise ConfigurationError(
        f"{key} = {value!r}: no such file (relative paths are read from {Path.cwd()}) and no "
        f"packaged data file of that name. Packaged: {', '.join(packaged)}. Give a path to a "
        ".npz or .csv file."
    )


def _missing(
    key: str, path: Path, wanted: Sequence[str], found: Sequence[str]
) -> ConfigurationError:
    return ConfigurationError(
        f"{key}: {path.name} has no column(s) {list(wanted)}; it has {list(found)}. Name the "
        "columns after the problem's coordinates and outputs."
    )


def _read_csv(path: Path, key: str) -> dict[str, np.ndarray]:
    try:
        data = np.genfromtxt(path, delimiter=",", names=True, dtype=np.float64, encoding="utf-8")
    except ValueError as error:
        raise ConfigurationError(f"{key}: cannot read {path} as CSV: {error}.") from None
    names = data.dtype.names or ()
    if not names or data.size == 0:
        raise ConfigurationError(
            f"{key}: {path} needs a header line naming its columns (e.g. x,y,u) and at least "
            "one row."
        )
    return {name: np.atleast_1d(np.asarray(data[name])) for name in names}  # type: ignore[call-overload]


def _grid(
    arrays: dict[str, np.ndarray], key: str, path: Path, coordinates: Sequence[str],
    outputs: Sequence[str], time: str | None,
) -> tuple[np.ndarray, np.ndarray]:
    if "axes" in arrays:
        axes = [str(a) for a in arrays["axes"]]
    else:
        axes = [c for c in coordinates if c == time] + [c for c in coordinates if c != time]
    if sorted(axes) != sorted(coordinates):
        raise ConfigurationError(
            f"{key}: {path.name}'s axes {axes} are not the coordinates {list(coordinates)}."
        )
    grids = np.meshgrid(*[arrays[a].reshape(-1) for a in axes], indexing="ij")
    shape = grids[0].shape
    points = np.stack([grids[axes.index(c)].reshape(-1) for c in coordinates], axis=1)
    columns = []
    for name in outputs:
        if arrays[name].shape != shape:
            raise ConfigurationError(
                f"{key}: {path.name}'s array {name!r} has shape {arrays[name].shape}; on the grid "
                f"of {axes} it must be {shape} (axes in that order; an array 'axes' names another "
                "order)."
            )
        columns.append(arrays[name].reshape(-1))
    return points, np.stack(columns, axis=1)


def read_table(
    value: str, key: str, coordinates: Sequence[str], outputs: Sequence[str],
    time: str | None = None, require_all: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...]]:
    """Points (N, d) and values (N, k) from a file, float64, columns matched by name.

    Args:
        require_all: Every output must be in the file; otherwise those present are read
            (observations of some outputs only), and at least one must be.

    Returns:
        ``(points, values, outputs read)``.

    Raises:
        ConfigurationError: A missing file or column, or arrays of inconsistent shapes.
    """
    path = resolve_file(value, key)
    if path.suffix == ".csv":
        arrays = _read_csv(path, key)
    else:
        with np.load(path) as data:
            arrays = {name: np.asarray(data[name]) for name in data.files}
    missing = [c for c in coordinates if c not in arrays]
    present = tuple(o for o in outputs if o in arrays)
    absent = [o for o in outputs if o not in arrays]
    if missing or not present or (require_all and absent):
        raise _missing(key, path, missing + absent, sorted(arrays))
    scattered = all(arrays[name].ndim == 1 for name in (*coordinates, *present))
    lengths = {len(arrays[name]) for name in (*coordinates, *present)} if scattered else set()
    if scattered and len(lengths) == 1:
        points = np.stack([arrays[c] for c in coordinates], axis=1)
        values = np.stack([arrays[o] for o in present], axis=1)
    elif path.suffix == ".npz":
        points, values = _grid(arrays, key, path, coordinates, present, time)
    else:  # pragma: no cover - CSV columns always have one length
        raise ConfigurationError(f"{key}: {path} has columns of different lengths.")
    if not (np.isfinite(points).all() and np.isfinite(values).all()):
        raise ConfigurationError(f"{key}: {path} holds non-finite numbers (empty cells?).")
    as_tensor = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float64)  # noqa: E731
    return as_tensor(points), as_tensor(values), present
