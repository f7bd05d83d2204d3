"""``fcnet predict``: the predictions of a saved model, written as CSV."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path
from typing import Any

import numpy as np

from fcnet.cli.common import EXIT_OK, UsageError, check_writable, load_model

_PREDICT_EPILOG = """\
Writes one row per sample: the predicted label (the original class names) or, for a regressor,
the outputs; with --proba also one probability column per class, headed by the class name.

examples:
  fcnet predict model.safetensors new.csv --out predictions.csv
  fcnet predict model.safetensors new.csv --proba          # to stdout
  fcnet predict model.safetensors test.csv --target label  # ignore the label column
"""


def add_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``fcnet predict`` to the subcommands ``commands`` (argparse's subparsers)."""
    parser = commands.add_parser(
        "predict",
        help="predictions of a saved model, as CSV",
        description="Write the predictions of a saved model as CSV.",
        epilog=_PREDICT_EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("data", metavar="DATA")
    parser.add_argument("--out", metavar="CSV", help="default: stdout")
    parser.add_argument("--proba", action="store_true", help="add class probabilities")
    parser.add_argument("--target", metavar="COL", help="a column to leave out of the features")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``fcnet predict`` with the parsed ``args``; return the exit code."""
    if args.out:
        check_writable("--out", args.out)
    model = load_model(args.model)
    X = _load_features(args.data, args.target, model)
    labels = model.predict(X)
    header: list[str]
    columns: list[np.ndarray]
    if labels.ndim == 1:
        header, columns = ["prediction"], [labels]
    else:
        header = [f"output_{j}" for j in range(labels.shape[1])]
        columns = [labels[:, j] for j in range(labels.shape[1])]
        if labels.shape[1] == 1:
            header = ["prediction"]
    if args.proba:
        if model.task not in ("classification", "binary"):
            raise UsageError("--proba needs a classifier; this model is a regressor.")
        probabilities = model.predict_proba(X)
        if model.task == "binary" and probabilities.shape[1] == 1:
            # One sigmoid output is P(second class); write both classes' columns.
            probabilities = np.column_stack([1.0 - probabilities[:, 0], probabilities[:, 0]])
        k = probabilities.shape[1]
        if model.classes is not None and len(model.classes) == k:
            names = [str(c) for c in model.classes.tolist()]
        else:
            names = [str(j) for j in range(k)]
        header += names
        columns += [probabilities[:, j] for j in range(probabilities.shape[1])]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in zip(*columns, strict=True):
        writer.writerow([_cell(v) for v in row])
    if args.out:
        from fcnet.io import atomic_write

        atomic_write(Path(args.out), buffer.getvalue().encode("utf-8"))
        print(f"{len(X)} predictions written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(buffer.getvalue())
    return EXIT_OK


def _cell(value: Any) -> str:
    """A CSV cell: numbers in full, as the shortest text that reads back as the same value in
    their own precision (a float class label such as 1234567.0 must stay one of the classes)."""
    if isinstance(value, float | np.floating):
        return str(value)
    if isinstance(value, np.generic):
        return str(value.item())
    return str(value)


def _load_features(path: str, target: str | None, model: Any) -> np.ndarray:
    """The feature matrix of a data file; a label column (``--target``) is left out.

    Without ``--target`` a CSV or Parquet file may or may not hold a label column. The loaders
    take the last column as the target; when the remaining columns are one fewer than the model
    needs, that last column was a feature and is put back. (NPZ and IDX files store their labels
    apart, so their labels are never a feature.)
    """
    from fcnet import data

    n_in = model.n_in
    try:
        dataset = data.load(path, target=target)
    except data.DataError as error:
        # the single feature column of a one-input model leaves no column for a target
        if target is not None or n_in != 1:
            raise
        dataset = data.load(path, target=False)
        if dataset.X.shape[1] != 1:  # not a one-column file: the first error stands
            raise error from None
    X = np.asarray(dataset.X)
    y = dataset.y
    if (
        target is None
        and dataset.target_is_column
        and n_in is not None
        and X.shape[1] + 1 == n_in
        and y is not None
        and y.dtype.kind in "biuf"
    ):
        X = np.ascontiguousarray(np.column_stack([X, y.astype(np.float32)]))
    if n_in is not None and X.shape[1] != n_in:
        raise UsageError(
            f"'{path}' has {X.shape[1]} feature columns, the model expects {n_in}"
            + ("; name the label column with --target." if target is None else ".")
        )
    return X
