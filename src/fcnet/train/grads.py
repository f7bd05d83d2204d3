"""The gradients a step computes, as views of one flat buffer per dtype.

Each trainable layer's gradient arrays become views of one contiguous buffer (per dtype, in layer
order), so a step can sum them across processes with one call (``reduce``), check them for NaN
or inf in one pass and scale them for clipping in one pass. fcnet's layers write their gradients
in place and are handed the views (``bind_grads``); a layer of the user's may assign new arrays in
every ``backward`` (``self.dW = X.T @ dZ``), and its gradients are copied into the buffer after
each backward pass instead (:meth:`GradBuffer.collect`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


class GradBuffer:
    """The trainable parameters of a model and their gradients, these in flat buffers.

    Parameters
    ----------
    model : Sequential
    skip : frozenset of int
        Layers left out (those the fused SGD route updates from dZ).
    control : int
        Extra elements at the end of the first flat buffer, reduced with the gradients in the
        same call: data-parallel training sends each step's loss and flags in them.

    Attributes
    ----------
    params, grads : dict of str to array
        Keyed ``"<layer>.<name>"``, as ``model.params()``; each gradient a view of a flat buffer.
    flats : list of arrays
        One flat buffer per dtype (what a reduction over processes sums).
    control : array or None
        The ``control`` extra elements (a view of the first flat buffer), not a gradient.
    """

    def __init__(self, model: Any, skip: frozenset[int] = frozenset(), control: int = 0) -> None:
        ops = model.ops
        self.ops = ops
        self.params: dict[str, Any] = {}
        self.grads: dict[str, Any] = {}
        self._copied: list[tuple[Any, dict[str, Any]]] = []  # (layer, its views) to copy into
        layers = [
            (i, layer)
            for i, layer in enumerate(model.layers)
            if getattr(layer, "trainable", True) and i not in skip and layer.grads()
        ]
        sizes: dict[np.dtype, int] = {}
        for _, layer in layers:
            for g in layer.grads().values():
                sizes[g.dtype] = sizes.get(g.dtype, 0) + g.size
        if control and not sizes:  # nothing trainable: the control elements alone
            sizes[np.dtype(np.float64)] = 0
        self.flats = [ops.zeros(size, dtype) for dtype, size in sizes.items()]
        # the gradients alone, without the control elements (the same arrays when there are none)
        self._parts = list(self.flats)
        self.control = None
        if control:
            first = self.flats[0]
            self.flats[0] = ops.zeros(first.size + control, first.dtype)
            self._parts[0] = self.flats[0][: first.size]
            self.control = self.flats[0][first.size :]
        by_dtype = dict(zip(sizes, self._parts, strict=True))
        offsets = dict.fromkeys(sizes, 0)
        for i, layer in layers:
            layer_grads = layer.grads()
            views = {}
            for name, g in layer_grads.items():
                start = offsets[g.dtype]
                offsets[g.dtype] = start + g.size
                view = by_dtype[g.dtype][start : start + g.size].reshape(g.shape)
                view[...] = g
                views[name] = view
            if vars(type(layer)).get("grads_in_place", False) and hasattr(layer, "bind_grads"):
                layer.bind_grads(views)
            else:
                self._copied.append((layer, views))
            for name, value in layer.params().items():
                self.params[f"{i}.{name}"] = value
                self.grads[f"{i}.{name}"] = views[name]

    def collect(self) -> None:
        """Copy the gradients of the layers that do not write into the buffer (see above)."""
        for layer, views in self._copied:
            for name, g in layer.grads().items():
                views[name][...] = g

    def sum_of_squares(self, out: Any = None) -> Any:
        """sum of g^2 over every gradient: a float on the host, else into ``out`` (device)."""
        ops = self.ops
        if ops.host_checks:
            return sum((ops.sum_of_squares(flat) for flat in self._parts), 0.0)
        total = ops.zeros(1, np.float64) if out is None else out
        if len(self._parts) == 1:  # one dtype: one kernel
            return ops.sum_of_squares(self._parts[0], total)
        total[...] = 0
        for flat in self._parts:
            total += ops.sum_of_squares(flat, self._scratch())
        return total

    def _scratch(self) -> Any:
        """One float64 element: the sum of squares is accumulated in float64 whatever the
        gradients' dtype."""
        scratch = getattr(self, "_squares", None)
        if scratch is None:
            scratch = self._squares = self.ops.empty(1, np.float64)
        return scratch

    def clip(self, sumsq: Any, clip_norm: float) -> None:
        """Global-norm clipping as ``torch.nn.utils.clip_grad_norm_``: every gradient times
        c / (||g|| + 1e-6) when that is below 1."""
        if isinstance(sumsq, float):
            factor = clip_norm / (math.sqrt(sumsq) + 1e-6)
            if factor < 1.0:
                for flat in self._parts:
                    flat *= factor
            return
        xp = self.ops.xp
        factor = xp.sqrt(sumsq, out=sumsq)
        factor += 1e-6
        xp.divide(clip_norm, factor, out=factor)
        xp.minimum(factor, 1.0, out=factor)
        for flat in self._parts:
            flat *= factor.astype(flat.dtype, copy=False)


def lr_scale(model: Any) -> dict[str, float] | None:
    """``{key: lr_mult}`` for the parameters of layers with an ``lr_mult`` other than 1."""
    scale = {}
    for i, layer in enumerate(model.layers):
        mult = getattr(layer, "lr_mult", 1.0)
        if mult != 1.0:
            for name in layer.params():
                scale[f"{i}.{name}"] = float(mult)
    return scale or None


def largest_product(model: Any, rows: int) -> int:
    """Multiply-adds of the largest matrix product in a step of ``rows`` samples (X W of the
    widest layer); the BLAS thread count is chosen from it."""
    widths = [
        layer.n_in * layer.n_out
        for layer in model.layers
        if isinstance(getattr(layer, "n_in", None), int)
        and isinstance(getattr(layer, "n_out", None), int)
    ]
    return rows * max(widths, default=0)
