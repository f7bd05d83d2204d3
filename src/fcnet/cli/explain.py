"""``fcnet explain``: one forward pass, backward pass and SGD step, with every number."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from fcnet.cli.common import (
    EXIT_OK,
    UsageError,
    check_name,
    check_seed,
    float_list,
    int_list,
    load_model,
    loss_for_task,
    loss_task,
)

_EXPLAIN_EPILOG = """\
Prints one forward pass, the loss, one backward pass and one SGD step with every number, and
beside each gradient its central-difference estimate.

examples:
  fcnet explain                          the worked example: one dense layer, 2 inputs, 2 outputs
  fcnet explain --layers 2,3,2           a seeded 2-3-2 network (sigmoid hidden layer)
  fcnet explain --layers 2,3,2 --sample 0.3,0.7 --target 1,0 --lr 0.5
  fcnet explain --model model.safetensors --sample "0.1,0.5,..." --target 3
"""


def add_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``fcnet explain`` to the subcommands ``commands`` (argparse's subparsers)."""
    parser = commands.add_parser(
        "explain",
        help="one step of backpropagation, with every number",
        description="Trace one forward pass, backward pass and SGD step, layer by layer.",
        epilog=_EXPLAIN_EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument("--layers", metavar="N,N,N", help="widths of a seeded network, e.g. 2,3,2")
    parser.add_argument("--activation", default="sigmoid", help="hidden activation for --layers")
    parser.add_argument("--model", metavar="PATH", help="a saved model")
    parser.add_argument("--sample", metavar="X1,X2,...", help="one input sample")
    parser.add_argument("--target", metavar="Y", help="its target: values, or a class label")
    parser.add_argument("--loss", help="default: mse (cross_entropy for a classifier)")
    parser.add_argument("--lr", type=float, default=0.1, help="SGD learning rate (default 0.1)")
    parser.add_argument("--seed", type=int, default=0, help="for --layers (default 0)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``fcnet explain`` with the parsed ``args``; return the exit code."""
    from fcnet.explain import explain, worked_example

    if not (args.lr >= 0 and np.isfinite(args.lr)):
        raise UsageError(f"expected --lr >= 0, got {args.lr!r}.")
    if args.layers and args.model:
        raise UsageError("give --layers or --model, not both.")
    sample = None if args.sample is None else float_list("--sample", args.sample)
    loss = args.loss
    if args.model:
        model = load_model(args.model)
        if sample is None or args.target is None:
            raise UsageError("--model needs --sample X1,X2,... and --target (value(s) or class).")
        if model.task in ("classification", "binary") and loss is None:
            loss = loss_for_task(model.task)
        if loss is not None and loss_task(loss) == "classification":
            y: Any = [_class_label(args.target, model)]
        elif (value := _binary_label(args.target, model)) is not None:
            y = [[value]]
        else:
            y = [float_list("--target", args.target)]
        X = [sample]
    elif args.layers:
        from fcnet.activations import ACTIVATIONS
        from fcnet.layers import Dense
        from fcnet.network import Sequential

        widths = int_list("--layers", args.layers, allow_empty=False)
        activation = check_name("--activation", args.activation, ACTIVATIONS)
        check_seed(args.seed)
        rng = np.random.default_rng(args.seed)
        layers = [
            Dense(
                widths[i],
                widths[i + 1],
                activation=activation if i < len(widths) - 2 else "identity",
                rng=rng,
                dtype="float64",
            )
            for i in range(len(widths) - 1)
        ]
        model = Sequential(layers)
        n_in, n_out = widths[0], widths[-1]
        if sample is None:
            sample = [0.1, 0.5] if n_in == 2 else np.round(rng.uniform(0, 1, n_in), 2).tolist()
        target = None if args.target is None else float_list("--target", args.target)
        if target is None:
            target = [0.01, 0.99] if n_out == 2 else np.round(rng.uniform(0, 1, n_out), 2).tolist()
        X, y = [sample], [target]
    else:
        model, X0, Y0 = worked_example()
        X = [sample] if sample is not None else X0
        y = [float_list("--target", args.target)] if args.target is not None else Y0
    print(explain(model, X, y, loss=loss or "mse", lr=args.lr))
    return EXIT_OK


def _binary_label(text: str, model: Any) -> float | None:
    """A binary classifier's class name as its target value (0.0 for the first class, 1.0 for
    the second), or None when ``text`` names neither (then it is read as numbers)."""
    if model.task != "binary" or model.classes is None or model.n_out != 1:
        return None
    names = [str(value) for value in model.classes.tolist()]
    return float(names.index(text.strip())) if text.strip() in names else None


def _class_label(text: str, model: Any) -> Any:
    classes = model.classes
    if classes is None:
        try:
            return int(text)
        except ValueError:
            raise UsageError(f"expected --target to be a class index, got {text!r}.") from None
    for value in classes.tolist():
        if str(value) == text.strip():
            return value
    raise UsageError(f"--target {text!r} is not one of the model's classes {classes.tolist()}.")
