"""``fcnet evaluate``: the loss and metrics of a saved model on a labelled data file."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from fcnet.cli.common import (
    CLASSIFICATION_METRICS,
    EXIT_OK,
    REGRESSION_METRICS,
    load_dataset,
    load_model,
)
from fcnet.cli.tabular import features_for

_EVALUATE_EPILOG = """\
examples:
  fcnet evaluate model.safetensors test.csv --target label
  fcnet evaluate model.safetensors test.npz
"""


def add_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``fcnet evaluate`` to the subcommands ``commands`` (argparse's subparsers)."""
    parser = commands.add_parser(
        "evaluate",
        help="loss and metrics of a saved model on a data file",
        description="Print the loss and metrics of a saved model on a labelled data file.",
        epilog=_EVALUATE_EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("data", metavar="DATA")
    parser.add_argument("--target", metavar="COL", help="target column (default: the last)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``fcnet evaluate`` with the parsed ``args``; return the exit code."""
    model = load_model(args.model)
    dataset = load_dataset(args.data, args.target)
    classifier = model.task in ("classification", "binary")
    metrics = CLASSIFICATION_METRICS if classifier else REGRESSION_METRICS
    X = features_for(model, dataset, args.data)
    results = model.evaluate(X, np.asarray(dataset.y), metrics=metrics)
    print(f"{args.data}: {len(dataset.X)} samples")
    for key, value in results.items():
        print(f"{key}: {value:.4f}")
    return EXIT_OK
