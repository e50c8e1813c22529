"""Reference solutions packaged with deepinn (``deepinn/problems/data``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from deepinn._errors import ConfigurationError

__all__ = ["DATA_DIR", "load_grid_reference"]

DATA_DIR = Path(__file__).resolve().parent / "data"
"""Where the reference solutions (``.npz``, written by the scripts in ``scripts/``) live."""

def load_grid_reference(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Read ``data/<name>.npz`` (arrays ``x`` (n_x,), ``t`` (n_t,), ``u`` (n_t, n_x)).

    Returns:
        ``(points, values)``: float64 points (n_t * n_x, 2) with columns ``(x, t)`` and the
        solution there, (n_t * n_x, 1).

    Raises:
        ConfigurationError: The file is missing (with the script that writes it).
    """
    path = DATA_DIR / f"{name}.npz"
    if not path.is_file():
        raise ConfigurationError(
            f"Reference solution {path} is missing; regenerate it with "
            f"`python scripts/{name}_reference.py` from the repository root."
        )
    with np.load(path) as data:
        x, t, u = (torch.as_tensor(data[key], dtype=torch.float64) for key in ("x", "t", "u"))
    grid_t, grid_x = torch.meshgrid(t, x, indexing="ij")
    points = torch.stack([grid_x.reshape(-1), grid_t.reshape(-1)], dim=1)
    return points, u.reshape(-1, 1)
