"""The ``fcnet export`` command: a saved model to an ONNX file.

``add_parser(subparsers)`` adds the command to the ``fcnet`` parser's sub-commands and
``run(args)`` carries it out, returning the exit code: 0 when the file is written, 2 for a
usage or data error (one line on stderr, ``fcnet: error: ...``): a model file that cannot be
read, a layer that cannot be exported, an opset out of range, an output path that cannot be a
file, or the onnx package missing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_USAGE = 2

_EPILOG = """\
Writes the network, the scaler saved with it and, for a classifier, the class probabilities
and labels as one ONNX graph: input "input" (batch, n_in); outputs "output" (the raw network
output) and, for a classifier, "probabilities" and "label" (the class names when the model has
them). A model trained on a table with text or missing values (fcnet train table.csv) takes
the raw columns instead, one input per column named by it, shape (batch,): float64 for numbers
and booleans (NaN where missing), strings for text columns (stripped; "" where missing); the
graph encodes them as training did. Needs the onnx package (pip install "fcnet[onnx]").

examples:
  fcnet export model.safetensors model.onnx
  fcnet export model.safetensors model.onnx --opset 18

exit codes: 0 ok, 2 usage or data error
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``export`` to the sub-commands of the ``fcnet`` parser (``add_subparsers()``'s
    result); its ``func`` default is :func:`run`."""
    parser = subparsers.add_parser(
        "export",
        help="a saved model as an ONNX file, for deployment",
        description="Export a saved model to ONNX.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", metavar="MODEL", help="a model saved by fcnet (.safetensors)")
    parser.add_argument("out", metavar="OUT", help="the ONNX file to write (.onnx)")
    parser.add_argument(
        "--opset",
        type=int,
        default=17,
        metavar="N",
        help="ONNX opset (default 17, written with IR version 8)",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Export ``args.model`` to ``args.out``; print one line on stdout; return the exit code."""
    try:
        _check_writable(args.out)
        from fcnet.interop.onnx_export import to_onnx
        from fcnet.io import load

        model = load(args.model)
        onnx_model = to_onnx(model, args.out, opset=args.opset)
    except (ValueError, TypeError, OSError, ImportError) as exc:
        _fail(exc)
        return EXIT_USAGE
    outputs = ", ".join(output.name for output in onnx_model.graph.output)
    inputs = [value.name for value in onnx_model.graph.input]
    columns = f"; inputs {', '.join(inputs)} ({len(inputs)})" if inputs != ["input"] else ""
    print(
        f"{args.out}: ONNX opset {args.opset}, IR version {onnx_model.ir_version}; "
        f"outputs {outputs}{columns}"
    )
    return EXIT_OK


def _check_writable(path: str) -> None:
    """Refuse an output path that cannot become a file: a folder, or one under a file."""
    target = Path(path)
    if target.is_dir():
        raise ValueError(f"OUT '{path}' is a folder; expected a file path.")
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(
                    f"OUT '{path}': '{parent}' is a file, so it cannot hold '{target.name}'."
                )
            break


def _fail(exc: BaseException) -> None:
    message = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        message = f"'{exc.filename}': {exc.strerror.lower()}."
    print(f"fcnet: error: {' '.join(message.split())}", file=sys.stderr)
