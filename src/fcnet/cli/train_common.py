"""What ``fcnet train`` does the same way in memory and streamed: the targets and the task,
the fit with its progress line, and what is printed after."""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Any

import numpy as np

from fcnet.cli.common import EXIT_INTERRUPTED, UsageError, for_labels
from fcnet.cli.output import Output, Progress


def targets_for(args: argparse.Namespace, y: np.ndarray, loss: str | None) -> tuple:
    """(task, loss, targets, n_out, classes, codes) of the labels or values ``y``."""
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
    return task, loss, targets, n_out, classes, codes


def fit_quietly(args: argparse.Namespace, model: Any, rank: int, *data: Any, **options: Any) -> Any:
    """``model.fit`` with the flags' options and a progress line per epoch (process 0); the
    warnings it gives are printed after, once."""
    progress = Progress(args.epochs, quiet=args.quiet or rank != 0)
    # A diverging run ends in TrainingDiverged (exit 3); numpy's overflow warnings on the way
    # there would only clutter the output.
    quiet_numpy = np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore")
    try:
        with quiet_numpy, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            history = model.fit(
                *data,
                lr=args.lr,
                epochs=args.epochs,
                batch_size=args.batch_size,
                callbacks=[progress],
                checkpoint=args.checkpoint,
                resume=args.resume,
                **options,
            )
    finally:
        progress.close()
    for warning in caught if rank == 0 else ():
        print(f"fcnet: warning: {str(warning.message).removeprefix('fit: ')}", file=sys.stderr)
    return history


def interrupted(args: argparse.Namespace, history: Any, rank: int) -> int:
    """Say where an interrupted run stands (process 0); the exit code."""
    if rank == 0:
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


def output_for(args: argparse.Namespace, rank: int) -> Output:
    """What prints results: process 0's Output; nothing on the others."""
    return Output(quiet=args.quiet) if rank == 0 else _Silent(quiet=True)


class _Silent(Output):
    def final(self, text: str) -> None:
        """Process 0 says it."""


def final_line(show: Output, task: str, results: dict[str, dict[str, float]]) -> None:
    """The last line: the accuracy (or rmse and r2) of the last part there is."""
    final_part = (
        "test" if "test" in results else "validation" if "validation" in results else "training"
    )
    final = results[final_part]
    if task == "classification":
        show.final(f"{final_part} accuracy: {final['accuracy']:.4f}")
    else:
        show.final(f"{final_part} rmse: {final['rmse']:.4g}  r2: {final['r2']:.4f}")


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


def as_labels(y: np.ndarray, targets: np.ndarray, rows: np.ndarray, classes: Any) -> np.ndarray:
    """What ``evaluate`` takes for ``rows``."""
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
