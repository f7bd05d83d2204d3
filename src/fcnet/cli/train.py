"""``fcnet train``: train a network on a data file (or the bundled digits) and save it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from fcnet.cli import stream
from fcnet.cli.common import (
    CLASSIFICATION_METRICS,
    EXIT_OK,
    REGRESSION_METRICS,
    UsageError,
    check_fraction,
    check_name,
    check_positive,
    check_seed,
    check_writable,
    int_list,
    load_dataset,
    loss_name,
)
from fcnet.cli.tabular import as_table, build_model, fit_encoder, network_words, take
from fcnet.cli.train_common import (
    as_labels,
    final_line,
    fit_quietly,
    interrupted,
    output_for,
    targets_for,
)

_TRAIN_EPILOG = """\
DATA is a .csv, .parquet, .npz, .npy or .idx/.idx.gz file; without it the bundled digits are
used (1,797 8x8 images, 10 classes). String labels become the model's classes. The data are
split (stratified for classification, seeded) into training, validation (--val) and test
(--test) parts; the scaler is fitted on the training part and saved with the model.

A .npy array is memory-mapped, and a Parquet file too large for memory streamed by row groups
(--stream): the parts are then whole groups of rows. Started by an MPI launcher, every process
trains its share of each batch and process 0 prints and writes the files.

examples:
  fcnet train --hidden 128 --epochs 30 --out out/model.safetensors --plot out/curves.png
  fcnet train iris.csv --target species --hidden 16 --epochs 100 --lr 1e-2
  fcnet train houses.parquet --target price --task regression --loss huber --scale minmax
  fcnet train big.csv --target y --checkpoint run.ckpt            # Ctrl-C, then:
  fcnet train big.csv --target y --checkpoint run.ckpt --resume
  mpiexec -n 4 fcnet train big.parquet --target y      # data-parallel over 4 processes
  fcnet train X.npy --target y.npy                     # a memory-mapped array and its labels

