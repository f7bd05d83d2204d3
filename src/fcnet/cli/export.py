"""``fcnet export``: a saved model as an ONNX file (the command lives in
:mod:`fcnet.interop.command`, beside the exporter; onnx is imported only when it runs)."""

from __future__ import annotations

import argparse
from typing import Any

from fcnet.interop import command


def add_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> argparse.ArgumentParser:
    """Add ``export`` to the sub-commands; its ``func`` default is :func:`run`."""
    return command.add_parser(commands)


def run(args: argparse.Namespace) -> int:
    """Write the ONNX file; 0, or 2 with one ``fcnet: error: ...`` line on stderr."""
    return command.run(args)
