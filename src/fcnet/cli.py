"""The ``fcnet`` command: train, evaluate, predict, gradcheck, explain.

Exit codes: 0 success; 1 a gradient check failed; 2 a usage or data error (one line on stderr,
``fcnet: error: ...``); 3 training diverged (a NaN or inf loss or gradient); 130 interrupted
(Ctrl-C), after the checkpoint, if any, was written; 141 the output pipe was closed.

Results go to stdout, progress and errors to stderr. On a terminal, progress is a live bar and
the results a table (rich); otherwise one plain line per epoch, free of escape codes.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

EXIT_OK = 0
EXIT_GRADCHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_DIVERGED = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a tool killed by SIGPIPE

_CLASSIFICATION_METRICS = ["accuracy", "precision", "recall", "f1"]
_REGRESSION_METRICS = ["mae", "rmse", "r2"]
_RELU_LIKE = {"relu", "leaky_relu", "elu", "gelu"}


class UsageError(ValueError):
    """A bad flag value or combination; printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``fcnet: error: <message> (see 'fcnet train --help')``."""

    def error(self, message: str) -> Any:
        self.exit(EXIT_USAGE, f"fcnet: error: {message} (see '{self.prog} --help')\n")


# --- argument parsing ----------------------------------------------------------------------------
_MAIN_EPILOG = """\
examples:
  fcnet train                                     train on the bundled digits
  fcnet train data.csv --target label --hidden 128,64 --epochs 20 --plot curves.png
  fcnet evaluate model.safetensors test.csv --target label
  fcnet predict model.safetensors new.csv --out predictions.csv --proba
  fcnet gradcheck model.safetensors
  fcnet explain                                   backpropagation step by step, with numbers

exit codes: 0 ok, 1 gradient check failed, 2 usage or data error, 3 training diverged,
130 interrupted (Ctrl-C)
"""

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

_EVALUATE_EPILOG = """\
examples:
  fcnet evaluate model.safetensors test.csv --target label
  fcnet evaluate model.safetensors test.npz
"""

_PREDICT_EPILOG = """\
Writes one row per sample: the predicted label (the original class names) or, for a regressor,
the outputs; with --proba also one probability column per class, headed by the class name.

examples:
  fcnet predict model.safetensors new.csv --out predictions.csv
  fcnet predict model.safetensors new.csv --proba          # to stdout
  fcnet predict model.safetensors test.csv --target label  # ignore the label column
"""

_GRADCHECK_EPILOG = """\
Compares backprop's gradients with central differences (L(p + eps) - L(p - eps)) / (2 eps), in
float64 on a copy of the model, on random samples. Exit code 0 when they agree, 1 when not.

examples:
  fcnet gradcheck                        a 5-8-3 tanh network with cross-entropy
  fcnet gradcheck model.safetensors --samples 8 --seed 1
"""

_EXPLAIN_EPILOG = """\
Prints one forward pass, the loss, one backward pass and one SGD step with every number, and
beside each gradient its central-difference estimate.

