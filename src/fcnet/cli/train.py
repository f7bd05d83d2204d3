"""``fcnet train``: train a network on a data file (or the bundled digits) and save it."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from fcnet.cli.common import (
    CLASSIFICATION_METRICS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    REGRESSION_METRICS,
    UsageError,
    check_fraction,
    check_name,
    check_positive,
    check_seed,
    check_writable,
    for_labels,
    int_list,
    load_dataset,
    loss_name,
)
from fcnet.cli.output import Output, Progress
from fcnet.cli.tabular import as_table, build_model, fit_encoder, network_words, take

_TRAIN_EPILOG = """\
DATA is a .csv, .parquet, .npz or .idx/.idx.gz file; without it the bundled digits are used
(1,797 8x8 images, 10 classes). String labels become the model's classes. The data are split
(stratified for classification, seeded) into training, validation (--val) and test (--test)
parts; the scaler is fitted on the training part and saved with the model.

examples:
  fcnet train --hidden 128 --epochs 30 --out out/model.safetensors --plot out/curves.png
  fcnet train iris.csv --target species --hidden 16 --epochs 100 --lr 1e-2
  fcnet train houses.parquet --target price --task regression --loss huber --scale minmax
  fcnet train big.csv --target y --checkpoint run.ckpt            # Ctrl-C, then:
  fcnet train big.csv --target y --checkpoint run.ckpt --resume

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
    parser.add_argument("--quiet", "-q", action="store_true", help="print only the final lines")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``fcnet train`` with the parsed ``args``; return the exit code."""
    from fcnet.activations import ACTIVATIONS
    from fcnet.data import encode_with_classes, split_rows
    from fcnet.optimizers import OPTIMIZERS

    hidden = int_list("--hidden", args.hidden, allow_empty=True)
    activation = check_name("--activation", args.activation, ACTIVATIONS)
    optimizer = check_name("--optimizer", args.optimizer, OPTIMIZERS)
    loss = None if args.loss == "auto" else loss_name(args.loss)
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

    show = Output(quiet=args.quiet)
    dataset = load_dataset(args.data, args.target)
    tabular = dataset.is_table or args.categorical is not None or args.drop is not None
    if tabular and args.data is None:
        raise UsageError("--categorical and --drop need a DATA file with named columns.")
    X = as_table(dataset) if tabular else np.asarray(dataset.X)
    y = np.asarray(dataset.y)
    task = _resolve_task(args.task, y, loss)
    if loss is None:
        loss = "cross_entropy" if task == "classification" else "mse"
    if (task == "classification") != for_labels(loss):
        raise UsageError(f"--loss {loss} does not fit the task ({task}); change --loss or --task.")

    classes = codes = None
    if task == "classification":
        codes, classes = _encode(y)
        if len(classes) < 2:
            raise UsageError(f"the target holds one class only ({classes[0]!r}); need two or more.")
        targets = codes
        n_out = len(classes)
        if loss == "binary_cross_entropy":
            if len(classes) != 2:
                raise UsageError(
                    f"--loss binary_cross_entropy needs 2 classes, the target has {len(classes)}."
                )
            targets, n_out = codes.astype(np.float64), 1
    else:
        targets = _numeric_targets(y)
        n_out = 1 if targets.ndim == 1 else targets.shape[1]

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
    metrics = ["accuracy"] if task == "classification" else ["mae"]
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

    progress = Progress(args.epochs, quiet=args.quiet)
    validation = (take(X, val_rows), targets[val_rows]) if len(val_rows) else None
    # A diverging run ends in TrainingDiverged (exit 3); numpy's overflow warnings on the way
    # there would only clutter the output.
    quiet_numpy = np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore")
    try:
        with quiet_numpy, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            history = model.fit(
                take(X, train_rows),
                targets[train_rows],
                loss=loss,
                optimizer=optimizer,
                lr=args.lr,
                epochs=args.epochs,
                batch_size=args.batch_size,
                validation_data=validation,
                metrics=metrics,
                callbacks=[progress],
                checkpoint=args.checkpoint,
                resume=args.resume,
                rng=int(rng.integers(2**31)),
            )
    finally:
        progress.close()
    for warning in caught:
        print(f"fcnet: warning: {str(warning.message).removeprefix('fit: ')}", file=sys.stderr)
    if history.interrupted:
        where = (
            f"; checkpoint written to '{args.checkpoint}' (continue with --resume)"
            if args.checkpoint
            else "; no checkpoint (use --checkpoint PATH to be able to resume)"
        )
        print(
            f"fcnet: training interrupted after {len(history.epoch)} epoch(s){where}.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED

    if classes is not None:
        model.classes = classes
    parts = [("training", train_rows), ("validation", val_rows), ("test", test_rows)]
    report_metrics = CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS
    results = {
        part: model.evaluate(
            take(X, rows), _as_labels(y, targets, rows, classes), metrics=report_metrics
        )
        for part, rows in parts
        if len(rows)
    }
    rows_per_part = {part: len(rows) for part, rows in parts if len(rows)}
    show.table(results, rows_per_part)

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

    final_part = (
        "test" if "test" in results else "validation" if "validation" in results else "training"
    )
    final = results[final_part]
    if task == "classification":
        show.final(f"{final_part} accuracy: {final['accuracy']:.4f}")
    else:
        show.final(f"{final_part} rmse: {final['rmse']:.4g}  r2: {final['r2']:.4f}")
    return EXIT_OK


def _resolve_task(requested: str, y: np.ndarray, loss: str | None) -> str:
    if requested != "auto":
        return requested
    if loss is not None:
        return "classification" if for_labels(loss) else "regression"
    from fcnet.data import infer_task

    task = infer_task(y)
    return "regression" if task == "regression" else "classification"


def _encode(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from fcnet.data import encode_labels

    if y.ndim != 1:
        raise UsageError(
            f"classification needs one label per sample, got targets of shape {y.shape}."
        )
    codes, classes = encode_labels(y)
    return np.asarray(codes, dtype=np.int64), np.asarray(classes)


def _as_labels(y: np.ndarray, targets: np.ndarray, rows: np.ndarray, classes: Any) -> np.ndarray:
    # With classes set, evaluate expects the original labels; a regressor gets the values.
    return y[rows] if classes is not None else targets[rows]


def _numeric_targets(y: np.ndarray) -> np.ndarray:
    if y.dtype.kind not in "biuf":
        try:
            return y.astype(np.float64)
        except (TypeError, ValueError):
            raise UsageError(
                "regression needs numeric targets; this target holds text "
                "(use --task classification)."
            ) from None
    return y.astype(np.float64, copy=False)
