"""Feature scaling fitted on training data and saved with the model: standard and min-max.

Statistics are computed and stored in float64; ``transform`` keeps the input's float dtype
(float32 in, float32 out; float64 in, float64 out). A scaler's config is plain JSON (lists of
Python floats), so ``from_config(get_config())`` restores it bit for bit.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np

from fcnet._validation import as_float_matrix, check_choice
from fcnet.backend import get_dtype

__all__ = ["MinMaxScaler", "StandardScaler", "make_scaler"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _as_input(who: str, X: Any, n_features: int | None) -> np.ndarray:
    """X as a finite 2-D float matrix: float32 and float64 kept, anything else the default."""
    dtype = X.dtype if isinstance(X, np.ndarray) and X.dtype in _FLOATS else get_dtype()
    X = as_float_matrix(who, "X", X, dtype, n_features)
    if X.shape[1] == 0:
        raise ValueError(f"{who}: expected X with at least one column, got shape {X.shape}.")
    return X


def _check_fitted(who: str, fitted: bool, method: str) -> None:
    if not fitted:
        raise RuntimeError(f"{who}: call fit before {method}.")


def _config_vector(who: str, config: dict[str, Any], key: str, n: int | None) -> np.ndarray:
    values = config.get(key)
    if not isinstance(values, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    ):
        raise ValueError(
            f"{who}: expected config[{key!r}] to be a list of numbers, got {values!r}."
        )
    vector = np.array(values, dtype=np.float64)
    if not np.isfinite(vector).all():
        raise ValueError(f"{who}: expected finite numbers in config[{key!r}], got {values!r}.")
    if n is not None and len(vector) != n:
        raise ValueError(
            f"{who}: expected config[{key!r}] of length {n} (one per feature), got {len(vector)}."
        )
    return vector


def _check_config(cls: type, config: Any) -> bool:
    """Validate the common part of a config; return whether it describes a fitted scaler."""
    who = cls.__name__
    if not isinstance(config, dict):
        raise TypeError(f"{who}: expected config to be a dict, got {type(config).__name__}.")
    kind = config.get("type", who)
    if kind != who:
        raise ValueError(f"{who}: expected config of type {who!r}, got {kind!r}.")
    return config.get("n_features") is not None


class _AffineScaler:
    """X' = (X - offset) / scale per feature, with the statistics fitted on training data.

    Subclasses name their two statistics (``_offset``, ``_scale``: the attribute and config key
    names) and compute them in :meth:`_statistics`; everything else is shared.
    """

    _offset: str
    _scale: str

    def __init__(self) -> None:
        setattr(self, self._offset, None)
        setattr(self, self._scale, None)
        self.n_features: int | None = None

    def _statistics(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def fit(self, X: Any) -> Self:
        """Compute the statistics of each column of X ``(m, n_features)``."""
        X = _as_input(type(self).__name__, X, None)
        offset, scale = self._statistics(X)
        setattr(self, self._offset, offset)
        setattr(self, self._scale, scale)
        self.n_features = X.shape[1]
        return self

    def _fitted(self, method: str) -> tuple[np.ndarray, np.ndarray]:
        _check_fitted(type(self).__name__, self.n_features is not None, method)
        return getattr(self, self._offset), getattr(self, self._scale)

    def transform(self, X: Any) -> np.ndarray:
        """Return ``(X - offset) / scale`` as a new array of X's float dtype."""
        offset, scale = self._fitted("transform")
        X = _as_input(type(self).__name__, X, self.n_features)
        out = np.subtract(X, offset.astype(X.dtype))
        out /= scale.astype(X.dtype)
        return out

    def fit_transform(self, X: Any) -> np.ndarray:
        """:meth:`fit` then :meth:`transform` on the same X."""
        return self.fit(X).transform(X)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Return ``X * scale + offset``: the original features."""
        offset, scale = self._fitted("inverse_transform")
        X = _as_input(type(self).__name__, X, self.n_features)
        out = np.multiply(X, scale.astype(X.dtype))
        out += offset.astype(X.dtype)
        return out

    def get_config(self) -> dict[str, Any]:
        """The scaler as JSON values: its type, ``n_features`` and the two statistics."""
        fitted = self.n_features is not None
        config: dict[str, Any] = {"type": type(self).__name__, "n_features": self.n_features}
        for key in (self._offset, self._scale):
            config[key] = [float(v) for v in getattr(self, key)] if fitted else None
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        """Rebuild a scaler from :meth:`get_config`, with exactly the same statistics."""
        scaler = cls()
        who = cls.__name__
        if _check_config(cls, config):
            n = config["n_features"]
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ValueError(
                    f"{who}: expected config['n_features'] to be a positive integer, got {n!r}."
                )
            offset = _config_vector(who, config, cls._offset, n)
            scale = _config_vector(who, config, cls._scale, n)
            if (scale <= 0).any():
                raise ValueError(
                    f"{who}: expected config[{cls._scale!r}] > 0, got {config[cls._scale]!r}."
                )
            setattr(scaler, cls._offset, offset)
            setattr(scaler, cls._scale, scale)
            scaler.n_features = n
        return scaler

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_features={self.n_features})"


class StandardScaler(_AffineScaler):
    """Standardise each feature to zero mean and unit variance.

    Fit, over the m rows of X::

        mean_j = (1/m) sum_i X_ij
        scale_j = sqrt((1/m) sum_i (X_ij - mean_j)^2)     (population std, as scikit-learn)

    A constant column gets scale 1, so it maps to 0. Transform and its inverse::

        X'_ij = (X_ij - mean_j) / scale_j
        X_ij  = X'_ij * scale_j + mean_j

    Shapes: X, X' (m, n_features); mean, scale (n_features,), float64.

    Attributes
    ----------
    mean, scale : numpy.ndarray or None
        The fitted statistics (float64), None before :meth:`fit`.
    n_features : int or None
        Number of columns seen by :meth:`fit`.
    """

    _offset, _scale = "mean", "scale"
    mean: np.ndarray | None
    scale: np.ndarray | None

    def _statistics(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean = X.mean(axis=0, dtype=np.float64)
        scale = X.std(axis=0, dtype=np.float64)
        # Exactly constant columns: the float64 mean of identical values can be off by an ulp,
        # which would leave a tiny nonzero std that blows rounding noise up to O(1) values.
        constant = X.max(axis=0) == X.min(axis=0)
        mean[constant] = X[0, constant]
        scale[constant] = 1.0
        scale[scale == 0.0] = 1.0
        return mean, scale


class MinMaxScaler(_AffineScaler):
    """Scale each feature to [0, 1] by its training minimum and range.

    Fit, over the m rows of X::

        data_min_j = min_i X_ij
        data_range_j = max_i X_ij - data_min_j

    A constant column gets range 1, so it maps to 0. Transform and its inverse::

        X'_ij = (X_ij - data_min_j) / data_range_j
        X_ij  = X'_ij * data_range_j + data_min_j

    New data outside the training range maps outside [0, 1] (no clipping).

    Shapes: X, X' (m, n_features); data_min, data_range (n_features,), float64.

    Attributes
    ----------
    data_min, data_range : numpy.ndarray or None
        The fitted statistics (float64), None before :meth:`fit`.
    n_features : int or None
        Number of columns seen by :meth:`fit`.
    """

    _offset, _scale = "data_min", "data_range"
    data_min: np.ndarray | None
    data_range: np.ndarray | None

    def _statistics(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        data_min = X.min(axis=0).astype(np.float64)
        data_range = X.max(axis=0).astype(np.float64) - data_min
        data_range[data_range == 0.0] = 1.0
        return data_min, data_range


SCALERS: dict[str, type | None] = {
    "standard": StandardScaler,
    "minmax": MinMaxScaler,
    "none": None,
}


def make_scaler(name: str | None) -> StandardScaler | MinMaxScaler | None:
    """A new, unfitted scaler by name.

    Parameters
    ----------
    name : {"standard", "minmax", "none"} or None
        ``"none"`` (or None) gives None: no scaling.

    Returns
    -------
    StandardScaler, MinMaxScaler or None
    """
    if name is None:
        return None
    cls = check_choice("make_scaler", "scaler", name, SCALERS)
    return None if cls is None else cls()