examples:
  fcnet explain                          the worked example: one dense layer, 2 inputs, 2 outputs
  fcnet explain --layers 2,3,2           a seeded 2-3-2 network (sigmoid hidden layer)
  fcnet explain --layers 2,3,2 --sample 0.3,0.7 --target 1,0 --lr 0.5
  fcnet explain --model model.safetensors --sample "0.1,0.5,..." --target 3
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``fcnet`` command."""
    from fcnet import __version__

    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="fcnet",
        description="Fully connected neural networks with hand-written, numerically checked "
        "backpropagation.",
        epilog=_MAIN_EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"fcnet {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    train = commands.add_parser(
        "train",
        help="train a network on a data file (or the bundled digits)",
        description="Train a fully connected network and save it.",
        epilog=_TRAIN_EPILOG,
        formatter_class=formatter,
    )
    train.add_argument("data", nargs="?", metavar="DATA", help="data file (default: digits)")
    train.add_argument(
        "--target", metavar="COL", help="target column: name or index (default: the last column)"
    )
    train.add_argument(
        "--task",
        choices=["auto", "classification", "regression"],
        default="auto",
        help="default: inferred from the target",
    )
    train.add_argument(
        "--hidden", default="128", metavar="N,N", help="hidden widths, e.g. 128,64 (default 128)"
    )
    train.add_argument("--activation", default="relu", help="hidden activation (default relu)")
    train.add_argument(
        "--loss",
        default="auto",
        help="auto (cross_entropy for classification, mse for regression), mse, mae, huber, "
        "cross_entropy, binary_cross_entropy (two classes, one output)",
    )
    train.add_argument(
        "--optimizer", default="adam", help="sgd, adam, adamw, rmsprop (default adam)"
    )
    train.add_argument("--lr", type=float, default=1e-3, help="learning rate (default 1e-3)")
    train.add_argument("--epochs", type=int, default=20, help="default 20")
    train.add_argument("--batch-size", type=int, default=32, help="default 32")
    train.add_argument("--val", type=float, default=0.1, help="validation fraction (default 0.1)")
    train.add_argument("--test", type=float, default=0.2, help="test fraction (default 0.2)")
    train.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    train.add_argument(
        "--scale",
        choices=["standard", "minmax", "none"],
        default="standard",
        help="feature scaling, fitted on the training part (default standard)",
    )
    train.add_argument("--dropout", type=float, default=0.0, help="dropout after each hidden layer")
    train.add_argument(
        "--out", default="model.safetensors", metavar="PATH", help="default model.safetensors"
    )
    train.add_argument("--plot", metavar="PNG", help="learning curves (and a confusion matrix)")
    train.add_argument("--checkpoint", metavar="PATH", help="write a checkpoint every epoch")
    train.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    train.add_argument("--quiet", "-q", action="store_true", help="print only the final lines")
    train.set_defaults(func=_train)

    evaluate = commands.add_parser(
        "evaluate",
        help="loss and metrics of a saved model on a data file",
        description="Print the loss and metrics of a saved model on a labelled data file.",
        epilog=_EVALUATE_EPILOG,
        formatter_class=formatter,
    )
    evaluate.add_argument("model", metavar="MODEL")
    evaluate.add_argument("data", metavar="DATA")
    evaluate.add_argument("--target", metavar="COL", help="target column (default: the last)")
    evaluate.set_defaults(func=_evaluate)

    predict = commands.add_parser(
        "predict",
        help="predictions of a saved model, as CSV",
        description="Write the predictions of a saved model as CSV.",
        epilog=_PREDICT_EPILOG,
        formatter_class=formatter,
    )
    predict.add_argument("model", metavar="MODEL")
    predict.add_argument("data", metavar="DATA")
    predict.add_argument("--out", metavar="CSV", help="default: stdout")
    predict.add_argument("--proba", action="store_true", help="add class probabilities")
    predict.add_argument("--target", metavar="COL", help="a column to leave out of the features")
    predict.set_defaults(func=_predict)

    gradcheck = commands.add_parser(
        "gradcheck",
        help="check backprop against central differences",
        description="Check a model's gradients against central differences, in float64.",
        epilog=_GRADCHECK_EPILOG,
        formatter_class=formatter,
    )
    gradcheck.add_argument("model", nargs="?", metavar="MODEL")
    gradcheck.add_argument("--samples", type=int, default=4, help="default 4")
    gradcheck.add_argument("--seed", type=int, default=0, help="default 0")
    gradcheck.add_argument("--loss", help="default: the model's (cross_entropy, mse, ...)")
    gradcheck.add_argument("--eps", type=float, default=1e-6, help="default 1e-6")
    gradcheck.set_defaults(func=_gradcheck)

    explain = commands.add_parser(
        "explain",
        help="one step of backpropagation, with every number",
        description="Trace one forward pass, backward pass and SGD step, layer by layer.",
        epilog=_EXPLAIN_EPILOG,
        formatter_class=formatter,
    )
    explain.add_argument("--layers", metavar="N,N,N", help="widths of a seeded network, e.g. 2,3,2")
    explain.add_argument("--activation", default="sigmoid", help="hidden activation for --layers")
    explain.add_argument("--model", metavar="PATH", help="a saved model")
    explain.add_argument("--sample", metavar="X1,X2,...", help="one input sample")
    explain.add_argument("--target", metavar="Y", help="its target: values, or a class label")
    explain.add_argument("--loss", help="default: mse (cross_entropy for a classifier)")
    explain.add_argument("--lr", type=float, default=0.1, help="SGD learning rate (default 0.1)")
    explain.add_argument("--seed", type=int, default=0, help="for --layers (default 0)")
    explain.set_defaults(func=_explain)
    return parser


# --- entry point ---------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fcnet`` command with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(None if argv is None else list(argv))
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    from fcnet.training import TrainingDiverged

    try:
        return int(args.func(args))
    except TrainingDiverged as exc:
        _fail(exc)
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
        _fail(exc)
        return EXIT_USAGE
    except MemoryError as exc:  # a network or data set too large for this machine
        print(f"fcnet: error: out of memory: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_USAGE


def _fail(exc: BaseException) -> None:
    message = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        message = f"'{exc.filename}': {exc.strerror.lower()}."
    elif isinstance(exc, KeyError):
        message = f"missing {message}."
    message = " ".join(message.split())  # always one line
    print(f"fcnet: error: {message}", file=sys.stderr)


# --- flag checks ---------------------------------------------------------------------------------
def _check_writable(flag: str, path: str) -> None:
    """Refuse, before any work, an output path that cannot become a file: a folder, or one under
    a file. (Permissions and disk space are found out when the file is written.)"""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{flag} '{path}' is a folder; expected a file path.")
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(
                    f"{flag} '{path}': '{parent}' is a file, so it cannot hold '{target.name}'."
                )
            break


def _int_list(flag: str, text: str, *, allow_empty: bool, minimum: int = 2) -> list[int]:
    text = text.strip()
    if allow_empty and text.lower() in ("", "none"):
        return []
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if not values or any(v < 1 for v in values) or (not allow_empty and len(values) < minimum):
        example = "128,64" if allow_empty else "2,3,2"
        raise UsageError(
            f"expected {flag} as comma-separated positive integers (e.g. {example}), got {text!r}."
        )
    return values


def _float_list(flag: str, text: str) -> list[float]:
    try:
        values = [float(p) for p in text.replace(";", ",").split(",") if p.strip()]
    except ValueError:
        values = []
    if not values or not all(np.isfinite(values)):
        raise UsageError(
            f"expected {flag} as comma-separated numbers (e.g. 0.1,0.5), got {text!r}."
        )
    return values


def _check_positive(flag: str, value: float) -> None:
    if not value > 0 or not np.isfinite(value):
        raise UsageError(f"expected {flag} > 0, got {value!r}.")


def _check_fraction(flag: str, value: float, *, high: float = 1.0) -> None:
    if not 0.0 <= value < high:
        raise UsageError(f"expected {flag} in [0, {high:g}), got {value!r}.")


def _check_seed(seed: int) -> None:
    if seed < 0:
        raise UsageError(f"expected --seed >= 0, got {seed}.")


def _check_name(flag: str, value: str, names: dict[str, Any]) -> str:
    key = value.lower().replace("-", "_")
    if key not in names:
        valid = ", ".join(sorted(names))
        raise UsageError(f"unknown {flag} {value!r}; expected one of {valid}.")
    return key


def _loss_name(value: str) -> str:
    """The loss named by a --loss flag, under its canonical name (an alias such as bce is
    resolved by the loss registry)."""
    from fcnet.losses import LOSSES

    return LOSSES[_check_name("--loss", value, LOSSES)].name


def _loss_task(loss: str) -> str:
    """The task of a loss name: "classification", "binary" or "regression"."""
    from fcnet.losses import get_loss

    return getattr(get_loss(loss), "task", "regression")


def _for_labels(loss: str) -> bool:
    """Whether a loss trains on class labels (softmax or binary cross-entropy)."""
    return _loss_task(loss) != "regression"


def _loss_for_task(task: str | None) -> str:
    return {"classification": "cross_entropy", "binary": "binary_cross_entropy"}.get(
        task or "", "mse"
    )


# --- train ---------------------------------------------------------------------------------------
def _train(args: argparse.Namespace) -> int:
    from fcnet.activations import ACTIVATIONS
    from fcnet.data import encode_with_classes, split_rows
    from fcnet.optimizers import OPTIMIZERS

    hidden = _int_list("--hidden", args.hidden, allow_empty=True)
    activation = _check_name("--activation", args.activation, ACTIVATIONS)
    optimizer = _check_name("--optimizer", args.optimizer, OPTIMIZERS)
    loss = None if args.loss == "auto" else _loss_name(args.loss)
    _check_positive("--lr", args.lr)
    _check_positive("--epochs", args.epochs)
    _check_positive("--batch-size", args.batch_size)
    _check_fraction("--val", args.val)
    _check_fraction("--test", args.test)
    _check_fraction("--dropout", args.dropout)
    if args.val + args.test >= 1.0:
        raise UsageError(
            f"--val {args.val:g} and --test {args.test:g} leave no training data; "
            "their sum must be below 1."
        )
    _check_seed(args.seed)
    if args.resume and not args.checkpoint:
        raise UsageError("--resume needs --checkpoint PATH.")
    _check_writable("--out", args.out)
    if args.checkpoint:
        _check_writable("--checkpoint", args.checkpoint)
    if args.plot:
        from fcnet.plots import require_matplotlib

        require_matplotlib()

    show = _Output(quiet=args.quiet)
    dataset = _load_dataset(args.data, args.target)
    X, y = np.asarray(dataset.X), np.asarray(dataset.y)
    task = _resolve_task(args.task, y, loss)
    if loss is None:
        loss = "cross_entropy" if task == "classification" else "mse"
    if (task == "classification") != _for_labels(loss):
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

    scaler = None
    if args.scale != "none":
        from fcnet.preprocessing import make_scaler

        scaler = make_scaler(args.scale)
        scaler.fit(X[train_rows])

    model = _build_model(X.shape[1], hidden, n_out, activation, args.dropout, rng)
    model.preprocessing = scaler
    metrics = ["accuracy"] if task == "classification" else ["mae"]
    name = "the bundled digits" if args.data is None else f"'{args.data}'"
    show.line(
        f"{name}: {len(X)} samples, {X.shape[1]} features, {task}"
        + (f" ({len(classes)} classes)" if classes is not None else "")
        + f"; {len(train_rows)} training, {len(val_rows)} validation, {len(test_rows)} test"
    )
    show.line(
        f"network {'-'.join(map(str, [X.shape[1], *hidden, n_out]))} ({activation}), "
        f"{model.n_params():,} parameters; loss {loss}, {optimizer} lr={args.lr:g}, "
        f"{args.epochs} epochs, batch {args.batch_size}, scale {args.scale}, seed {args.seed}"
    )

    progress = _Progress(args.epochs, quiet=args.quiet)
    validation = (X[val_rows], targets[val_rows]) if len(val_rows) else None
    # A diverging run ends in TrainingDiverged (exit 3); numpy's overflow warnings on the way
    # there would only clutter the output.
    quiet_numpy = np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore")
    try:
        with quiet_numpy, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            history = model.fit(
                X[train_rows],
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
    report_metrics = _CLASSIFICATION_METRICS if task == "classification" else _REGRESSION_METRICS
    results = {
        part: model.evaluate(X[rows], _as_labels(y, targets, rows, classes), metrics=report_metrics)
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
            predicted = model.predict(X[final_rows])
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


def _build_model(
    n_in: int, hidden: list[int], n_out: int, activation: str, dropout: float, rng: Any
) -> Any:
    from fcnet.layers import Dense, Dropout
    from fcnet.network import Sequential

    init = "he_uniform" if activation in _RELU_LIKE else "glorot_uniform"
    layers: list[Any] = []
    width = n_in
    for size in hidden:
        layers.append(Dense(width, size, activation=activation, init=init, rng=rng))
        if dropout > 0:
            layers.append(Dropout(dropout))
        width = size
    layers.append(Dense(width, n_out, rng=rng))
    return Sequential(layers)


def _resolve_task(requested: str, y: np.ndarray, loss: str | None) -> str:
    if requested != "auto":
        return requested
    if loss is not None:
        return "classification" if _for_labels(loss) else "regression"
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


# --- evaluate / predict ------------------------------------------------------------------------
def _load_model(path: str) -> Any:
    from fcnet.io import load

    return load(path)


def _load_dataset(path: str | None, target: str | None) -> Any:
    """A labelled data set: the file's, or the bundled digits when ``path`` is None."""
    from fcnet import data

    if path is None:
        if target is not None:
            raise UsageError("--target needs a DATA file; the bundled digits have no columns.")
        return data.load_digits()
    dataset = data.load(path, target=target)
    if dataset.y is None:
        raise UsageError(f"'{path}' holds no targets (labels); expected features and a target.")
    return dataset


