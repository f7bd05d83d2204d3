"""How :mod:`fcnet.tracing` writes numbers, arrays and formulas."""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet._validation import check_finite_rows

# Rows and columns shown at each edge of a large array (the middle is elided as "...").
_EDGE = 3
# Largest sizes for which a formula is also written out term by term.
_EXPAND_MAX = 4


def _shown(n: int) -> list[int | None]:
    if n <= 2 * _EDGE + 1:
        return list(range(n))
    return [*range(_EDGE), None, *range(n - _EDGE, n)]


def _shown_indices(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    if len(shape) == 1:
        return [(c,) for c in _shown(shape[0]) if c is not None]
    rows = [r for r in _shown(shape[0]) if r is not None]
    cols = [c for c in _shown(shape[1]) if c is not None]
    return [(r, c) for r in rows for c in cols]


# --- formatting ------------------------------------------------------------------------------
def _n(value: float) -> str:
    """A number with up to 6 significant digits (0 printed as 0, never -0)."""
    value = float(value)
    if value == 0.0:
        return "0"
    return f"{value:.6g}"


def _format(array: Any, batch: bool = False) -> str:
    """A vector as ``[a, b]``, a matrix as aligned rows; long dimensions elided with ``...``."""
    A = np.asarray(array, dtype=np.float64)
    if A.ndim == 0:
        return _n(A)
    if A.ndim == 2 and batch and A.shape[0] == 1:
        A = A[0]
    if A.ndim == 1:
        return "[" + ", ".join("..." if c is None else _n(A[c]) for c in _shown(A.shape[0])) + "]"
    rows, cols = _shown(A.shape[0]), _shown(A.shape[1])
    cells = [["..." if r is None or c is None else _n(A[r, c]) for c in cols] for r in rows]
    widths = [max(len(row[k]) for row in cells) for k in range(len(cols))]
    lines = []
    for row_index, row in enumerate(cells):
        text = ", ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True))
        opener = "[[" if row_index == 0 else " ["
        closer = "]]" if row_index == len(cells) - 1 else "],"
        lines.append(opener + text + closer)
    return "\n".join(lines)


def _indent_after(prefix: str, text: str) -> str:
    pad = " " * len(prefix)
    return prefix + text.replace("\n", "\n" + pad)


def _assign(
    name: str, array: Any, *, batch: bool = False, indent: int = 0, eq: bool = False
) -> str:
    """``name = value`` (or ``= value`` continuing a formula), multi-line values aligned."""
    prefix = " " * indent + ("= " if eq else f"{name} = ")
    return _indent_after(prefix, _format(array, batch=batch))


def _rule(title: str) -> str:
    return f"{title}\n{'-' * len(title)}"


def _small(left: np.ndarray, right: np.ndarray) -> bool:
    return left.shape[0] == 1 and max(right.shape) <= _EXPAND_MAX


def _sum_of_products(pairs: list[tuple[float, float]]) -> str:
    """``a*b + c*d - e*f``: signs of the left factors folded into the operators."""
    text = ""
    for k, (a, b) in enumerate(pairs):
        right = _n(b) if b >= 0 else f"({_n(b)})"
        if k == 0:
            text = f"{_n(a)}*{right}"
        elif a < 0:
            text += f" - {_n(-a)}*{right}"
        else:
            text += f" + {_n(a)}*{right}"
    return text


def _plus(value: float) -> str:
    return f" - {_n(-value)}" if value < 0 else f" + {_n(value)}"


def _loss_expansion(name: str, Y_hat: np.ndarray, Y: np.ndarray) -> str:
    if name != "mse" or Y_hat.shape[0] != 1 or Y_hat.shape[1] > _EXPAND_MAX:
        return ""
    residual = Y_hat[0] - Y[0]
    return "1/2 (" + " + ".join(f"{_n(abs(r))}^2" for r in residual) + ")"


# --- inputs ------------------------------------------------------------------------------------
def _as_samples(X: Any) -> np.ndarray:
    try:
        X64 = np.array(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"explain: X could not be read as numbers ({exc}).") from exc
    if X64.ndim == 1:
        X64 = X64[None, :]
    if X64.ndim != 2 or X64.shape[0] == 0 or X64.shape[1] == 0:
        raise ValueError(f"explain: expected X of shape (m, n_in) or (n_in,), got {X64.shape}.")
    check_finite_rows("explain", "X", X64)
    return X64


def _output_width(model: Any, layers: list[Any], X: np.ndarray) -> int:
    n_out = getattr(model, "n_out", None)
    if n_out is not None:
        return int(n_out)
    A = X[:1]
    for layer in layers:
        A = layer.forward(A, training=False)
    return int(A.shape[1])


def _targets(model: Any, loss: Any, y: Any, m: int, n_out: int) -> np.ndarray:
    task = getattr(loss, "task", "regression")
    Y = np.asarray(y)
    classes = getattr(model, "classes", None)
    if task == "classification":
        if Y.ndim == 0:
            Y = Y[None]
        if classes is not None and Y.ndim == 1:
            lookup = {c: k for k, c in enumerate(np.asarray(classes).tolist())}
            codes = []
            for value in Y.tolist():
                if value not in lookup and str(value) in {str(c) for c in lookup}:
                    value = next(c for c in lookup if str(c) == str(value))
                if value not in lookup:
                    raise ValueError(
                        f"explain: label {value!r} is not one of the model's classes "
                        f"{list(lookup)}."
                    )
                codes.append(lookup[value])
            Y = np.asarray(codes, dtype=np.int64)
    else:
        Y = np.array(Y, dtype=np.float64)
        if Y.ndim == 0:
            Y = Y.reshape(1, 1)
        elif Y.ndim == 1:
            Y = Y[None, :] if m == 1 and len(Y) == n_out else Y[:, None]
    if len(Y) != m:
        raise ValueError(f"explain: y has {len(Y)} rows but X has {m}.")
    return loss.prepare_targets(Y, n_out, np.dtype(np.float64))
