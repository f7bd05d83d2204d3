"""Seeded, stratified splits of row indices: :func:`split_rows`."""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet._random import as_generator
from fcnet._validation import check_nonnegative_int, check_number


def split_rows(
    n_rows: int,
    fraction: float,
    rng: Any,
    *,
    labels: Any = None,
    rows: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle row indices and split them into (kept, held out), about ``fraction`` held out.

    Parameters
    ----------
    n_rows : int
        The rows are ``0 .. n_rows - 1`` (or ``rows`` when given).
    fraction : float in [0, 1)
        Share of the rows to hold out: ``round(fraction * n)`` of them.
    rng : numpy.random.Generator or int
        Source of the shuffle.
    labels : array-like (n_rows,), optional
        Class codes of every row: each class is split in the same proportion (stratified), and a
        class with at least two rows keeps at least one row on each side.
    rows : array-like of int, optional
        Split only these rows (e.g. what is left after a test split).

    Returns
    -------
    kept, held_out : ndarray of int64, each sorted
    """
    n_rows = check_nonnegative_int("split_rows", "n_rows", n_rows)
    fraction = check_number("split_rows", "fraction", fraction, low=0.0, high=1.0, high_open=True)
    generator = as_generator(rng, "split_rows")
    if rows is None:
        rows = np.arange(n_rows, dtype=np.int64)
    else:
        given = np.asarray(rows)
        if given.ndim != 1 or (given.size and given.dtype.kind not in "iu"):
            raise TypeError(
                "split_rows: expected rows as a 1-D array of integer row indices, got "
                f"{given.dtype} of shape {given.shape}."
            )
        rows = given.astype(np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= n_rows):
            bad = rows[(rows < 0) | (rows >= n_rows)][0]
            raise ValueError(
                f"split_rows: expected rows in [0, {n_rows}) (n_rows is {n_rows}), got {bad}."
            )
    if labels is not None:
        labels = np.asarray(labels)
        if labels.ndim != 1 or len(labels) != n_rows:
            raise ValueError(
                f"split_rows: expected labels of shape ({n_rows},), one per row, "
                f"got shape {labels.shape}."
            )
    if fraction == 0 or len(rows) < 2:
        return np.sort(rows), np.empty(0, dtype=np.int64)
    groups = (
        [rows] if labels is None else [rows[labels[rows] == c] for c in np.unique(labels[rows])]
    )
    kept, held = [], []
    for members in groups:
        members = generator.permutation(members)
        n_held = int(round(fraction * len(members)))
        if len(members) >= 2:
            n_held = min(max(n_held, 1), len(members) - 1)
        held.append(members[:n_held])
        kept.append(members[n_held:])
    return np.sort(np.concatenate(kept)), np.sort(np.concatenate(held))
