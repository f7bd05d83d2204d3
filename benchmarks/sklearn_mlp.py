"""fcnet.sklearn against scikit-learn's own MLP on scikit-learn's bundled tables, same settings.

For each table (digits, breast cancer and wine: classification; diabetes: regression), a
stratified 75/25 split (random_state=0), the features standardised (and, for the regression, the
target too: ``TransformedTargetRegressor``), then scikit-learn's ``MLPClassifier`` /
``MLPRegressor`` and fcnet's, both with their defaults (hidden layer (100,), relu, adam,
learning_rate_init=1e-3, alpha=1e-4, batch_size="auto", max_iter=200, tol=1e-4,
n_iter_no_change=10) and random_state=0. fcnet runs in float32 (its default) and in float64
(scikit-learn's dtype for float64 data). scikit-learn runs twice: with its defaults (NumPy's BLAS
with all its threads) and with one BLAS thread (``threadpoolctl``), which is what fcnet's thread
rule picks for products this small; on a busy machine a BLAS's spinning threads make the first
many times slower.

Reported: the test score (accuracy, or R^2), the epochs run (each library stops by the same
rule), the fit time (the median of ``--reps`` fits after one untimed warm-up) and the time per
epoch. The table is printed in Markdown, under a line naming the CPU.

    python benchmarks/sklearn_mlp.py [--reps 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings
from typing import Any

import numpy as np
import sklearn
from sklearn import datasets
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from fcnet.sklearn import MLPClassifier, MLPRegressor

TABLES = {
    "digits": (datasets.load_digits, "classification"),
    "breast_cancer": (datasets.load_breast_cancer, "classification"),
    "wine": (datasets.load_wine, "classification"),
    "diabetes": (datasets.load_diabetes, "regression"),
}


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), and the cores this process sees."""
    name = platform.processor() or platform.machine()
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    if "model name" in fields:
        name = fields["model name"]
        if "cpu family" in fields and "model" in fields:
            name += f" (family {fields['cpu family']}, model {fields['model']})"
    return f"{name}, {os.cpu_count()} logical cores"


#: the contenders, and the BLAS threads each fits with (None: the BLAS's own default)
THREADS = {
    "scikit-learn": None,
    "scikit-learn, 1 thread": 1,
    "fcnet float32": None,
    "fcnet float64": None,
}


def contenders(task: str) -> dict[str, Any]:
    """Unfitted models with the same settings: scikit-learn's and fcnet's (two dtypes)."""
    if task == "classification":
        models = {
            "scikit-learn": SkMLPClassifier(random_state=0),
            "scikit-learn, 1 thread": SkMLPClassifier(random_state=0),
            "fcnet float32": MLPClassifier(random_state=0),
            "fcnet float64": MLPClassifier(random_state=0, dtype="float64"),
        }
        return {name: make_pipeline(StandardScaler(), model) for name, model in models.items()}
    models = {
        "scikit-learn": SkMLPRegressor(random_state=0),
        "scikit-learn, 1 thread": SkMLPRegressor(random_state=0),
        "fcnet float32": MLPRegressor(random_state=0),
        "fcnet float64": MLPRegressor(random_state=0, dtype="float64"),
    }
    return {
        name: TransformedTargetRegressor(
            make_pipeline(StandardScaler(), model), transformer=StandardScaler()
        )
        for name, model in models.items()
    }


def _mlp(fitted: Any) -> Any:
    """The MLP at the end of a fitted pipeline (inside a TransformedTargetRegressor or not)."""
    inner = getattr(fitted, "regressor_", fitted)
    return inner[-1]


def measure(
    model: Any, split: tuple[np.ndarray, ...], reps: int, threads: int | None
) -> dict[str, float]:
    """Score, epochs, median fit seconds of ``model`` on one train/test split."""
    X_train, X_test, y_train, y_test = split
    times = []
    fitted = None
    for rep in range(reps + 1):  # the first fit warms up (imports, caches) and is not timed
        candidate = clone(model)
        with threadpool_limits(threads, user_api="blas"):
            start = time.perf_counter()
            candidate.fit(X_train, y_train)
            seconds = time.perf_counter() - start
        if rep:
            times.append(seconds)
        fitted = candidate
    seconds = statistics.median(times)
    epochs = _mlp(fitted).n_iter_
    return {
        "score": fitted.score(X_test, y_test),
        "epochs": epochs,
        "seconds": seconds,
        "ms_per_epoch": 1000.0 * seconds / epochs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="timed fits per model (median)")
    args = parser.parse_args(argv)
    print(f"CPU: {cpu_name()}")
    print(
        f"Python {platform.python_version()}, NumPy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}; median of {args.reps} fits\n"
    )
    header = (
        "| table (train x features) | task | model | test score | epochs | fit s | ms / epoch |"
    )
    print(header)
    print("|---|---|---|---:|---:|---:|---:|")
    for table, (load, task) in TABLES.items():
        X, y = load(return_X_y=True)
        stratify = y if task == "classification" else None
        split = train_test_split(X, y, test_size=0.25, random_state=0, stratify=stratify)
        shape = f"{table} ({len(split[0])} x {X.shape[1]})"
        metric = "accuracy" if task == "classification" else "R^2"
        for name, model in contenders(task).items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                row = measure(model, split, args.reps, THREADS[name])
            print(
                f"| {shape} | {task} | {name} | {row['score']:.3f} {metric} | {row['epochs']} "
                f"| {row['seconds']:.3f} | {row['ms_per_epoch']:.2f} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
