"""Plugins end to end: installed into a fresh virtual environment, used from the command line.

Each virtual environment is created in ``tmp_path`` without pip and without downloading anything:
a ``.pth`` file puts the repository root (deepinn) and a *filtered view* of the running
interpreter's site-packages (torch, lightning, hydra, pip, setuptools, ...) on its path. The view
is a folder of symlinks to every entry of ``site.getsitepackages()`` except the files of
distributions that declare ``deepinn`` entry points (deepinn-mesh, an editable deepinn-example,
...), so each environment sees exactly the plugins installed into it. Plugins are installed with
``pip install --no-deps --no-build-isolation --no-index`` (non-editable), so their entry points
come from the environment's own ``*.dist-info``.

What this proves:

- the template plugin ``plugins/deepinn-example`` installs as a separate package, ``deepinn
  plugins`` lists its components with its distribution, and ``train.py`` runs with every one of
  them selected on the command line, with no edit to ``conf/``;
- a plugin that fails to import is a warning naming it and its distribution (the rest still
  works), an error in strict mode, and silent when disabled;
- two distributions registering one name is an error naming both;
- once the plugin is uninstalled, ``domain=annulus`` is Hydra's unknown-option error.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import site
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from deepinn.app import GROUPS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "plugins" / "deepinn-example"
TIMEOUT = 900  # seconds per subprocess: the CPU may be shared with other test runs
EXAMPLE_COMPONENTS = {
    "spaces": "spacetime",
    "domains": "annulus",
    "samplers": "jittered_grid",
    "constraints": "pointwise_source",
    "operators": "biharmonic",
    "networks": "example_resmlp",
    "problems": "poisson_annulus",
    "callbacks": "example_residual_histogram",
}
TINY = [
    "trainer.max_steps=3",
    "optimizer=adam",
    "logger=none",
    "eval_points=256",
    "problem.n_interior=64",
    "problem.n_boundary=32",
]


# --------------------------------------------------------------------------- environments


def _site_dirs() -> list[Path]:
    """The running interpreter's site-packages folders (CI runs inside its own .venv-ci)."""
    dirs = [Path(p) for p in site.getsitepackages()]
    if site.ENABLE_USER_SITE and site.getusersitepackages() in sys.path:
        dirs.append(Path(site.getusersitepackages()))
    return [d for d in dirs if d.is_dir()]


def _plugin_entries(site_dir: Path) -> set[str]:
    """Top-level entries of ``site_dir`` that belong to distributions declaring deepinn plugins."""
    hidden: set[str] = set()
    for info in [*site_dir.glob("*.dist-info"), *site_dir.glob("*.egg-info")]:
        entry_points = info / "entry_points.txt"
        if info.name.split("-")[0].lower() == "deepinn" or not entry_points.is_file():
            continue
        if not re.search(r"^\[deepinn\]\s*$", entry_points.read_text(), re.MULTILINE):
            continue
        hidden.add(info.name)
        top_level = info / "top_level.txt"
        if top_level.is_file():
            hidden.update(
                line.strip() for line in top_level.read_text().splitlines() if line.strip()
            )
        record = info / "RECORD"
        if record.is_file():  # editable installs: the .pth file and the import finder
            for line in record.read_text().splitlines():
                path = line.split(",")[0]
                if path and "/" not in path and not path.startswith(".."):
                    hidden.add(path)
    return hidden


