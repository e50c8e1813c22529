"""Which whole losses this machine has compiled: a marker per loss shape beside inductor's cache.

Inductor keeps what it compiled in an on-disk cache (its FX graph cache, under
``TORCHINDUCTOR_CACHE_DIR``, by default ``<tmp>/torchinductor_<user>``); a second compile of the
same graphs loads them from there in a fraction of a cold compile's time. Whether a loss's graphs
are in it cannot be asked of inductor before compiling, so deepinn writes, after a whole-loss
compile whose first call succeeded, an empty marker ``<inductor cache>/deepinn/<key>``, keyed by
what determines the graphs (:func:`compile_key`). ``compile=auto`` reads it (:func:`was_compiled`)
to price a compile warm or cold. The markers live inside inductor's folder, so deleting its cache
deletes them too.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

__all__ = ["compile_key", "package_digest", "record_compiled", "record_folder", "was_compiled"]

FOLDER = "deepinn"
"""The markers' folder inside inductor's cache folder."""

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
"""An object's address in a ``repr``: differs from process to process, never part of a key."""

_PLAIN = (bool, int, float, str, type(None))


def _text(value: Any) -> str:
    return _ADDRESS.sub("", repr(value))


def _plain(values: Iterable[Any]) -> str:
    return _text([value for value in values if isinstance(value, _PLAIN)])


def _code(function: Any) -> str:
    """What of a callable ends up in a traced graph: a function's code, constants and its
    closure's plain values (numbers, strings); a partial's function and arguments; a callable
    object's class and plain attributes (an expression's text)."""
    if isinstance(function, functools.partial):
        keywords = sorted(function.keywords.items())
        return f"partial {_code(function.func)} {_plain(function.args)} {_settings(keywords)}"
    function = inspect.unwrap(function)
    code = getattr(function, "__code__", None)
    if code is None:  # a builtin, or a callable object
        kind = type(function)
        name = getattr(function, "__qualname__", None) or kind.__qualname__
        state = sorted(getattr(function, "__dict__", {}).items())
        return f"{kind.__module__}.{name} {_settings(state)}"
    cells = [cell.cell_contents for cell in (function.__closure__ or ()) if _filled(cell)]
    digest = hashlib.sha256(code.co_code)
    for part in (_plain(code.co_consts), _text(code.co_names), _plain(cells)):
        digest.update(part.encode())
    return f"{function.__module__}.{function.__qualname__} {digest.hexdigest()[:16]}"


def _filled(cell: Any) -> bool:
    try:
        _ = cell.cell_contents
    except ValueError:  # a cell not yet assigned
        return False
    return True


def _settings(items: Iterable[tuple[str, Any]]) -> str:
    """The plain ``(name, value)`` pairs of ``items``: numbers, strings and tuples of them."""
    return _text([
        (name, value) for name, value in items
        if isinstance(value, _PLAIN)
        or (isinstance(value, tuple) and all(isinstance(v, _PLAIN) for v in value))
    ])


def _functions(owner: Any) -> list[str]:
    """``owner``'s callable attributes (residuals, sources, transforms; not modules, tensors,
    classes or samplers' generators), each described by :func:`_code`."""
    return [
        f"{name}={_code(value)}" for name, value in sorted(vars(owner).items())
        if callable(value) and not isinstance(value, (type, torch.nn.Module, torch.Tensor))
    ]


@functools.cache
def package_digest() -> str:
    """A digest of deepinn's own source (every ``.py`` file of the installed package, read once
    per process): what deepinn traces into a compiled loss (its Field, network lanes, loss
    assembly and compile settings) is deepinn's code, so another version or an edit of it
    keys another shape."""
    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        try:
            digest.update(path.read_bytes())
        except OSError:  # unreadable: its name alone
            continue
    return digest.hexdigest()[:16]


def compile_key(
    network: torch.nn.Module,
    constraints: Iterable[Any],
    points: Mapping[str, Mapping[str, Any]],
    rows: Mapping[str, int] | None,
    variant: str,
    settings: Sequence[str] = (),
) -> str:
    """A hex digest of what determines the graphs inductor compiles for a whole loss: torch's
    version, deepinn's own code (:func:`package_digest`), the ``variant`` (what is compiled,
    e.g. the loss or the loss with its gradient), the caller's ``settings`` (e.g. the field
    mode), the network's architecture (its ``repr``, its parameters' and buffers' names, shapes
    and dtypes, its modules' functions) and, per
    constraint, its class, global row count, plain attributes (name, weight, derivative
    orders), its batch's tensors' shapes, dtypes and devices and its functions' code. Values
    (the seed, the initial weights, the points themselves) do not enter it: a second run of a
    problem of the same shape has the same key.
    """
    parts = [torch.__version__, package_digest(), variant, *settings, _text(network)]
    tensors = [*network.named_parameters(), *network.named_buffers()]
    parts += [f"{name} {tuple(t.shape)} {t.dtype} {t.device.type} {t.requires_grad}"
              for name, t in tensors]
    for module in network.modules():
        parts += _functions(module)
    for constraint in constraints:
        kind = type(constraint)
        count = rows.get(constraint.name) if rows is not None else None
        plain = _settings(sorted(vars(constraint).items()))
        parts.append(f"{kind.__module__}.{kind.__qualname__} {count} {plain}")
        batch = points.get(constraint.name, {})
        parts += [f"{name} {tuple(value.shape)} {value.dtype} {value.device.type}"
                  for name, value in sorted(batch.items()) if isinstance(value, torch.Tensor)]
        parts += _functions(constraint)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def record_folder() -> Path:
    """``<inductor's cache folder>/deepinn``: inductor's ``TORCHINDUCTOR_CACHE_DIR``, or its
    default (created by inductor, not here)."""
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir

    inductor = os.environ.get("TORCHINDUCTOR_CACHE_DIR") or default_cache_dir()
    return Path(inductor).absolute() / FOLDER


def _cache_on() -> bool:
    """Whether inductor's on-disk FX graph cache is on (a compile then leaves graphs behind)."""
    import torch._inductor.config as inductor  # here, not at import: importing inductor is slow

    return bool(inductor.fx_graph_cache) and not inductor.force_disable_caches


def was_compiled(key: str) -> bool:
    """Whether a loss of ``key`` was compiled on this machine into the inductor cache in use,
    which is still on."""
    try:
        return _cache_on() and (record_folder() / key).is_file()
    except OSError:
        return False


def _rank() -> int:
    distributed = torch.distributed
    if distributed.is_available() and distributed.is_initialized():
        return int(distributed.get_rank())
    return 0


def record_compiled(key: str) -> None:
    """Mark a loss of ``key`` compiled (on rank 0 only, under DDP, with inductor's cache on).
    A folder that cannot be written leaves no marker, logged at DEBUG: the run goes on."""
    if _rank() != 0 or not _cache_on():
        return
    try:
        folder = record_folder()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / key).touch()
    except OSError as error:
        logging.getLogger("deepinn.training").debug(
            "compile: could not record the compiled loss's shape in %s (%s); a later run prices "
            "its compile cold", FOLDER, error,
        )