exit codes: 0 ok, 2 usage or data error, 3 training diverged, 130 interrupted
"""


def add_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Add ``fcnet train`` to the subcommands ``commands`` (argparse's subparsers)."""
    parser = commands.add_parser(
        "train",
        help="train a network on a data file (or the bundled digits)",
        description="Train a fully connected network and save it.",
        epilog=_TRAIN_EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument("data", nargs="?", metavar="DATA", help="data file (default: digits)")
    parser.add_argument(
        "--target", metavar="COL", help="target column: name or index (default: the last column)"
    )
    parser.add_argument(
        "--task",
        choices=["auto", "classification", "regression"],
        default="auto",
        help="default: inferred from the target",
    )
    parser.add_argument(
        "--hidden", default="128", metavar="N,N", help="hidden widths, e.g. 128,64 (default 128)"
    )
    parser.add_argument("--activation", default="relu", help="hidden activation (default relu)")
    parser.add_argument(
        "--loss",
        default="auto",
        help="auto (cross_entropy for classification, mse for regression), mse, mae, huber, "
        "cross_entropy, binary_cross_entropy (two classes, one output)",
    )
    parser.add_argument(
        "--optimizer", default="adam", help="sgd, adam, adamw, rmsprop (default adam)"
    )
    parser.add_argument("--lr", type=float, default=1e-3, help="learning rate (default 1e-3)")
    parser.add_argument("--epochs", type=int, default=20, help="default 20")
    parser.add_argument("--batch-size", type=int, default=32, help="default 32")
    parser.add_argument("--val", type=float, default=0.1, help="validation fraction (default 0.1)")
    parser.add_argument("--test", type=float, default=0.2, help="test fraction (default 0.2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    parser.add_argument(
        "--scale",
        choices=["standard", "minmax", "none"],
        default="standard",
        help="feature scaling, fitted on the training part (default standard)",
    )
    parser.add_argument(
        "--categorical",
        metavar="COL,...",
        help="columns to encode as categories (default: inferred: text columns)",
    )
    parser.add_argument("--drop", metavar="COL,...", help="columns to leave out")
    parser.add_argument(
        "--dropout", type=float, default=0.0, help="dropout after each hidden layer"
    )
    parser.add_argument(
        "--out", default="model.safetensors", metavar="PATH", help="default model.safetensors"
    )
    parser.add_argument("--plot", metavar="PNG", help="learning curves (and a confusion matrix)")
    parser.add_argument("--checkpoint", metavar="PATH", help="write a checkpoint every epoch")
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    parser.add_argument(
        "--stream",
        choices=["auto", "on", "off"],
        default="auto",
        help="read the data by row groups instead of whole (default auto: a .npy, or a "
        "Parquet file too large for memory)",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="print only the final lines")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``fcnet train`` with the parsed ``args``; return the exit code.

    Under an MPI launcher (``mpiexec -n 4 fcnet train ...``) every process runs this and they
    train one model data-parallel (``fit(distributed=...)``): process 0 prints and writes the
    model and the checkpoint. Data too large for memory is streamed (:mod:`fcnet.cli.stream`).
    """
    from fcnet.distributed import SingleProcess, abort_unless_agreed, agreed, auto

    comm = auto()  # the MPI world when a launcher started several processes, else None
    world = comm or SingleProcess()
    with abort_unless_agreed(world, "fcnet train"):
        with agreed(world):  # flags and data: a failure on one process fails all
            _check_flags(args)
            streamed = stream.wanted(args, world)
        if streamed:
            return stream.run(args, comm, world)
        with agreed(world):
            plan = _prepare(args, world.rank)
        history = _fit(args, plan, comm, world.rank)
        if history.interrupted:
            return interrupted(args, history, world.rank)
        return _report(args, plan, history, world.rank)
    raise AssertionError("unreachable")  # abort_unless_agreed re-raises what it caught


def _check_flags(args: argparse.Namespace) -> None:
    check_positive("--lr", args.lr)
    check_positive("--epochs", args.epochs)
    check_positive("--batch-size", args.batch_size)
    check_fraction("--val", args.val)
    check_fraction("--test", args.test)
    check_fraction("--dropout", args.dropout)
    if args.val + args.test >= 1.0:
        raise UsageError(
            f"--val {args.val:g} and --test {args.test:g} leave no training data; "
            "their sum must be below 1."
        )
    check_seed(args.seed)
    if args.resume and not args.checkpoint:
        raise UsageError("--resume needs --checkpoint PATH.")
    check_writable("--out", args.out)
    if args.checkpoint:
        check_writable("--checkpoint", args.checkpoint)
    if args.plot:
        from fcnet.plots import require_matplotlib

        require_matplotlib()


def _prepare(args: argparse.Namespace, rank: int) -> dict[str, Any]:
    """Everything before training: the flags' values, the data and its split, the model."""
    from fcnet.activations import ACTIVATIONS
    from fcnet.data import split_rows
    from fcnet.optimizers import OPTIMIZERS

    hidden = int_list("--hidden", args.hidden, allow_empty=True)
    activation = check_name("--activation", args.activation, ACTIVATIONS)
    optimizer = check_name("--optimizer", args.optimizer, OPTIMIZERS)
    loss = None if args.loss == "auto" else loss_name(args.loss)
    show = output_for(args, rank)
    dataset = load_dataset(args.data, args.target)
    tabular = dataset.is_table or args.categorical is not None or args.drop is not None
    if tabular and args.data is None:
        raise UsageError("--categorical and --drop need a DATA file with named columns.")
    X = as_table(dataset) if tabular else np.asarray(dataset.X)
    y = np.asarray(dataset.y)
    task, loss, targets, n_out, classes, codes = targets_for(args, y, loss)

    rng = np.random.default_rng(args.seed)
    rest, test_rows = split_rows(len(X), args.test, rng, labels=codes)
    train_rows, val_rows = split_rows(
        len(X), args.val / (1.0 - args.test), rng, labels=codes, rows=rest
    )
    if len(train_rows) == 0:
        raise UsageError(f"{len(X)} rows leave no training data with --val and --test.")

    preprocessing: Any = None
    if tabular:
        preprocessing = fit_encoder(args, X, train_rows)
    elif args.scale != "none":
        from fcnet.preprocessing import make_scaler

        preprocessing = make_scaler(args.scale)
        preprocessing.fit(X[train_rows])
    n_in = preprocessing.n_features_out if tabular else X.shape[1]
    model = build_model(
        n_in, hidden, n_out, activation, args.dropout, rng, preprocessing if tabular else None
    )
    model.preprocessing = preprocessing
    name = "the bundled digits" if args.data is None else f"'{args.data}'"
    show.line(
        f"{name}: {len(X)} samples, {X.shape[1]} features, {task}"
        + (f" ({len(classes)} classes)" if classes is not None else "")
        + f"; {len(train_rows)} training, {len(val_rows)} validation, {len(test_rows)} test"
    )
    if tabular:
        show.line(f"columns: {preprocessing.describe()}; {n_in} inputs")
    show.line(
        f"network {network_words(model, hidden, n_out)} ({activation}), "
        f"{model.n_params():,} parameters; loss {loss}, {optimizer} lr={args.lr:g}, "
        f"{args.epochs} epochs, batch {args.batch_size}, scale {args.scale}, seed {args.seed}"
    )
    return dict(
        show=show, X=X, y=y, task=task, loss=loss, targets=targets, classes=classes,
        codes=codes, rng=rng, model=model, optimizer=optimizer, name=name,
        parts=[("training", train_rows), ("validation", val_rows), ("test", test_rows)],
    )  # fmt: skip


def _fit(args: argparse.Namespace, plan: dict[str, Any], comm: Any, rank: int) -> Any:
    X, targets, parts = plan["X"], plan["targets"], dict(plan["parts"])
    val_rows = parts["validation"]
    validation = (take(X, val_rows), targets[val_rows]) if len(val_rows) else None
    return fit_quietly(
        args,
        plan["model"],
        rank,
        take(X, parts["training"]),
        targets[parts["training"]],
        loss=plan["loss"],
        optimizer=plan["optimizer"],
        validation_data=validation,
        metrics=["accuracy"] if plan["task"] == "classification" else ["mae"],
        rng=int(plan["rng"].integers(2**31)),
        distributed=comm,
    )


def _report(args: argparse.Namespace, plan: dict[str, Any], history: Any, rank: int) -> int:
    from fcnet.data import encode_with_classes

    model, X, y, targets = plan["model"], plan["X"], plan["y"], plan["targets"]
    classes, codes, parts, show = plan["classes"], plan["codes"], plan["parts"], plan["show"]
    task, name = plan["task"], plan["name"]
    if classes is not None:
        model.classes = classes
    report_metrics = CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS
    results = {
        part: model.evaluate(
            take(X, rows), as_labels(y, targets, rows, classes), metrics=report_metrics
        )
        for part, rows in parts
        if len(rows)
    }
    rows_per_part = {part: len(rows) for part, rows in parts if len(rows)}
    show.table(results, rows_per_part)
    if rank != 0:  # process 0 writes the files
        return EXIT_OK

    from fcnet.io import save

    out = save(model, args.out)
    written = [f"model written to {out}"]
    if args.plot:
        from fcnet.plots import plot_confusion_matrix, plot_history

        curves = plot_history(history, args.plot, title=f"Learning curves ({name})")
        written.append(f"learning curves written to {curves}")
        if classes is not None and codes is not None:
            from fcnet.metrics import confusion_matrix

            final_part, final_rows = next((p, r) for p, r in reversed(parts) if len(r))
            predicted = model.predict(take(X, final_rows))
            cm = confusion_matrix(
                codes[final_rows],
                encode_with_classes(predicted, classes, "train"),
                labels=np.arange(len(classes)),
            )
            path = Path(args.plot)
            cm_path = path.with_name(f"{path.stem}_confusion{path.suffix or '.png'}")
            plot_confusion_matrix(
                cm, classes.tolist(), cm_path, title=f"Confusion matrix ({final_part} data)"
            )
            written.append(f"confusion matrix written to {cm_path}")
    for line in written:
        show.line(line)
    final_line(show, task, results)
    return EXIT_OK
