"""Run folder ownership: a run folder belongs to one run, held with a lock while it writes.

A folder is *used* once a run has written results to it (``metrics.json``, ``checkpoints/``,
``tensorboard/``). A new run refuses a used folder unless it resumes that folder; a second run
while the first still writes is refused whatever it asks (``fcntl.flock`` on ``<run>/.lock``,
which a run that failed before writing anything leaves unlocked: its folder can be reused).
Under DDP, ranks other than 0 write into rank 0's folder and take no lock.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from deepinn._errors import ConfigurationError, Setting

__all__ = [
    "LOCK_NAME",
    "claim_run_folder",
    "held_run_folder",
    "is_secondary_rank",
    "make_unique_folder",
    "release_run_folder",
    "resume_setting",
    "run_folder_setting",
]

LOCK_NAME = ".lock"
_USED_MARKS = ("metrics.json", "checkpoints", "tensorboard")
_HELD: dict[Path, IO[str]] = {}
_RANK_VARIABLES = ("RANK", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK")


def resume_setting(run_folder: str | os.PathLike[str]) -> Setting:
    """The fix that continues the run in ``run_folder``."""
    return Setting("resume", str(run_folder), python=f"resume='{run_folder}'")


def run_folder_setting(folder: str = "<folder>") -> Setting:
    """The fix that puts the run in ``folder``."""
    return Setting("hydra.run.dir", folder, python=f"run_dir={folder}")


def is_secondary_rank() -> bool:
    """Whether this process is a DDP rank other than global 0 (it writes into rank 0's folder)."""
    for variable in _RANK_VARIABLES:
        value = os.environ.get(variable, "0")
        if value.isdigit() and int(value) > 0:
            return True
    return False


def _key(path: Path) -> Path:
    return path.resolve()


def _resumes(folder: Path, resume: str | os.PathLike[str] | None) -> bool:
    if resume is None:
        return False
    target = _key(Path(resume))
    return target == _key(folder) or _key(folder) in target.parents


def _create(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigurationError(
            f"Cannot create the run folder {str(folder)!r}: {error.strerror or error}. Choose a "
            "writable place (or run from a writable directory): {fix}",
            fix=[run_folder_setting()],
        ) from None


def claim_run_folder(
    folder: str | os.PathLike[str], resume: str | os.PathLike[str] | None = None
) -> None:
    """Create ``folder`` if needed, refuse it if another run used or holds it, and lock it.

    The lock is held until :func:`release_run_folder` or the end of the process. Claiming a
    folder this process holds already does nothing; so does a DDP rank other than 0.

    Raises:
        ConfigurationError: The folder cannot be created, another run wrote to it (and this run
            does not resume it), or another process holds its lock.
    """
    path = Path(folder)
    if is_secondary_rank() or _key(path) in _HELD:
        return
    _create(path)
    used = [mark for mark in _USED_MARKS if (path / mark).exists()]
    if used and not _resumes(path, resume):
        raise ConfigurationError(
            f"The run folder {str(path)!r} belongs to another run (it holds {', '.join(used)}); "
            "a run folder belongs to one run. Choose another folder, or continue that run with: "
            "{fix}",
            fix=[resume_setting(path)],
        )
    _lock(path)


def _lock(path: Path) -> None:
    import fcntl

    handle = open(path / LOCK_NAME, "a+")  # noqa: SIM115 - held open for the run's lifetime
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        owner = handle.read().strip() or "another process"
        handle.close()
        raise ConfigurationError(
            f"The run folder {str(path)!r} is in use by a running training ({owner}); two runs "
            "cannot write one folder. Wait for it to finish, or choose another folder: {fix}",
            fix=[run_folder_setting("<another folder>")],
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}\n")
    handle.flush()
    _HELD[_key(path)] = handle


def release_run_folder(folder: str | os.PathLike[str]) -> None:
    """Release the lock this process holds on ``folder`` (the ``.lock`` file stays: used)."""
    handle = _HELD.pop(_key(Path(folder)), None)
    if handle is not None:
        handle.close()  # closing drops the flock


@contextmanager
def held_run_folder(
    folder: str | os.PathLike[str], resume: str | os.PathLike[str] | None = None
) -> Iterator[None]:
    """Hold ``folder`` for the block; a folder claimed before (by the app) stays held after."""
    path = Path(folder)
    already = is_secondary_rank() or _key(path) in _HELD
    claim_run_folder(path, resume)
    try:
        yield
    finally:
        if not already:
            release_run_folder(path)


def make_unique_folder(folder: str | os.PathLike[str]) -> Path:
    """Create ``folder``, or ``folder-1``, ``folder-2``, ... when it exists (atomic ``mkdir``:
    two runs started in the same second get two folders)."""
    path = Path(folder)
    _create(path.parent)
    for index in range(10_000):
        candidate = path if index == 0 else path.with_name(f"{path.name}-{index}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        except OSError as error:
            raise ConfigurationError(
                f"Cannot create the run folder {str(candidate)!r}: {error.strerror or error}. "
                "Choose a writable place: {fix}",
                fix=[run_folder_setting()],
            ) from None
        return candidate
    raise ConfigurationError(
        f"No free run folder name next to {str(path)!r}; choose one: {{fix}}",
        fix=[run_folder_setting()],
    )
