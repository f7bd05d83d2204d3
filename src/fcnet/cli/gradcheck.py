"""``fcnet gradcheck``: a model's gradients against central differences, in float64."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from fcnet.cli.common import (
    EXIT_GRADCHECK_FAILED,
    EXIT_OK,
    UsageError,
    check_positive,
    check_seed,
    load_model,
    loss_for_task,
    loss_name,
    loss_task,
)

_GRADCHECK_EPILOG = """\
Compares backprop's gradients with central differences (L(p + eps) - L(p - eps)) / (2 eps), in
float64 on a copy of the model, on random samples. Exit code 0 when they agree, 1 when not.

examples:
  fcnet gradcheck                        a 5-8-3 tanh network with cross-entropy
  fcnet gradcheck model.safetensors --samples 8 --seed 1
"""


def add_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``fcnet gradcheck`` to the subcommands ``commands`` (argparse's subparsers)."""
    parser = commands.add_parser(
        "gradcheck",
        help="check backprop against central differences",
        description="Check a model's gradients against central differences, in float64.",
        epilog=_GRADCHECK_EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument("model", nargs="?", metavar="MODEL")
    parser.add_argument("--samples", type=int, default=4, help="default 4")
    parser.add_argument("--seed", type=int, default=0, help="default 0")
    parser.add_argument("--loss", help="default: the model's (cross_entropy, mse, ...)")
    parser.add_argument("--eps", type=float, default=1e-6, help="default 1e-6")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``fcnet gradcheck`` with the parsed ``args``; return the exit code."""
    from fcnet.gradcheck import check_gradients

    check_positive("--samples", args.samples)
    check_positive("--eps", args.eps)
    check_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    if args.model:
        model = load_model(args.model)
        what = f"'{args.model}'"
    else:
        from fcnet.layers import Dense
        from fcnet.network import Sequential

        model = Sequential([Dense(5, 8, activation="tanh", rng=rng), Dense(8, 3, rng=rng)])
        model.task = "classification"
        what = "a 5-8-3 network (tanh hidden layer)"
    n_in, n_out = model.n_in, model.n_out
    if n_in is None or n_out is None:
        raise UsageError("gradcheck: the model does not declare its input and output widths.")
    loss = loss_name(args.loss) if args.loss else loss_for_task(model.task)
    X = rng.normal(size=(args.samples, n_in))
    first = model.layers[0] if getattr(model, "layers", None) else None
    codes = list(
        zip(getattr(first, "columns", []), getattr(first, "cardinalities", []), strict=True)
    )
    for j, cardinality in codes:  # an Embedding's code columns take integer codes
        X[:, j] = rng.integers(0, cardinality, size=args.samples)
    if loss_task(loss) == "classification":
        y: np.ndarray = rng.integers(0, n_out, size=args.samples)
    elif loss_task(loss) == "binary":
        y = rng.integers(0, 2, size=(args.samples, n_out)).astype(np.float64)
    else:
        y = rng.normal(size=(args.samples, n_out))
    # codes are not differentiable: with code columns, dL/dX is not compared
    report = check_gradients(model, loss, X, y, eps=args.eps, check_input=not codes, rng=rng)
    print(f"gradient check of {what}: loss {loss}, {args.samples} random samples, seed {args.seed}")
    print(report)
    return EXIT_OK if report.ok else EXIT_GRADCHECK_FAILED