@pytest.fixture(scope="module")
def site_view(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Symlinks to the interpreter's site-packages entries, minus every installed deepinn plugin."""
    view = tmp_path_factory.mktemp("site-view")
    for site_dir in _site_dirs():
        hidden = _plugin_entries(site_dir)
        for entry in sorted(site_dir.iterdir()):
            target = view / entry.name
            if entry.name not in hidden and not target.exists() and entry.name != "__pycache__":
                target.symlink_to(entry, target_is_directory=entry.is_dir())
    return view


def _env(**overrides: str | None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DEEPINN_", "PYTHON", "VIRTUAL_ENV"))
    }
    env.update(
        PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", PIP_NO_INDEX="1", MPLBACKEND="Agg"
    )
    env.update({k: v for k, v in overrides.items() if v is not None})
    return env


class Venv:
    """A fresh virtual environment that sees deepinn and its dependencies, and no plugin."""

    def __init__(self, path: Path, site_view: Path) -> None:
        subprocess.run(
            [sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=TIMEOUT
        )
        self.path = path
        bindir = "Scripts" if os.name == "nt" else "bin"
        self.python = str(path / bindir / ("python.exe" if os.name == "nt" else "python"))
        purelib = self.run(
            ["-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
        self.site_packages = Path(purelib)
        (self.site_packages / "_deepinn_e2e.pth").write_text(
            f"{ROOT}\nimport site; site.addsitedir({str(site_view)!r})\n"
        )

    def run(
        self, args: list[str], check: bool = True, **env: str | None
    ) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [self.python, *args],
            check=False,
            cwd=ROOT,
            env=_env(**env),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        if check:
            assert result.returncode == 0, (
                f"{args}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            )
        return result

    def pip_install(self, *projects: Path) -> None:
        self.run(
            [
                "-m",
                "pip",
                "install",
                "--no-deps",
                "--no-build-isolation",
                "--no-index",
                "--no-cache-dir",
                "--quiet",
                *map(str, projects),
            ]
        )

    def plugins(
        self, *args: str, check: bool = True, **env: str | None
    ) -> subprocess.CompletedProcess:
        return self.run(["-m", "deepinn", "plugins", *args], check=check, **env)

    def train(
        self, *overrides: str, run_dir: Path, check: bool = True, **env: str | None
    ) -> subprocess.CompletedProcess:
        return self.run(["train.py", *overrides, f"hydra.run.dir={run_dir}"], check=check, **env)


def _copy_project(source: Path, destination: Path) -> Path:
    """Build from a copy, so setuptools writes no build/ or *.egg-info into the repository."""
    ignore = shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".pytest_cache")
    shutil.copytree(source, destination, ignore=ignore)
    return destination


def _tiny_project(root: Path, distribution: str, plugin: str, module_source: str) -> Path:
    """A one-module distribution declaring the deepinn entry point ``plugin``."""
    module = distribution.replace("-", "_")
    project = root / distribution
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        textwrap.dedent(f"""\
        [build-system]
        requires = ["setuptools>=70.1"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{distribution}"
        version = "0.0.1"
        dependencies = ["deepinn"]

        [project.entry-points.deepinn]
        {plugin} = "{module}"

        [tool.setuptools]
        py-modules = ["{module}"]
        """)
    )
    (project / f"{module}.py").write_text(textwrap.dedent(module_source))
    return project


# ---------------------------------------------------------------- a. the example, installed


@pytest.fixture(scope="module")
def example_venv(tmp_path_factory: pytest.TempPathFactory, site_view: Path) -> Venv:
    root = tmp_path_factory.mktemp("example")
    venv = Venv(root / "venv", site_view)
    venv.pip_install(_copy_project(EXAMPLE, root / "deepinn-example"))
    return venv


def test_example_is_installed_into_the_venv_not_editable(example_venv: Venv) -> None:
    script = (
        "import importlib.metadata as m, importlib.util as u\n"
        "d = m.distribution('deepinn-example')\n"
        "print(d.locate_file(''))\n"
        "print(u.find_spec('deepinn_example').origin)\n"
        "print(sorted((e.name, e.value) for e in d.entry_points if e.group == 'deepinn'))\n"
    )
    location, origin, entry_points = example_venv.run(["-c", script]).stdout.splitlines()
    assert Path(location).resolve() == example_venv.site_packages.resolve()
    assert Path(origin).resolve().is_relative_to(example_venv.site_packages.resolve())
    assert entry_points == "[('example', 'deepinn_example.plugin')]"
    assert not list(EXAMPLE.glob("**/build")), "the build must not write into the repository"


def test_deepinn_plugins_lists_every_example_component(example_venv: Venv) -> None:
    result = example_venv.plugins(DEEPINN_STRICT_PLUGINS="1")
    rows = {
        line.split()[0]: line.split()
        for line in result.stdout.splitlines()
        if line.startswith("  ")
    }
    for kind, name in EXAMPLE_COMPONENTS.items():
        assert name in rows, f"{kind} {name!r} missing from:\n{result.stdout}"
        assert rows[name][1:3] == ["example", "deepinn-example"], rows[name]
    assert "failed to load" not in result.stdout
    assert "mesh" not in rows, "the venv must not see plugins installed outside it"


def test_train_selects_every_example_component(example_venv: Venv, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    example_venv.train(
        "problem=poisson_annulus",
        "domain=annulus",
        "sampler=jittered_grid",
        "net=example_resmlp",
        "domain.inner=0.4",
        "net.width=8",
        "net.blocks=1",
        "callbacks=[example_residual_histogram]",
        "callbacks.example_residual_histogram.bins=10",
        *TINY,
        run_dir=run_dir,
        DEEPINN_STRICT_PLUGINS="1",
    )
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["problem"] == "poisson_annulus" and metrics["steps"] == 3
    assert set(metrics["loss_per_constraint"]) == {"pde", "boundary"}
    assert math.isfinite(metrics["final_loss"]) and math.isfinite(metrics["rel_l2"])
    config = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    selected = {group: config[group].name for group in GROUPS}
    assert selected == {group: EXAMPLE_COMPONENTS[kind] for group, kind in GROUPS.items()}
    assert (config.domain.inner, config.net.width) == (0.4, 8)
    assert config.callbacks.example_residual_histogram.bins == 10


# ------------------------------------------------------------- b. broken and clashing plugins

BROKEN_MODULE = """\
raise RuntimeError("deliberately broken for the test")
"""


@pytest.fixture(scope="module")
def broken_venv(tmp_path_factory: pytest.TempPathFactory, site_view: Path) -> Venv:
    root = tmp_path_factory.mktemp("broken")
    venv = Venv(root / "venv", site_view)
    venv.pip_install(_tiny_project(root, "deepinn-broken", "broken", BROKEN_MODULE))
    return venv


BROKEN_WARNING = (
    "deepinn plugin 'broken' (distribution 'deepinn-broken') failed to load: "
    "RuntimeError: deliberately broken"
)


def test_broken_plugin_is_listed_and_the_rest_still_loads(broken_venv: Venv) -> None:
    result = broken_venv.plugins()
    assert "plugins that failed to load (1):" in result.stdout
    assert (
        "broken (distribution deepinn-broken): RuntimeError: deliberately broken" in result.stdout
    )
    assert "parallelogram" in result.stdout and "poisson" in result.stdout


def test_broken_plugin_warns_and_training_still_runs(broken_venv: Venv, tmp_path: Path) -> None:
    result = broken_venv.train(*TINY, "net.hidden=[8]", run_dir=tmp_path / "run")
    assert "PluginWarning" in result.stderr and BROKEN_WARNING in result.stderr
    assert "DEEPINN_DISABLE_PLUGINS=broken" in result.stderr
    assert (tmp_path / "run" / "metrics.json").is_file()


def test_broken_plugin_is_an_error_in_strict_mode(broken_venv: Venv, tmp_path: Path) -> None:
    listing = broken_venv.plugins(check=False, DEEPINN_STRICT_PLUGINS="1")
    assert listing.returncode == 1
    assert f"deepinn plugins: error: {BROKEN_WARNING}" in listing.stderr
    training = broken_venv.train(
        *TINY, run_dir=tmp_path / "run", check=False, DEEPINN_STRICT_PLUGINS="1"
    )
    assert training.returncode != 0
    assert "deepinn train: error:" in training.stderr and BROKEN_WARNING in training.stderr
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_disabled_broken_plugin_is_silent(broken_venv: Venv, tmp_path: Path) -> None:
    listing = broken_venv.plugins(DEEPINN_DISABLE_PLUGINS="broken")
    assert "failed to load" not in listing.stdout
    training = broken_venv.train(
        *TINY, "net.hidden=[8]", run_dir=tmp_path / "run", DEEPINN_DISABLE_PLUGINS="broken"
    )
    assert "PluginWarning" not in training.stderr and "deepinn-broken" not in training.stderr
    assert (tmp_path / "run" / "metrics.json").is_file()


RING_MODULE = """\
from dataclasses import dataclass

from deepinn.domains import Circle
from deepinn.plugins import Registration, hookimpl
from deepinn.spaces import R2


@dataclass
class RingParams:
    radius: float = 1.0


def build_ring(params):
    return Circle(R2("x"), [0.0, 0.0], params.radius)


@hookimpl
def deepinn_domains():
    return [Registration("ring", build_ring, RingParams, "a disk named ring")]
"""


def test_two_distributions_registering_one_name_is_an_error_only_when_chosen(
    tmp_path: Path, site_view: Path
) -> None:
    venv = Venv(tmp_path / "venv", site_view)
    venv.pip_install(
        _tiny_project(tmp_path, "deepinn-rings-a", "rings_a", RING_MODULE),
        _tiny_project(tmp_path, "deepinn-rings-b", "rings_b", RING_MODULE),
    )
    message = (
        "Two plugins register the domain 'ring': 'rings_a' (distribution 'deepinn-rings-a') and "
        "'rings_b' (distribution 'deepinn-rings-b')"
    )
    listing = venv.plugins(check=False)
    assert listing.returncode == 0 and "rings_a:ring, rings_b:ring" in listing.stdout
    training = venv.train(*TINY, "domain=ring", run_dir=tmp_path / "run", check=False)
    assert training.returncode != 0 and message in training.stderr
    assert "domain=rings_a:ring or domain=rings_b:ring" in training.stderr
    assert venv.train(*TINY, "domain=rings_b:ring", run_dir=tmp_path / "run-b").returncode == 0
    # disabling either provider resolves the clash
    assert (
        "deepinn-rings-b"
        in venv.plugins("--kind", "domains", DEEPINN_DISABLE_PLUGINS="rings_a").stdout
    )


# ----------------------------------------------------------------------- c. after uninstalling


def test_after_uninstalling_the_option_is_gone(tmp_path: Path, site_view: Path) -> None:
    venv = Venv(tmp_path / "venv", site_view)
    venv.pip_install(_copy_project(EXAMPLE, tmp_path / "deepinn-example"))
    assert "annulus" in venv.plugins("--kind", "domains").stdout
    venv.run(["-m", "pip", "uninstall", "--yes", "--quiet", "deepinn-example"])
    assert "annulus" not in venv.plugins("--kind", "domains").stdout
    result = venv.train("domain=annulus", *TINY, run_dir=tmp_path / "run", check=False)
    assert result.returncode != 0
    assert "Unknown domain option 'annulus'" in result.stderr
    listed = result.stderr.split("Registered domain options:", 1)[1].split(".")[0]
    options = {name.strip() for name in listed.split(",")}
    assert {"circle", "parallelogram", "sphere"} <= options and "annulus" not in options
