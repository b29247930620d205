"""The ``neurodis`` command line: each verb is one library call.

Verbs register themselves in :data:`COMMANDS` through :func:`command`; ``main`` builds
the parser from it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

__all__ = ["main"]

Handler = Callable[[argparse.Namespace], int]
#: verb -> (help, function adding arguments to a sub-parser, handler)
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Handler]] = {}


def command(name: str, help: str, arguments: Callable[[argparse.ArgumentParser], None]):
    """Register ``handler`` as the verb ``name``."""

    def decorator(handler: Handler) -> Handler:
        COMMANDS[name] = (help, arguments, handler)
        return handler

    return decorator


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    return None


@command("tasks", "list the registered tasks and their default parameters", _no_arguments)
def _tasks(args: argparse.Namespace) -> int:
    from neurodis.tasks import list_tasks, make_task

    for name in list_tasks():
        print(f"{name:<24} {make_task(name).config()}")
    return 0


def _sample_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task", help="registered task name (see `neurodis tasks`)")
    parser.add_argument("--n-trials", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--param", action="append", default=[], metavar="KEY=JSON",
                        help="task parameter, e.g. --param n_tasks=24 (repeatable)")
    parser.add_argument("--out", required=True, help="netCDF file to write")


@command("sample", "sample trials of a task and write them to netCDF", _sample_arguments)
def _sample(args: argparse.Namespace) -> int:
    import json

    from neurodis.tasks import make_task
    from neurodis.trials import save_trials

    params = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--param must look like KEY=JSON; got {item!r}")
        params[key] = json.loads(value)
    trials = make_task(args.task, **params).sample(args.n_trials, rng=args.seed)
    print(f"wrote {save_trials(trials, args.out)} with sizes {dict(trials.sizes)}")
    return 0


@command("versions", "print the versions of neurodis and its dependencies", _no_arguments)
def _versions(args: argparse.Namespace) -> int:
    from neurodis import show_versions

    show_versions()
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per registered verb."""
    from neurodis._version import __version__

    parser = argparse.ArgumentParser(prog="neurodis", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"neurodis {__version__}")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for name, (help_text, arguments, handler) in COMMANDS.items():
        child = sub.add_parser(name, help=help_text, description=help_text)
        arguments(child)
        child.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``)."""
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
