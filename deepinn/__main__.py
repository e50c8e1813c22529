"""The ``deepinn`` command line (also ``python -m deepinn``).

``deepinn train <overrides>`` runs the main job (see :mod:`deepinn.app`); ``deepinn predict``,
``deepinn evaluate`` and ``deepinn export`` use a finished run (:mod:`deepinn.app._predict_cli`);
``deepinn show KIND
NAME`` prints one component's parameters (``deepinn plugins --params``: every component's).
``deepinn plugins`` loads the registry and lists every registered component by kind, with the
plugin and distribution that provide it, then every plugin that failed to load and why.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence

from deepinn._errors import DeepinnError
from deepinn.plugins import DISABLE_ENV, STRICT_ENV, PluginWarning, load_registry
from deepinn.plugins._kinds import KINDS, find_kind
from deepinn.plugins._listing import format_params, format_registry

__all__ = ["main"]


def _kind(value: str) -> str:
    """Accept a kind as plural (``domains``), singular (``domain``) or config group (``net``)."""
    try:
        return find_kind(value).name
    except DeepinnError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _parser() -> argparse.ArgumentParser:
    from deepinn import __version__

    parser = argparse.ArgumentParser(
        prog="deepinn", description="deepinn: physics-informed neural networks in PyTorch."
    )
    parser.add_argument("--version", action="version", version=f"deepinn {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser(
        "train",
        help="train a PINN from the packaged configuration (Hydra overrides follow)",
        description=(
            "Train the configured problem: deepinn train domain=circle sampler=sobol "
            "trainer.max_steps=500. Hydra flags work too (-m, --cfg job, --config-dir DIR, "
            "--help)."
        ),
        add_help=False,
    )
    plugins = commands.add_parser(
        "plugins",
        help="list registered components and plugins that failed to load",
        description=(
            "Load every plugin (deepinn's built-ins and the installed 'deepinn' entry points) "
            "and list the registered components by kind, then any plugin that failed to load."
        ),
    )
    plugins.add_argument(
        "--kind",
        type=_kind,
        action="append",
        metavar="KIND",
        help=f"only list this kind (repeatable): {', '.join(KINDS)}",
    )
    strictness = plugins.add_mutually_exclusive_group()
    strictness.add_argument(
        "--strict",
        action="store_true",
        default=None,
        help=f"fail (exit 1) if a plugin fails to load; default from {STRICT_ENV}",
    )
    strictness.add_argument(
        "--no-strict",
        dest="strict",
        action="store_false",
        help="only report plugins that fail to load",
    )
    plugins.set_defaults(strict=None)
    plugins.add_argument(
        "--disable",
        action="append",
        metavar="NAME",
        help=f"skip this plugin or distribution (repeatable); default from {DISABLE_ENV}",
    )
    plugins.add_argument(
        "--params",
        action="store_true",
        help="follow each component with its parameters (type, default, doc)",
    )
    for name, summary in (("predict", "a finished run's outputs at the points of a file"),
                          ("evaluate", "a finished run's error against the solution"),
                          ("export", "a finished run's network as a standalone TorchScript file")):
        commands.add_parser(name, help=f"{summary}: deepinn {name} RUN ...", add_help=False)
    show = commands.add_parser(
        "show",
        help="one component's parameters: deepinn show domain circle",
        description="Show a registered component's summary, provider and parameters.",
    )
    show.add_argument("kind", type=_kind, help=f"its kind: {', '.join(KINDS)}")
    show.add_argument("name", help="its registered name")
    return parser


def _plugins(args: argparse.Namespace) -> int:
    with warnings.catch_warnings():
        # Failures are listed below; do not print them twice.
        warnings.simplefilter("ignore", PluginWarning)
        registry = load_registry(strict=args.strict, disabled=args.disable)
    sys.stdout.write(format_registry(registry, args.kind, params=args.params))
    return 0


def _show(args: argparse.Namespace) -> int:
    registry = load_registry()
    components = registry.kind(args.kind)
    sys.stdout.write(format_params(components.get(args.name), components.kind))
    return 0


EXIT_BROKEN_PIPE = 141
"""The exit status when the reader of the output went away (128 + SIGPIPE, as a shell reports
a command stopped by a closed pipe: ``deepinn train --help | head``)."""


def _silence_stdout() -> None:
    """Point stdout at the null device, so that flushing it at exit raises nothing again."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (a test's capture)
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, descriptor)
    os.close(null)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: The arguments, without the program name; default ``sys.argv[1:]``.

    Returns:
        The exit status: 0 on success, 1 when deepinn reports an error (for example a plugin that
        fails to load in strict mode), 2 on a usage error, 141 when the output's reader closed
        the pipe (``| head``), without a traceback.
    """
    try:
        return _main(argv)
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE


def _main(argv: Sequence[str] | None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["train"]:
        from deepinn.app import train  # Hydra and Lightning only for the main job

        return train(arguments[1:])
    if arguments[:1] and arguments[0] in ("predict", "evaluate", "export"):
        from deepinn.app._predict_cli import run_command  # a finished run: load, use

        return run_command(arguments[0], arguments[1:])
    args = _parser().parse_args(arguments)
    try:
        return _show(args) if args.command == "show" else _plugins(args)
    except DeepinnError as error:
        print(f"deepinn {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
