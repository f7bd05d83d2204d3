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
from fcnet.cli.tabular import as_table, has_encoder, numbers_only

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


def _load_features(path: str, target: str | None, model: Any) -> Any:
    """The features of a data file for ``model``; a label column (``--target``) is left out.

    Every column of a CSV or Parquet file is read as a feature first. A model with an encoder
    then takes the table, matched by column name (a label column is simply not among its
    columns). For a model trained on numbers, without ``--target``, a file of one column more
    than the model needs holds a label in its last column, which is left out. (NPZ and IDX
    files store their labels apart, so their labels are never a feature.)
    """
    from fcnet import data

    dataset = data.load(path, target=False)
    table = as_table(dataset)
    names = [str(c) for c in table.columns]
    n_in = model.n_in
    drop = None
    if target is not None:
        drop = _column(target, names, path)
    elif not has_encoder(model) and dataset.target_is_column is False and n_in is not None:
        if len(names) != n_in and path.lower().endswith(_TABLES):
            drop = names[-1]  # the loaders' default target: the last column
    if drop is not None:
        table = table.drop(columns=[drop])
    if has_encoder(model):
        return table
    X = numbers_only(table, path)
    if n_in is not None and X.shape[1] != n_in:
        raise UsageError(
            f"'{path}' has {X.shape[1]} feature columns, the model expects {n_in}"
            + ("; name the label column with --target." if target is None else ".")
        )
    return X


_TABLES = (".csv", ".tsv", ".tab", ".parquet", ".pq")


def _column(target: str, names: list[str], path: str) -> str:
    """The column ``--target`` names: by name, or by index (a string of digits)."""
    if target in names:
        return target
    text = target.strip()
    if text.lstrip("-").isdigit() and -len(names) <= int(text) < len(names):
        return names[int(text)]
    shown = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
    raise UsageError(f"--target {target!r} names no column of '{path}'; its columns: {shown}.")
