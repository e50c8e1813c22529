"""Screenshots of a run's TensorBoard, as a user's browser shows it.

Starts ``tensorboard --logdir RUN/tensorboard`` on localhost, opens its dashboards in headless
Chromium and saves one PNG per dashboard::

    python scripts/tensorboard_screenshot.py RUN_FOLDER [--out DIR] [--port 6123]

writes ``DIR/timeseries.png`` (the first screen TensorBoard opens on), ``DIR/scalars.png`` and
``DIR/images.png`` (``DIR`` defaults to ``RUN_FOLDER/screenshots``). Needs a Chromium binary
(``chromium`` on Debian: ``apt-get install chromium``; or ``--chromium PATH``). Nothing is fetched
from outside the machine: the browser runs with a fresh profile and no background networking.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

DASHBOARDS = ("timeseries", "scalars", "images")
"""The dashboards photographed, by their URL fragment."""

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The path of a Chromium-like browser on ``PATH``, or None."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path is not None:
            return path
    return None


def free_port() -> int:
    """A TCP port that was free on localhost a moment ago."""
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return int(probe.getsockname()[1])


def wait_until_serving(url: str, timeout_s: float = 60.0) -> None:
    """Return once ``url`` answers; raise RuntimeError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"TensorBoard did not answer at {url} within {timeout_s:.0f} s")


def screenshot(chromium: str, url: str, path: Path, budget_ms: int = 40_000) -> None:
    """Save ``url`` as rendered by headless ``chromium`` to the PNG ``path``."""
    with tempfile.TemporaryDirectory(prefix="deepinn-chromium-") as profile:
        command = [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
            f"--screenshot={path}", "--window-size=1400,1000",
            f"--virtual-time-budget={budget_ms}", url,
        ]
        subprocess.run(command, check=True, capture_output=True, timeout=120)
    if not path.is_file():
        raise RuntimeError(f"{chromium} wrote no screenshot for {url}")


def take_screenshots(
    run_folder: Path, out: Path, port: int | None = None, chromium: str | None = None
) -> list[Path]:
    """PNG screenshots of ``run_folder``'s TensorBoard dashboards (see :data:`DASHBOARDS`)."""
    logdir = run_folder / "tensorboard"
    if not logdir.is_dir():
        raise FileNotFoundError(f"{run_folder} has no tensorboard/ folder (was the logger off?)")
    browser = chromium or find_chromium()
    if browser is None:
        raise FileNotFoundError("no Chromium found: apt-get install chromium, or pass --chromium")
    port = port or free_port()
    out.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--port", str(port),
         "--host", "localhost", "--reload_interval", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://localhost:{port}/"
        wait_until_serving(base + "data/environment")
        paths = []
        for dashboard in DASHBOARDS:
            path = out / f"{dashboard}.png"
            screenshot(browser, f"{base}#{dashboard}", path)
            paths.append(path)
        return paths
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_folder", type=Path, help="a run folder (holding tensorboard/)")
    parser.add_argument("--out", type=Path, default=None, help="where the PNGs go")
    parser.add_argument("--port", type=int, default=None, help="TensorBoard's port (default: free)")
    parser.add_argument("--chromium", default=None, help="the browser binary (default: on PATH)")
    args = parser.parse_args(argv)
    out = args.out or args.run_folder / "screenshots"
    for path in take_screenshots(args.run_folder, out, args.port, args.chromium):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
