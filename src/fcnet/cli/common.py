"""What every command shares: exit codes, the usage error and the parser that prints it in one
line, the flag checks, and the loaders of a model and a data set."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

EXIT_OK = 0
EXIT_GRADCHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_DIVERGED = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a tool killed by SIGPIPE

CLASSIFICATION_METRICS = ["accuracy", "precision", "recall", "f1"]
REGRESSION_METRICS = ["mae", "rmse", "r2"]


class UsageError(ValueError):
    """A bad flag value or combination; printed as one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``fcnet: error: <message> (see 'fcnet train --help')``."""

    def error(self, message: str) -> Any:
        self.exit(EXIT_USAGE, f"fcnet: error: {message} (see '{self.prog} --help')\n")


# --- flag checks ---------------------------------------------------------------------------------
def check_writable(flag: str, path: str) -> None:
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


def int_list(flag: str, text: str, *, allow_empty: bool, minimum: int = 2) -> list[int]:
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


def float_list(flag: str, text: str) -> list[float]:
    try:
        values = [float(p) for p in text.replace(";", ",").split(",") if p.strip()]
    except ValueError:
        values = []
    if not values or not all(np.isfinite(values)):
        raise UsageError(
            f"expected {flag} as comma-separated numbers (e.g. 0.1,0.5), got {text!r}."
        )
    return values


def check_positive(flag: str, value: float) -> None:
    if not value > 0 or not np.isfinite(value):
        raise UsageError(f"expected {flag} > 0, got {value!r}.")


def check_fraction(flag: str, value: float, *, high: float = 1.0) -> None:
    if not 0.0 <= value < high:
        raise UsageError(f"expected {flag} in [0, {high:g}), got {value!r}.")


def check_seed(seed: int) -> None:
    if seed < 0:
        raise UsageError(f"expected --seed >= 0, got {seed}.")


def check_name(flag: str, value: str, names: dict[str, Any]) -> str:
    key = value.lower().replace("-", "_")
    if key not in names:
        valid = ", ".join(sorted(names))
        raise UsageError(f"unknown {flag} {value!r}; expected one of {valid}.")
    return key


def loss_name(value: str) -> str:
    """The loss named by a --loss flag, under its canonical name (an alias such as bce is
    resolved by the loss registry)."""
    from fcnet.losses import LOSSES

    return LOSSES[check_name("--loss", value, LOSSES)].name


def loss_task(loss: str) -> str:
    """The task of a loss name: "classification", "binary" or "regression"."""
    from fcnet.losses import get_loss

    return getattr(get_loss(loss), "task", "regression")


def for_labels(loss: str) -> bool:
    """Whether a loss trains on class labels (softmax or binary cross-entropy)."""
    return loss_task(loss) != "regression"


def loss_for_task(task: str | None) -> str:
    return {"classification": "cross_entropy", "binary": "binary_cross_entropy"}.get(
        task or "", "mse"
    )


def load_model(path: str) -> Any:
    from fcnet.io import load

    return load(path)


def load_dataset(path: str | None, target: str | None) -> Any:
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
