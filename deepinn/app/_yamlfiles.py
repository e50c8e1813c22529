"""The YAML files of a user's ``--config-dir``, read before Hydra loads any of them.

Hydra reads a configuration file whole, with every alias expanded, before it can say anything:
a file of nested anchors ("billion laughs") expands to billions of nodes and the command hangs
without a word, and a duplicate key or a tab ends in a raw YAML traceback. Each file is composed
first (parsed into its node graph, where an alias is one shared node, so the cost is the size of
the text), its size with every alias expanded is counted over that graph, and a file that is too
large, recursive, unreadable or holds a key twice is refused naming the file, the line and the
fix. The packaged configuration is deepinn's own and is not read again.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from deepinn._errors import ConfigurationError

__all__ = ["MAX_NODES", "check_config_dir", "check_yaml_file"]

MAX_NODES = 100_000
"""The most nodes a configuration file may expand to, aliases expanded (a long experiment file
holds a few hundred); data belongs in a ``.csv`` or ``.npz`` file (``problem.reference``, a
constraint's ``file``)."""

_SUFFIXES = (".yaml", ".yml")


class _Expansion:
    """Counts the nodes of a composed document with every alias expanded, each shared node
    counted once per use but visited once."""

    def __init__(self) -> None:
        self.sizes: dict[int, int] = {}
        self.open: set[int] = set()

    def size(self, node: yaml.Node) -> int:
        key = id(node)
        if key in self.sizes:
            return self.sizes[key]
        if key in self.open:
            raise _RecursiveAliasError(node)
        self.open.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for item in node.value:
                total += self.size(item)
        elif isinstance(node, yaml.MappingNode):
            for name, value in node.value:
                total += self.size(name) + self.size(value)
        self.open.discard(key)
        self.sizes[key] = total
        return total


class _RecursiveAliasError(Exception):
    def __init__(self, node: yaml.Node) -> None:
        super().__init__()
        self.node = node


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _duplicate(node: yaml.Node, seen: set[int]) -> tuple[str, int, int] | None:
    """The first key a mapping holds twice: (key, first line, second line)."""
    if id(node) in seen:
        return None
    seen.add(id(node))
    children: list[yaml.Node] = []
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for name, value in node.value:
            if isinstance(name, yaml.ScalarNode) and name.tag != "tag:yaml.org,2002:merge":
                if name.value in first:
                    return name.value, first[name.value], _line(name)
                first[name.value] = _line(name)
            children.extend((name, value))
    elif isinstance(node, yaml.SequenceNode):
        children.extend(node.value)
    for child in children:
        found = _duplicate(child, seen)
        if found is not None:
            return found
    return None


def _syntax_fix(problem: str) -> str:
    if "'\\t'" in problem:
        return "indent with spaces, not a tab"
    if "duplicate anchor" in problem or "undefined alias" in problem:
        return "define each anchor (&name) once, before the aliases (*name) that use it"
    return "fix the YAML there (indent with spaces; quote a value holding ': ' or '#')"


def check_yaml_file(path: str | os.PathLike[str], limit: int = MAX_NODES) -> None:
    """Refuse ``path`` when Hydra could not load it safely and readably.

    Raises:
        ConfigurationError: A YAML syntax error, a key given twice in one mapping, an alias
            that contains itself, or more than ``limit`` nodes with the aliases expanded; each
            naming the file, the line and the fix.
    """
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as handle:
            documents = list(yaml.compose_all(handle, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(str(error.problem or error.context or "a YAML error").split())
        raise ConfigurationError(
            f"{path}{where}: {problem}; {_syntax_fix(problem)}."
        ) from None
    except RecursionError:
        raise ConfigurationError(
            f"{path}: nested too deeply to read; flatten it (a configuration file holds "
            "settings a few levels deep)."
        ) from None
    except (yaml.YAMLError, OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(
            f"{path}: cannot be read as YAML ({' '.join(str(error).split())}); fix or remove "
            "the file."
        ) from None
    expansion = _Expansion()
    for document in documents:
        if document is None:
            continue
        try:
            size = expansion.size(document)
        except RecursionError:
            raise ConfigurationError(
                f"{path}: nested too deeply to read; flatten it (a configuration file holds "
                "settings a few levels deep)."
            ) from None
        except _RecursiveAliasError as recursive:
            raise ConfigurationError(
                f"{path}, line {_line(recursive.node)}: an alias refers to the node that holds "
                "it, so the file never ends when expanded; write the value out instead of the "
                "alias."
            ) from None
        if size > limit:
            raise ConfigurationError(
                f"{path}: expands to {size:,} YAML nodes with its aliases (*name) expanded; a "
                f"configuration file may hold at most {limit:,}. Remove the nested aliases "
                "(an alias of an alias multiplies the size), or put data in a .csv or .npz "
                "file (problem.reference, a constraint's file)."
            )
        duplicate = _duplicate(document, set())
        if duplicate is not None:
            key, first, second = duplicate
            raise ConfigurationError(
                f"{path}, line {second}: the key {key!r} is given twice in one mapping (first "
                f"at line {first}); keep one of them (YAML would not say which wins)."
            )


def check_config_dir(folder: str) -> None:
    """Check every YAML file under the ``--config-dir`` folder (hidden folders skipped).

    Raises:
        ConfigurationError: ``folder`` is not a folder, or a file fails
            :func:`check_yaml_file` (every file there is read, chosen by the run or not).
    """
    root = Path(folder)
    if not root.is_dir():
        raise ConfigurationError(
            f"--config-dir {folder}: no such folder ({root.resolve()}). Give the folder that "
            "holds your YAML files (--config-dir conf for conf/experiment/x.yaml); nothing was "
            "created."
        )
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
        for name in sorted(files):
            if name.endswith(_SUFFIXES):
                check_yaml_file(Path(directory) / name)
