"""Numerical gradient checking by central differences, in float64, on a copy of the model.

For a parameter entry p the numerical derivative is::

    dL/dp ~ (L(p + eps) - L(p - eps)) / (2 eps)         (error O(eps^2))

and each entry's relative error is ``|a - n| / max(|a| + |n|, 1e-12)`` with ``a`` the
analytic (backprop) value and ``n`` the numerical one. A correct backward in float64 gives
errors around 1e-9 or less; a wrong one gives errors near 1.

Round-off limits what central differences can resolve: each loss value carries an error of about
machine epsilon times |L|, so the difference quotient carries about ``eps_mach |L| / eps``. An
entry whose absolute difference ``|a - n|`` is below ten times that floor agrees within what the
method can measure, even when its relative error (for a gradient near 0) is larger; ``ok``
accepts it and the table shows it. ``max_rel_error`` is always the plain maximum.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fcnet._random import as_generator
from fcnet._validation import check_number
from fcnet.losses import get_loss


@dataclass
class GradCheckRow:
    """One parameter's result: name, shape, entries checked, largest |grad|, worst error."""

    name: str
    shape: tuple[int, ...]
    checked: int
    max_abs_grad: float
    max_rel_error: float
    worst_index: tuple[int, ...]
    analytic: float
    numerical: float
    failing: int = 0  # entries above the tolerance and above the round-off floor


@dataclass
class GradCheckReport:
    """Result of :func:`check_gradients`: one row per parameter (and one for the input X)."""

    rows: list[GradCheckRow] = field(default_factory=list)
    eps: float = 1e-6
    tolerance: float = 1e-6
    floor: float = 0.0  # absolute differences below this are round-off (see the module notes)

    @property
    def max_rel_error(self) -> float:
        """The worst relative error over every checked entry."""
        return max((r.max_rel_error for r in self.rows), default=0.0)

    @property
    def ok(self) -> bool:
        """True when every entry agrees: relative error below the tolerance, or an absolute
        difference below the round-off floor of central differences."""
        return all(r.failing == 0 for r in self.rows)

    def __str__(self) -> str:
        header = (
            "parameter",
            "shape",
            "checked",
            "max |grad|",
            "max rel error",
            "at",
            "backprop",
            "numerical",
            "",
        )
        lines = [header]
        for r in self.rows:
            if r.failing:
                flag = f"FAIL ({r.failing} entries)"
            else:
                flag = "ok" if r.max_rel_error < self.tolerance else "ok (round-off)"
            lines.append(
                (
                    r.name,
                    "x".join(map(str, r.shape)),
                    str(r.checked),
                    f"{r.max_abs_grad:.3e}",
                    f"{r.max_rel_error:.2e}",
                    str(list(r.worst_index)),
                    f"{r.analytic:+.6e}",
                    f"{r.numerical:+.6e}",
                    flag,
                )
            )
        widths = [max(len(line[c]) for line in lines) for c in range(len(header))]
        text = [
            "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
            for line in lines
        ]
        text.insert(1, "  ".join("-" * w for w in widths))
        verdict = "PASSED" if self.ok else "FAILED"
        text.append(
            f"{verdict}: max relative error {self.max_rel_error:.2e} "
            f"(tolerance {self.tolerance:.0e}, central differences, eps={self.eps:g}, float64)"
        )
        if any(r.max_rel_error >= self.tolerance and not r.failing for r in self.rows):
            text.append(
                f"ok (round-off): the entries above the tolerance differ by less than "
                f"{self.floor:.1e} in absolute terms, the round-off floor of central differences "
                "at this eps (their gradients are nearly 0)."
            )
        return "\n".join(text)


def numerical_gradient(
    f: Callable[[], float], x: np.ndarray, eps: float = 1e-6, indices: Any = None
) -> np.ndarray:
    """Central-difference gradient of ``f()`` with respect to the array ``x`` (changed in place
    and restored).

    Parameters
    ----------
    f : callable
        Returns the scalar loss; reads ``x``.
    x : ndarray
        float64 array.
    indices : sequence of index tuples, optional
        Only these entries (the others are left 0).
    """
    grad = np.zeros_like(x, dtype=np.float64)
    entries = np.ndindex(x.shape) if indices is None else indices
    for index in entries:
        saved = x[index]
        x[index] = saved + eps
        up = f()
        x[index] = saved - eps
        down = f()
        x[index] = saved
        grad[index] = (up - down) / (2.0 * eps)
    return grad


def to_float64(model: Any) -> Any:
    """A deep copy of ``model`` with every floating-point array (and dtype) in float64."""
    clone = copy.deepcopy(model)
    _cast(clone, set())
    return clone


def _cast(obj: Any, seen: set[int]) -> None:
    if id(obj) in seen:
        return
    seen.add(id(obj))
    items = (
        obj.items()
        if isinstance(obj, dict)
        else vars(obj).items()
        if hasattr(obj, "__dict__")
        else ()
    )
    for key, value in list(items):
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            new = value.astype(np.float64)
        elif isinstance(value, np.dtype) and value.kind == "f":
            new = np.dtype(np.float64)
        else:
            if isinstance(value, list | tuple):
                for element in value:
                    if hasattr(element, "__dict__") and not isinstance(
                        element, np.random.Generator
                    ):
                        _cast(element, seen)
            elif (hasattr(value, "__dict__") or isinstance(value, dict)) and not isinstance(
                value, np.random.Generator | type
            ):
                _cast(value, seen)
            continue
        if isinstance(obj, dict):
            obj[key] = new
        else:
            setattr(obj, key, new)
    buffers = getattr(obj, "_buffers", None)
    if buffers is not None and hasattr(buffers, "clear"):
        buffers.clear()


