"""Regression metrics: MAE, RMSE and R^2."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from fcnet.metrics.checks import _value_pair


def mae(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute error: ``1/(m k) sum_i sum_j |y_ij - y_hat_ij|``.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (m,) or (m, k)
        Targets and predictions (finite).

    Returns
    -------
    float
        A value >= 0; lower is better.
    """
    true, pred = _value_pair("mae", y_true, y_pred)
    return float(np.mean(np.abs(true - pred)))


def rmse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Root mean squared error: ``1/k sum_j sqrt(1/m sum_i (y_ij - y_hat_ij)^2)``.

    With several outputs the per-output RMSEs are averaged, as in scikit-learn's
    ``root_mean_squared_error``.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (m,) or (m, k)
        Targets and predictions (finite).

    Returns
    -------
    float
        A value >= 0; lower is better.
    """
    true, pred = _value_pair("rmse", y_true, y_pred)
    return float(np.mean(np.sqrt(np.mean((true - pred) ** 2, axis=0))))


def r2(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Coefficient of determination: ``R^2 = 1 - SS_res / SS_tot``, averaged over outputs.

    Per output j: ``SS_res = sum_i (y_ij - y_hat_ij)^2``, ``SS_tot = sum_i (y_ij - mean_j)^2``.
    When ``y_true`` is constant in an output (``SS_tot = 0``) that output scores 1.0 if the
    predictions are perfect and 0.0 otherwise, as scikit-learn does; with one sample R^2 is
    undefined and the result is NaN (scikit-learn also warns).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (m,) or (m, k)
        Targets and predictions (finite).

    Returns
    -------
    float
        At most 1.0; higher is better. Can be negative.
    """
    true, pred = _value_pair("r2", y_true, y_pred)
    if true.shape[0] < 2:
        return float("nan")
    residual = np.sum((true - pred) ** 2, axis=0)
    total = np.sum((true - true.mean(axis=0)) ** 2, axis=0)
    # An exactly constant column has SS_tot = 0 even if its computed mean is off by rounding.
    total[(true == true[0]).all(axis=0)] = 0.0
    per_output = np.ones(true.shape[1])
    defined = total != 0
    per_output[defined] = 1.0 - residual[defined] / total[defined]
    per_output[~defined & (residual != 0)] = 0.0
    return float(np.mean(per_output))
