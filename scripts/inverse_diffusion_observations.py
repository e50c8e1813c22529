"""Write deepinn/problems/data/inverse_diffusion_obs.csv: the built-in inverse problem's data.

The 500 observations ``problem=inverse_diffusion`` draws with its defaults (unit square,
u = sin(pi x) sin(pi y) plus N(0, 0.01^2) noise, data_seed 1234), as a CSV with the columns
``x, y, u``, so that ``+experiment=yaml_inverse`` trains on exactly the same data.

    python scripts/inverse_diffusion_observations.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepinn.domains import Parallelogram
from deepinn.problems._inverse_diffusion import noisy_observations
from deepinn.spaces import R2

DATA = Path(__file__).resolve().parents[1] / "deepinn" / "problems" / "data"
OUT = DATA / "inverse_diffusion_obs.csv"


def main() -> None:
    square = Parallelogram(R2("x"), [0.0, 0.0], [1.0, 0.0], [0.0, 1.0])
    points, values = noisy_observations(square, n=500, noise=0.01, seed=1234)
    table = np.concatenate([points.numpy(), values.numpy()], axis=1)
    np.savetxt(OUT, table, delimiter=",", header="x,y,u", comments="", fmt="%.17g")
    print(f"wrote {OUT} ({len(table)} rows)")


if __name__ == "__main__":
    main()