def _evaluate(args: argparse.Namespace) -> int:
    model = _load_model(args.model)
    dataset = _load_dataset(args.data, args.target)
    classifier = model.task in ("classification", "binary")
    metrics = _CLASSIFICATION_METRICS if classifier else _REGRESSION_METRICS
    results = model.evaluate(np.asarray(dataset.X), np.asarray(dataset.y), metrics=metrics)
    print(f"{args.data}: {len(dataset.X)} samples")
    for key, value in results.items():
        print(f"{key}: {value:.4f}")
    return EXIT_OK


def _predict(args: argparse.Namespace) -> int:
    if args.out:
        _check_writable("--out", args.out)
    model = _load_model(args.model)
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


# --- gradcheck -----------------------------------------------------------------------------------
def _gradcheck(args: argparse.Namespace) -> int:
    from fcnet.gradcheck import check_gradients

    _check_positive("--samples", args.samples)
    _check_positive("--eps", args.eps)
    _check_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    if args.model:
        model = _load_model(args.model)
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
    loss = _loss_name(args.loss) if args.loss else _loss_for_task(model.task)
    X = rng.normal(size=(args.samples, n_in))
    if _loss_task(loss) == "classification":
        y: np.ndarray = rng.integers(0, n_out, size=args.samples)
    elif _loss_task(loss) == "binary":
        y = rng.integers(0, 2, size=(args.samples, n_out)).astype(np.float64)
    else:
        y = rng.normal(size=(args.samples, n_out))
    report = check_gradients(model, loss, X, y, eps=args.eps, rng=rng)
    print(f"gradient check of {what}: loss {loss}, {args.samples} random samples, seed {args.seed}")
    print(report)
    return EXIT_OK if report.ok else EXIT_GRADCHECK_FAILED


