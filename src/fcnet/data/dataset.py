"""The result every loader returns: :class:`Dataset`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from fcnet._validation import as_float_matrix
from fcnet.preprocessing.columns import is_frame


@dataclass(frozen=True, eq=False)
class Dataset:
    """Features, targets and their names, as read from a file.

    Unpacks like a pair: ``X, y = load_digits()``.

    Attributes
    ----------
    X : numpy.ndarray or pandas.DataFrame
        Features, shape ``(m, n_features)``: a float32 array, C-contiguous, finite, when every
        feature is a number and none is missing; else a DataFrame (text columns, missing values)
        whose column names are ``feature_names``, for
        :class:`fcnet.preprocessing.TabularEncoder`.
    y : numpy.ndarray or None
        Targets, shape ``(m,)`` or ``(m, k)``: int64 or float64 numbers, or strings (class
        names); None when the file holds no targets.
    feature_names : list of str
        One name per column of ``X``.
    target_name : str or None
        The name of the target column, or None without targets.
    target_is_column : bool
        True when ``y`` is one of the file's columns (CSV, Parquet), False when the file stores
        its labels apart from the features (NPZ, IDX).
    """

    X: Any
    y: np.ndarray | None
    feature_names: list[str]
    target_name: str | None = None
    target_is_column: bool = False

    def __post_init__(self) -> None:
        X = self.X
        if not is_frame(X):
            X = as_float_matrix("Dataset", "X", X, np.dtype(np.float32))
        elif [str(c) for c in X.columns] != [str(n) for n in self.feature_names]:
            raise ValueError("Dataset: expected feature_names to be the DataFrame's columns.")
        object.__setattr__(self, "X", X)
        if self.y is not None:
            y = np.asarray(self.y)
            if y.ndim not in (1, 2) or len(y) != len(X):
                raise ValueError(
                    f"Dataset: expected y of shape ({len(X)},) or ({len(X)}, k), got {y.shape}."
                )
            object.__setattr__(self, "y", y)
        names = [str(name) for name in self.feature_names]
        if len(names) != X.shape[1]:
            raise ValueError(
                f"Dataset: expected {X.shape[1]} feature names (one per column of X), "
                f"got {len(names)}."
            )
        object.__setattr__(self, "feature_names", names)

    @property
    def n_samples(self) -> int:
        """Number of rows m."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """Number of feature columns."""
        return int(self.X.shape[1])

    def __iter__(self) -> Iterator[Any]:
        yield self.X
        yield self.y

    @property
    def is_table(self) -> bool:
        """Whether ``X`` is a DataFrame (text columns or missing values) rather than numbers."""
        return is_frame(self.X)

    def __repr__(self) -> str:
        y = "None" if self.y is None else f"{self.y.dtype} {self.y.shape}"
        kind = "DataFrame" if self.is_table else "float32"
        return (
            f"Dataset(X={kind} {self.X.shape}, y={y}, "
            f"n_features={self.n_features}, target_name={self.target_name!r})"
        )
