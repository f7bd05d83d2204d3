"""The ``fcnet`` command's parser and entry point: one subcommand per module of this package."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import fcnet.cli.evaluate as evaluate
import fcnet.cli.explain as explain
import fcnet.cli.export as export
import fcnet.cli.gradcheck as gradcheck
import fcnet.cli.predict as predict
import fcnet.cli.train as train
from fcnet.cli.common import (
    EXIT_BROKEN_PIPE,
    EXIT_DIVERGED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    Parser,
)

_MAIN_EPILOG = """\
examples:
  fcnet train                                     train on the bundled digits
  fcnet train data.csv --target label --hidden 128,64 --epochs 20 --plot curves.png
  fcnet evaluate model.safetensors test.csv --target label
  fcnet predict model.safetensors new.csv --out predictions.csv --proba
  fcnet export model.safetensors model.onnx       for ONNX Runtime, in any language
  fcnet gradcheck model.safetensors
  fcnet explain                                   backpropagation step by step, with numbers

exit codes: 0 ok, 1 gradient check failed, 2 usage or data error, 3 training diverged,
130 interrupted (Ctrl-C)
"""

#: The commands, in the order ``fcnet --help`` lists them. A new command is a module with
#: ``add_parser(commands, formatter)`` (which sets ``func=run`` as the parser's default) and
#: ``run(args) -> int``, imported above and added to this list.
COMMANDS = [train, evaluate, predict, export, gradcheck, explain]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``fcnet`` command."""
    from fcnet import __version__

    formatter = argparse.RawDescriptionHelpFormatter
    parser = Parser(
        prog="fcnet",
        description="Fully connected neural networks with hand-written, numerically checked "
        "backpropagation.",
        epilog=_MAIN_EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"fcnet {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    for command in COMMANDS:
        command.add_parser(commands, formatter)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fcnet`` command with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(None if argv is None else list(argv))
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    from fcnet.training import TrainingDiverged

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", UserWarning)
            shown: set[str] = set()
            warnings.showwarning = lambda message, *rest, **more: _show_warning(message, shown)
            return int(args.func(args))
    except TrainingDiverged as exc:
        fail(exc)
        return EXIT_DIVERGED
    except KeyboardInterrupt:
        print("fcnet: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader closed the pipe (``fcnet predict ... | head``): stop quietly, as Unix tools
        # do, and keep Python from complaining when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except (ValueError, TypeError, OSError, ImportError, IndexError, KeyError) as exc:
        fail(exc)
        return EXIT_USAGE
    except MemoryError as exc:  # a network or data set too large for this machine
        print(f"fcnet: error: out of memory: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_USAGE


def _show_warning(message: Any, shown: set[str]) -> None:
    """A warning of the library (a dropped row, an unseen category) as one line on stderr, once
    (``predict --proba`` encodes the rows twice, for the labels and the probabilities)."""
    text = " ".join(str(message).split())
    if text not in shown:
        shown.add(text)
        print(f"fcnet: warning: {text}", file=sys.stderr)


def fail(exc: BaseException) -> None:
    message = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        message = f"'{exc.filename}': {exc.strerror.lower()}."
    elif isinstance(exc, KeyError):
        message = f"missing {message}."
    message = " ".join(message.split())  # always one line
    print(f"fcnet: error: {message}", file=sys.stderr)