# --- explain -------------------------------------------------------------------------------------
def _explain(args: argparse.Namespace) -> int:
    from fcnet.explain import explain, worked_example

    if not (args.lr >= 0 and np.isfinite(args.lr)):
        raise UsageError(f"expected --lr >= 0, got {args.lr!r}.")
    if args.layers and args.model:
        raise UsageError("give --layers or --model, not both.")
    sample = None if args.sample is None else _float_list("--sample", args.sample)
    loss = args.loss
    if args.model:
        model = _load_model(args.model)
        if sample is None or args.target is None:
            raise UsageError("--model needs --sample X1,X2,... and --target (value(s) or class).")
        if model.task in ("classification", "binary") and loss is None:
            loss = _loss_for_task(model.task)
        if loss is not None and _loss_task(loss) == "classification":
            y: Any = [_class_label(args.target, model)]
        elif (value := _binary_label(args.target, model)) is not None:
            y = [[value]]
        else:
            y = [_float_list("--target", args.target)]
        X = [sample]
    elif args.layers:
        from fcnet.activations import ACTIVATIONS
        from fcnet.layers import Dense
        from fcnet.network import Sequential

        widths = _int_list("--layers", args.layers, allow_empty=False)
        activation = _check_name("--activation", args.activation, ACTIVATIONS)
        _check_seed(args.seed)
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
        target = None if args.target is None else _float_list("--target", args.target)
        if target is None:
            target = [0.01, 0.99] if n_out == 2 else np.round(rng.uniform(0, 1, n_out), 2).tolist()
        X, y = [sample], [target]
    else:
        model, X0, Y0 = worked_example()
        X = [sample] if sample is not None else X0
        y = [_float_list("--target", args.target)] if args.target is not None else Y0
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


