"""``allocator=auto``: freed memory stays in the process, so a step's temporaries take no page
faults; ``system`` leaves the allocator alone."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap

import pytest

from deepinn._errors import ConfigurationError
from deepinn.training import RunConfig

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# Allocates and frees blocks of 8 to 23 MiB, one after the other, each page written, and prints
# the page faults, after keep_freed_memory() or not (a fresh process each: the settings hold for
# the process). glibc's default maps each block anew (its threshold rises only past a freed
# block); a kept heap grows once, to the largest block.
PROBE = textwrap.dedent(
    """
    import resource, sys
    import torch
    from deepinn.training.service._allocator import keep_freed_memory

    kept = keep_freed_memory() if sys.argv[1] == "auto" else None
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for mib in range(8, 24):
        block = torch.ones(mib * 2**18)
        del block
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before, kept)
    """
)


def _faults(allocator: str, **environment: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.pop("GLIBC_TUNABLES", None)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, allocator], capture_output=True, text=True, check=True,
        env=env | environment,
    )
    faults, kept = done.stdout.split()
    return int(faults), kept


@pytest.mark.skipif(not GLIBC, reason="glibc's allocator only")
def test_auto_keeps_freed_memory_so_blocks_reuse_the_heap():
    system, kept_by_system = _faults("system")
    auto, kept = _faults("auto")
    assert (kept_by_system, kept) == ("None", "True")
    assert system >= sum(range(8, 24)) * 256 * 0.9  # every block faulted in (4 KiB pages)
    assert auto <= 2 * 24 * 256  # the heap grew to about the largest block, once


@pytest.mark.skipif(not GLIBC, reason="glibc's allocator only")
@pytest.mark.parametrize("environment", [
    {"MALLOC_TRIM_THRESHOLD_": "131072"},
    {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=131072"},
])
def test_auto_keeps_thresholds_the_environment_sets(environment):
    _, kept = _faults("auto", **environment)
    assert kept == "False"


def test_an_unknown_allocator_is_refused_with_the_choices():
    with pytest.raises(ConfigurationError, match=r"allocator 'jemalloc'.*auto, system"):
        RunConfig(allocator="jemalloc")


def test_fit_applies_the_setting(monkeypatch):
    """``fit`` calls keep_freed_memory for ``auto`` and not for ``system``."""
    import deepinn.training.service._fit as service
    from deepinn.training import fit
    from tests.square_poisson import square_poisson

    calls = []
    monkeypatch.setattr(service, "keep_freed_memory", lambda: calls.append(1) or True)
    for allocator, expected in (("system", 0), ("auto", 1)):
        problem, network = square_poisson()
        fit(problem, network, max_steps=1, run_dir=None, logger=False, allocator=allocator,
            compile=False, trainer_options={"accelerator": "cpu", "enable_progress_bar": False})
        assert len(calls) == expected
