"""The sums the kernels take over the rows of an array they write: the column sums of dZ
(``db``), and sums of squares computed beside the passes that write an array; and the gather of
a batch's rows, which computes them as it copies.

``db`` is summed in blocks of 32 rows while they are in cache (:func:`sum_block`, called after
each row by the backward kernels of :mod:`fcnet._ops.kernels.activations`), four rows at a
time, in the same order every run; :func:`column_sums` is the same sum on its own (the
identity's backward, where dZ is dA).

The bound that proves a fused SGD update finite (:mod:`fcnet.train.fused_sgd`) needs, every
step, ``||X||_F^2`` and ``||dZ||_F^2`` of each Dense layer. Read afterwards, that is a pass over
arrays the products have pushed out of the cache; here each sum is taken while the rows are in
registers or in the first-level cache, by the kernel that writes them: the forward and backward
activation kernels (:mod:`fcnet._ops.kernels.activations`, for A and dZ) and :func:`take_rows`
(for the batch, the first layer's X).

``sq``: float64 of shape (n + 1,) for an array of n columns, or empty (nothing is computed).
:func:`start` zeros it, :func:`add_row` adds a row's squares into ``sq[:n]`` (in float64, so
the sum of a float32 array cannot overflow where its terms do not), and :func:`end` leaves
``sq[n] = sum_j sq[j] = sum_ij a_ij^2``.
"""

from __future__ import annotations

import numpy as np

from fcnet._ops.kernels.jit import inline, jit


@inline
def start(sq):
    """Zero the sums (nothing when ``sq`` is empty)."""
    sq[:] = 0.0


@inline
def add_row(row, sq):
    """sq[j] += row[j]^2, in float64, where ``sq`` is not empty."""
    if sq.shape[0] != 0:
        for j in range(row.shape[0]):
            v = np.float64(row[j])
            sq[j] += v * v


@inline
def add_rows(r0, r1, sq):
    """sq[j] += r0[j]^2 + r1[j]^2 (one read and write of ``sq`` for two rows), where ``sq`` is
    not empty."""
    if sq.shape[0] != 0:
        for j in range(r0.shape[0]):
            a, b = np.float64(r0[j]), np.float64(r1[j])
            sq[j] += a * a + b * b


@inline
def end(sq):
    """sq[n] <- the sum of sq[:n], where ``sq`` is not empty."""
    n = sq.shape[0] - 1
    if n >= 0:
        total = 0.0
        for j in range(n):
            total += sq[j]
        sq[n] = total


_BLOCK = 32  # rows of dZ summed into db at a time, while they are in cache


@jit
def add_block(dZ, first, stop, db, sq):
    """db += the sum of the rows first, ..., stop - 1 of dZ, four rows at a time (db is read and
    written once per four rows: a quarter of the traffic of adding row after row); and, where
    ``sq`` is not empty, sq[j] += the sum of their squares, in float64, while they are in cache."""
    n = dZ.shape[1]
    i = first
    while i + 4 <= stop:
        r0, r1, r2, r3 = dZ[i], dZ[i + 1], dZ[i + 2], dZ[i + 3]
        for j in range(n):
            db[j] += (r0[j] + r1[j]) + (r2[j] + r3[j])
        add_rows(r0, r1, sq)
        add_rows(r2, r3, sq)
        i += 4
    while i < stop:
        r = dZ[i]
        for j in range(n):
            db[j] += r[j]
        add_row(r, sq)
        i += 1


@inline
def sum_block(dZ, i, db, sq):
    """After row i of dZ: add the block of rows that ends there, if it does, into db (and the
    sums of their squares into sq)."""
    m = dZ.shape[0]
    if (i + 1) % _BLOCK == 0 or i + 1 == m:
        add_block(dZ, i - i % _BLOCK, i + 1, db, sq)


@jit
def column_sums(dZ, db, sq):
    """db <- the sum of dZ's rows (in the blocks and order of the backward kernels), and dZ's
    sums of squares into ``sq`` where it is not empty."""
    db[:] = 0
    start(sq)
    m = dZ.shape[0]
    for first in range(0, m, _BLOCK):
        add_block(dZ, first, min(first + _BLOCK, m), db, sq)
    end(sq)


@jit
def take_rows(X, rows, out, sq):
    """out[i] <- X[rows[i]] for every i, two rows at a time, with the sums of squares of the rows
    copied into ``sq`` where it is not empty. X (N, n), rows (m,) of valid row numbers, out
    (m, n); C-contiguous, X and out of one dtype."""
    start(sq)
    m, n = rows.shape[0], X.shape[1]
    i = 0
    while i + 2 <= m:
        r0, r1, o0, o1 = X[rows[i]], X[rows[i + 1]], out[i], out[i + 1]
        for j in range(n):
            o0[j] = r0[j]
            o1[j] = r1[j]
        add_rows(o0, o1, sq)
        i += 2
    if i < m:
        r, o = X[rows[i]], out[i]
        for j in range(n):
            o[j] = r[j]
        add_row(o, sq)
    end(sq)