def check_gradients(
    model: Any,
    loss: Any,
    X: Any,
    y: Any,
    eps: float = 1e-6,
    *,
    tolerance: float = 1e-6,
    max_entries: int | None = None,
    check_input: bool = True,
    training: bool = False,
    rng: Any = 0,
) -> GradCheckReport:
    """Compare backprop's gradients with central differences, in float64, on a copy of ``model``.

    Parameters
    ----------
    model : Sequential (or any object with forward/backward/params/grads and layers)
        Left untouched: the check runs on a float64 deep copy, so a user's own layer classes
        are what gets checked.
    loss : str or Loss
    X, y : array-like
        A few samples are enough.
    eps : float
        The step of the central difference.
    tolerance : float
        ``report.ok`` is True when every relative error is below it.
    max_entries : int, optional
        Check at most this many randomly chosen entries per parameter (all when None).
    check_input : bool
        Also check dL/dX.
    training : bool
        Run the forward in training mode (dropout masks are frozen between evaluations).
    rng : Generator or int
        Chooses the entries when ``max_entries`` is set.

    Returns
    -------
    GradCheckReport
    """
    eps = check_number("check_gradients", "eps", eps, low=0.0, low_open=True)
    clone = to_float64(model)
    loss_fn = get_loss(loss) if isinstance(loss, str) else copy.deepcopy(loss)
    X64 = np.array(X, dtype=np.float64)
    if X64.ndim != 2:
        raise ValueError(f"check_gradients: expected X of shape (m, n_in), got {X64.shape}.")
    generator = as_generator(rng, "check_gradients")
    layers = getattr(clone, "layers", [clone])
    rng_states = [
        (layer, copy.deepcopy(layer.rng.bit_generator.state))
        for layer in layers
        if isinstance(getattr(layer, "rng", None), np.random.Generator)
    ]

    def evaluate(inputs: np.ndarray) -> float:
        for layer, state in rng_states:
            layer.rng.bit_generator.state = copy.deepcopy(state)
        out = (
            clone._forward(inputs, training)
            if hasattr(clone, "_forward")
            else clone.forward(inputs, training=training)
        )
        value = float(loss_fn.forward(out, y))
        if hasattr(clone, "penalty"):
            value += float(clone.penalty())
        return value

    base_loss = evaluate(X64)
    floor = 10 * np.finfo(np.float64).eps * max(abs(base_loss), 1.0) / eps
    dX = (
        clone._backward(loss_fn.backward(), need_dX=True)
        if hasattr(clone, "_backward")
        else clone.backward(loss_fn.backward())
    )
    analytic = {k: np.array(v, dtype=np.float64) for k, v in clone.grads().items()}
    report = GradCheckReport(eps=eps, tolerance=tolerance, floor=floor)
    for name, param in clone.params().items():
        indices = _choose(param.shape, max_entries, generator)
        numeric = numerical_gradient(lambda: evaluate(X64), param, eps, indices)
        report.rows.append(_row(name, analytic[name], numeric, indices, tolerance, floor))
    if check_input and dX is not None:
        dX = np.array(dX, dtype=np.float64)
        indices = _choose(X64.shape, max_entries, generator)
        numeric = numerical_gradient(lambda: evaluate(X64), X64, eps, indices)
        report.rows.append(_row("input X", dX, numeric, indices, tolerance, floor))
    return report


def _choose(
    shape: tuple[int, ...], max_entries: int | None, rng: np.random.Generator
) -> list[tuple[int, ...]]:
    everything = list(np.ndindex(shape))
    if max_entries is None or len(everything) <= max_entries:
        return everything
    picked = rng.choice(len(everything), size=max_entries, replace=False)
    return [everything[i] for i in sorted(picked)]


def _row(
    name: str,
    analytic: np.ndarray,
    numeric: np.ndarray,
    indices: list[tuple[int, ...]],
    tolerance: float,
    floor: float,
) -> GradCheckRow:
    worst, worst_index = 0.0, indices[0] if indices else ()
    failing = 0
    for index in indices:
        a, n = float(analytic[index]), float(numeric[index])
        error = abs(a - n) / max(abs(a) + abs(n), 1e-12)
        if error >= tolerance and abs(a - n) >= floor:
            failing += 1
        if error > worst or (worst == 0.0 and index == worst_index):
            worst, worst_index = error, index
    return GradCheckRow(
        name=name,
        shape=tuple(analytic.shape),
        checked=len(indices),
        max_abs_grad=float(np.abs(analytic).max()) if analytic.size else 0.0,
        max_rel_error=worst,
        worst_index=tuple(int(i) for i in worst_index),
        analytic=float(analytic[worst_index]) if indices else 0.0,
        numerical=float(numeric[worst_index]) if indices else 0.0,
        failing=failing,
    )
