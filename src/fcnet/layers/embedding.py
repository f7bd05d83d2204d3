"""Embedding tables for columns of integer codes, :class:`Embedding`: A_i = onehot(c_i) E_i."""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet._buffers import Buffers
from fcnet._ops import layer_ops
from fcnet._random import as_generator
from fcnet._validation import check_positive_int
from fcnet.backend import resolve_dtype
from fcnet.layers.base import as_input, move_to, register_layer

__all__ = ["Embedding", "default_dim"]


def default_dim(cardinality: int) -> int:
    """The width given to a table of ``cardinality`` rows when none is named:
    ``min(50, round(1.6 * cardinality ** 0.56))`` (fastai's rule of thumb, capped at 50), so
    3 codes get 3 columns, 100 get 21, 10,000 get 50."""
    return int(min(50, round(1.6 * cardinality**0.56)))


@register_layer
class Embedding:
    """Embedding tables for the columns of X that hold integer codes; the others pass through.

    Column ``columns[i]`` of X holds codes ``c_i`` in ``[0, cardinalities[i])``, which select rows
    of the table ``E_i`` (``cardinalities[i]`` rows, ``dims[i]`` wide). The output is the
    pass-through columns P (every other column, in order), then each table's rows::

        A = [X_P, A_0, ..., A_(k-1)],   A_i = onehot(c_i) E_i   (row gather: A_i[r] = E_i[c_i[r]])

    Backward, given dA = [dA_P, dZ_0, ..., dZ_(k-1)] = dL/dA::

        dE_i = onehot(c_i)^T dZ_i    (scatter-add: row c of dE_i sums the rows of dZ_i with code c)
        dX_P = dA_P
        dX at the code columns = 0   (codes are labels, not quantities: L is flat in them between
                                      integers, and undefined elsewhere)

    Shapes: X (m, n_in), E_i (cardinalities[i], dims[i]), A and dA (m, n_out) with
    ``n_out = n_in - len(columns) + sum(dims)``, dX (m, n_in).

    The scatter-add sums with one ``np.bincount`` per table column when the table has at most
    twice as many rows as the batch, and with one ``np.add.at`` over the flattened table
    otherwise (the quicker of the two in each case, measured on batches of 32 to 4,096 rows and
    tables of 3 to 100,000 rows).

    Parameters
    ----------
    n_in : int
        Input width.
    columns : list of int
        Positions of the code columns in X, distinct.
    cardinalities : list of int
        Number of codes of each code column (rows of its table).
    dims : list of int
        Width of each table.
    rng : numpy.random.Generator or int, optional
        Source of the initial tables, drawn from N(0, 1) (as ``torch.nn.Embedding``).
    dtype : "float32" or "float64", optional
        Default: :func:`fcnet.get_dtype`.
    device : "cpu", "gpu" or an Ops, optional
        Where the layer's arrays live and compute; default: the process's
        (:func:`fcnet.set_device`). ``model.to(device)`` moves a whole model.

    Notes
    -----
    A code that is not an integer in its column's range raises ``ValueError`` naming the column
    and the row. :meth:`from_encoder` builds the layer for a fitted
    :class:`fcnet.preprocessing.TabularEncoder`'s output.
    """

    #: ``backward`` writes each dE_i into the same array every step (see ``Dense``).
    grads_in_place = True

    def __init__(
        self,
        n_in: int,
        columns: list[int],
        cardinalities: list[int],
        dims: list[int],
        *,
        rng: Any = None,
        dtype: Any = None,
        device: Any = None,
    ) -> None:
        who = "Embedding"
        self.n_in = check_positive_int(who, "n_in", n_in)
        self.columns = _ints(columns)
        self.cardinalities = [check_positive_int(who, "cardinalities", c) for c in cardinalities]
        self.dims = [check_positive_int(who, "dims", d) for d in dims]
        k = len(self.columns)
        if k == 0 or len(self.cardinalities) != k or len(self.dims) != k:
            raise ValueError(
                f"{who}: expected one cardinality and one dim per code column (at least one), "
                f"got {k} columns, {len(self.cardinalities)} cardinalities, {len(self.dims)} dims."
            )
        if (
            len(set(self.columns)) != k
            or not 0 <= min(self.columns) <= max(self.columns) < self.n_in
        ):
            raise ValueError(
                f"{who}: expected distinct columns in [0, {self.n_in}), got {self.columns}."
            )
        self.n_out = self.n_in - k + sum(self.dims)
        self.dtype = resolve_dtype(dtype)
        self.pass_columns = np.array(
            [j for j in range(self.n_in) if j not in set(self.columns)], dtype=np.intp
        )
        self.ops = layer_ops(device)  # where the arrays live and are computed (model.to moves them)
        shapes = zip(self.cardinalities, self.dims, strict=True)
        self.tables = {f"E{i}": self.ops.empty(shape, self.dtype) for i, shape in enumerate(shapes)}
        self.table_grads = {k: self.ops.zeros(E.shape, self.dtype) for k, E in self.tables.items()}
        self.X: np.ndarray | None = None
        self.A: np.ndarray | None = None
        self.codes: list[np.ndarray] | None = None  # c_i of the last forward, as intp
        self._buffers = Buffers(self.ops)
        self.reset_parameters(rng)
        if device is not None:  # what the layer holds besides its arrays moves too
            self.to(self.ops)

    def reset_parameters(self, rng: Any = None) -> None:
        """Draw every table from N(0, 1)."""
        generator = as_generator(rng, "Embedding")
        for E in self.tables.values():
            E[...] = self.ops.asarray(generator.standard_normal(E.shape), self.dtype)

    @classmethod
    def from_encoder(
        cls, encoder: Any, *, dim: int | None = None, rng: Any = None, dtype: Any = None
    ) -> Embedding:
        """The layer for a fitted encoder's output: one table per column of codes.

        Parameters
        ----------
        encoder : TabularEncoder
            Fitted; ``n_features_out`` is the layer's ``n_in``.
        dim : int, optional
            Width of every table; default :func:`default_dim` of each column's cardinality.
        """
        columns, cardinalities = encoder.code_columns, encoder.cardinalities
        if not columns:
            raise ValueError(
                "Embedding.from_encoder: the encoder writes no column of codes (every "
                "categorical column is one-hot); no Embedding layer is needed."
            )
        dims = [default_dim(c) if dim is None else dim for c in cardinalities]
        return cls(encoder.n_features_out, columns, cardinalities, dims, rng=rng, dtype=dtype)

    # --- the math ----------------------------------------------------------------------------
    def _codes(self, X: np.ndarray) -> list[np.ndarray]:
        """Each code column as intp, checked: integers within the table."""
        codes = []
        for j, card in zip(self.columns, self.cardinalities, strict=True):
            column = X[:, j]
            with np.errstate(invalid="ignore"):  # NaN, inf and huge values: refused below
                c = column.astype(np.intp)
            bad = (c != column) | (c < 0) | (c >= card)
            if bool(self.ops.to_host(bad.any())):  # a read per batch: codes are checked as used
                row = int(self.ops.to_host(bad.argmax()))
                raise ValueError(
                    f"Embedding: column {j} row {row}: expected an integer code in "
                    f"[0, {card}), got {self.ops.to_host(column[row]).item()!r}."
                )
            codes.append(c)
        return codes

    def _gather(self, X: np.ndarray, codes: list[np.ndarray]) -> np.ndarray:
        m, n_pass = X.shape[0], len(self.pass_columns)
        A = self._buffers.get("A", m, self.n_out, self.dtype)
        A[:, :n_pass] = X[:, self.pass_columns]
        start = n_pass
        for c, E in zip(codes, self.tables.values(), strict=True):
            A[:, start : start + E.shape[1]] = E[c]  # A_i = onehot(c_i) E_i
            start += E.shape[1]
        return A

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """A = [X_P, E_0[c_0], ..., E_(k-1)[c_(k-1)]]; X (m, n_in) -> A (m, n_out)."""
        X = as_input("Embedding", X, self.n_in, self.dtype, self.ops)
        codes = self._codes(X)
        A = self._gather(X, codes)
        self.X, self.codes, self.A = X, codes, A
        return A

    def infer(self, X: np.ndarray) -> np.ndarray:
        """The forward for inference: keeps no caches. Returns a buffer the next call
        overwrites."""
        X = as_input("Embedding", X, self.n_in, self.dtype, self.ops)
        return self._gather(X, self._codes(X))

    def backward(self, dA: np.ndarray, need_dX: bool = True) -> np.ndarray | None:
        """Fill each dE_i from dA (m, n_out); return dX (m, n_in), or None if not ``need_dX``."""
        if self.X is None or self.codes is None:
            raise RuntimeError("Embedding: call forward before backward.")
        m = self.X.shape[0]
        if dA.shape != (m, self.n_out):
            raise ValueError(
                f"Embedding: expected dA of shape ({m}, {self.n_out}), got {dA.shape}."
            )
        start = len(self.pass_columns)
        for c, dE in zip(self.codes, self.table_grads.values(), strict=True):
            d = dE.shape[1]
            self.ops.scatter_add_rows(c, dA[:, start : start + d], dE)  # dE_i = onehot(c_i)^T dZ_i
            start += d
        if not need_dX:
            return None
        dX = self._buffers.get("dX", m, self.n_in, self.dtype)
        dX[:, self.pass_columns] = dA[:, : len(self.pass_columns)]
        dX[:, self.columns] = 0.0
        return dX

    # --- the protocol ------------------------------------------------------------------------
    def to(self, ops: Any) -> Embedding:
        """Move the tables and their gradients to ``ops``'s arrays; returns self."""
        old = self.ops
        self.tables = {k: ops.asarray(old.to_host(E)).copy() for k, E in self.tables.items()}
        self.table_grads = {
            k: ops.asarray(old.to_host(g)).copy() for k, g in self.table_grads.items()
        }
        self.pass_columns = ops.asarray(old.to_host(self.pass_columns))
        move_to(self, ops, ())
        self.codes = None
        return self

    def bind_grads(self, views: dict[str, Any]) -> None:
        """Keep the gradients in ``views`` from now on (see :meth:`fcnet.Dense.bind_grads`)."""
        self.table_grads = {key: views[key] for key in self.table_grads}

    def params(self) -> dict[str, np.ndarray]:
        """``{"E0": E_0, "E1": E_1, ...}``, the live tables."""
        return dict(self.tables)

    def grads(self) -> dict[str, np.ndarray]:
        """``{"E0": dE_0, ...}``, filled by the last ``backward``."""
        return dict(self.table_grads)

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments as JSON values."""
        return {
            "n_in": self.n_in,
            "columns": list(self.columns),
            "cardinalities": list(self.cardinalities),
            "dims": list(self.dims),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], dtype: Any = None) -> Embedding:
        """Rebuild an Embedding (its tables drawn anew; loading replaces them)."""
        return cls(**dict(config), dtype=dtype, rng=0)

    def __repr__(self) -> str:
        return (
            f"Embedding(n_in={self.n_in}, columns={self.columns}, "
            f"cardinalities={self.cardinalities}, dims={self.dims})"
        )


def _ints(values: Any) -> list[int]:
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        raise TypeError(f"Embedding: expected a list of integers, got {values!r}.")
    out = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise TypeError(f"Embedding: expected integer positions, got {value!r}.")
        out.append(int(value))
    return out