# --- output --------------------------------------------------------------------------------------
def _format_logs(logs: dict[str, float], short: bool = False) -> str:
    parts = []
    for key, value in logs.items():
        if key == "lr":
            continue
        if short:
            key = key.replace("accuracy", "acc")
        parts.append(f"{key} {value:.4f}")
    return "  ".join(parts)


class _Progress:
    """A ``fit`` callback showing progress: a rich bar on a terminal, else one line per epoch.

    Writes to stderr, so that stdout carries only results.
    """

    def __init__(self, epochs: int, *, quiet: bool = False, stream: Any = None) -> None:
        self.epochs = epochs
        self.quiet = quiet
        self.stream = sys.stderr if stream is None else stream
        self.live = not quiet and _is_terminal(self.stream)
        self._bar: Any = None
        self._task: Any = None
        self._last = time.perf_counter()

    def on_train_begin(self, model: Any) -> None:
        """Start the bar (terminal only)."""
        self._last = time.perf_counter()
        if not self.live:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._bar = Progress(
            TextColumn("epoch"),
            MofNCompleteColumn(),
            BarColumn(bar_width=16),
            TimeElapsedColumn(),
            TextColumn("{task.fields[logs]}"),
            console=Console(file=self.stream),
        )
        self._bar.start()
        self._task = self._bar.add_task("train", total=self.epochs, logs="")

    def on_epoch_end(self, epoch: int, logs: dict[str, float], model: Any) -> bool:
        """Advance the bar, or print one plain line."""
        if self.quiet:
            return False
        if self._bar is not None:
            self._bar.update(self._task, completed=epoch + 1, logs=_format_logs(logs, short=True))
        else:
            now = time.perf_counter()
            seconds, self._last = now - self._last, now
            print(
                f"epoch {epoch + 1}/{self.epochs}  {_format_logs(logs)}  ({seconds:.2f}s)",
                file=self.stream,
                flush=True,
            )
        return False

    def on_train_end(self, model: Any) -> None:
        """Stop the bar."""
        self.close()

    def close(self) -> None:
        """Stop the bar, if running (also after an exception)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class _Output:
    """Results on stdout: rich tables on a terminal, plain text otherwise; --quiet keeps finals."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.rich = _is_terminal(sys.stdout)

    def line(self, text: str) -> None:
        if not self.quiet:
            print(text, flush=True)

    def final(self, text: str) -> None:
        print(text, flush=True)

    def table(self, results: dict[str, dict[str, float]], counts: dict[str, int]) -> None:
        if self.quiet or not results:
            return
        keys = list(next(iter(results.values())))
        header = ["", "samples", *keys]
        rows = [
            [part, str(counts[part]), *(f"{values[k]:.4f}" for k in keys)]
            for part, values in results.items()
        ]
        if self.rich:
            from rich.console import Console
            from rich.table import Table

            table = Table(*header, title="results")
            for column in table.columns[1:]:
                column.justify = "right"
            for row in rows:
                table.add_row(*row)
            Console(file=sys.stdout).print(table)
            return
        widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
        lines = [
            "  ".join(
                cell.ljust(w) if c == 0 else cell.rjust(w)
                for c, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
            for row in [header, *rows]
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        print("\n".join(lines), flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
