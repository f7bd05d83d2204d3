"""Sequential: layers applied in order, backpropagated in reverse.

Forward: A_0 = X, A_l = layer_l(A_(l-1)), Y_hat = A_L.
Backward: dA_L = dL/dY_hat, dA_(l-1) = layer_l.backward(dA_l), which also fills each layer's
parameter gradients. ``backward`` overwrites gradients: there is no accumulation and no
``zero_grad``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from fcnet import tracing, train
from fcnet._inference import predict_raw
from fcnet._inputs import prepare_inputs
from fcnet._layer_config import _check_widths, _checked_classes, layer_from_config
from fcnet._ops import NumpyOps, default_ops, get_ops
from fcnet._probabilities import sigmoid, softmax_rows
from fcnet._validation import as_float_matrix, check_positive_int
from fcnet.activations import Activation
from fcnet.backend import resolve_dtype
from fcnet.layers import supports_skipping_dX

__all__ = ["Sequential", "layer_from_config", "sigmoid", "softmax_rows"]


_PREDICT_CHUNK = 4096


class Sequential:
    """A stack of layers: ``Y_hat = f_L(... f_1(X))``.

    Parameters
    ----------
    layers : sequence of layers
        Objects with ``forward``, ``backward``, ``params`` and ``grads`` (see
        :mod:`fcnet.layers`).

    Attributes
    ----------
    layers : list
    classes : ndarray or None
        Class labels, when the model was trained on labels that were not 0..k-1 (set by the
        command line or the user); ``predict`` maps back to them.
    preprocessing : object or None
        A scaler or a :class:`~fcnet.preprocessing.TabularEncoder`, applied by ``fit``,
        ``predict*`` and ``evaluate`` before the first layer and saved with the model (an
        encoder never fitted is fitted by ``fit`` on its training data).
    feature_names : list of str or None
        The columns of the numeric table ``fit`` was given; later tables are matched by name.
    """

    def __init__(self, layers: Iterable[Any]) -> None:
        layers = list(layers)
        if not layers:
            raise ValueError("Sequential: expected at least one layer, got none.")
        for i, layer in enumerate(layers):
            for method in ("forward", "backward", "params", "grads"):
                if not callable(getattr(layer, method, None)):
                    raise TypeError(
                        f"Sequential: layer {i} ({type(layer).__name__}) has no {method}() method."
                    )
        _check_widths(layers)
        self.layers = layers
        self.classes: np.ndarray | None = None
        self.preprocessing: Any = None
        self.task: str | None = None  # "classification", "binary" or "regression", set by fit
        self.feature_names: list[str] | None = None  # the columns of a table given to fit
        self.stop_training = False

    # --- shapes ----------------------------------------------------------------------------
    @property
    def n_in(self) -> int | None:
        """Width of the input, from the first layer that declares one."""
        for layer in self.layers:
            if hasattr(layer, "n_in"):
                return int(layer.n_in)
        return None

    @property
    def n_out(self) -> int | None:
        """Width of the output, from the last layer that declares one."""
        for layer in reversed(self.layers):
            if hasattr(layer, "n_out"):
                return int(layer.n_out)
        return None

    @property
    def dtype(self) -> np.dtype:
        """The float dtype of the parameters (float32 unless built otherwise)."""
        for array in self.params().values():
            return array.dtype
        for layer in self.layers:
            if hasattr(layer, "dtype"):
                return resolve_dtype(layer.dtype)
        return resolve_dtype(None)

    @property
    def ops(self) -> Any:
        """The array operations every layer computes with (:mod:`fcnet._ops`); the CPU's unless
        the model was moved with :meth:`to`."""
        found = [layer.ops for layer in self.layers if getattr(layer, "ops", None) is not None]
        if not found:
            return default_ops()
        first = found[0]
        if any(ops is not first and type(ops) is not type(first) for ops in found):
            kinds = sorted({type(ops).__name__ for ops in found})
            raise RuntimeError(
                f"Sequential: expected every layer on one device, got layers on {kinds}; "
                "move the model with model.to(...)."
            )
        return first

    def to(self, device: Any) -> Sequential:
        """Move every layer's arrays to ``device`` (``"cpu"``, ``"gpu"``, or an
        :class:`fcnet._ops.Ops`) and compute there from now on; returns the model. ``fit``,
        ``predict`` and ``evaluate`` still take and return host NumPy arrays.

        Raises
        ------
        RuntimeError
            For ``"gpu"`` when CuPy or a GPU is missing.
        """
        ops = get_ops(device)
        for i, layer in enumerate(self.layers):
            if hasattr(layer, "to"):
                layer.to(ops)
            elif type(ops) is not NumpyOps:
                raise TypeError(
                    f"Sequential.to: layer {i} ({type(layer).__name__}) has no to() method, so "
                    f"it cannot compute on {type(ops).__name__}."
                )
        return self

    # --- the two passes ----------------------------------------------------------------------
    def forward(self, X: Any, training: bool = False) -> np.ndarray:
        """Y_hat from X (m, n_in). Validates X and returns a fresh array.

        ``training=True`` turns dropout on (and batch statistics in BatchNorm).
        """
        X = as_float_matrix("Sequential", "X", X, self.dtype, self.n_in)
        return self._forward(X, training).copy()

    def _forward(self, X: np.ndarray, training: bool) -> np.ndarray:
        A = X
        for layer in self.layers:
            A = layer.forward(A, training=training)
        return A

    def backward(self, dY: np.ndarray) -> np.ndarray:
        """Fill every layer's gradients from dY = dL/dY_hat; return dL/dX (a fresh array)."""
        dY = np.asarray(dY)
        return self._backward(dY, need_dX=True).copy()

    def _backward(
        self, dY: np.ndarray, need_dX: bool, no_dW: frozenset[int] = frozenset()
    ) -> np.ndarray | None:
        """Backward through every layer; the layers numbered in ``no_dW`` (Dense layers that
        ``fit`` updates with :meth:`Dense.sgd_step`) leave dW out."""
        dA = dY
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            layer = self.layers[i]
            skip_dX = i == 0 and not need_dX and supports_skipping_dX(layer)
            if i in no_dW:
                dA = layer.backward(dA, need_dX=not skip_dX, need_dW=False)
            elif skip_dX:
                dA = layer.backward(dA, need_dX=False)
            else:
                dA = layer.backward(dA)
        return dA

    # --- parameters --------------------------------------------------------------------------
    def params(self) -> dict[str, np.ndarray]:
        """``{"0.W": W, "0.b": b, ...}``: live parameter arrays, keyed ``"<layer>.<name>"``."""
        return {
            f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.params().items()
        }

    def grads(self) -> dict[str, np.ndarray]:
        """Gradients with the keys of :meth:`params`, filled by the last :meth:`backward`."""
        return {
            f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.grads().items()
        }

    def penalty(self) -> float:
        """Sum of the layers' regularization terms (l1/l2), added to the training loss."""
        return sum(float(layer.penalty()) for layer in self.layers if hasattr(layer, "penalty"))

    def n_params(self) -> int:
        """Number of parameters."""
        return int(sum(p.size for p in self.params().values()))

    # --- using the model ---------------------------------------------------------------------
    def predict(self, X: Any, *, batch_size: int = _PREDICT_CHUNK) -> np.ndarray:
        """Predictions for X: class labels for a classifier, outputs for a regressor.

        A model trained with ``SoftmaxCrossEntropy`` (or whose ``task`` is "classification")
        returns ``argmax`` labels, mapped to :attr:`classes` when set; one trained with
        ``BinaryCrossEntropy`` returns 0/1 per output; otherwise the raw outputs. Runs in chunks
        of at most ``batch_size`` rows and keeps no caches.
        """
        outputs = self.predict_output(X, batch_size=batch_size)
        return self._to_labels(outputs)

    def predict_proba(self, X: Any, *, batch_size: int = _PREDICT_CHUNK) -> np.ndarray:
        """Class probabilities (m, k): softmax of the logits (sigmoid for a binary model)."""
        outputs = self.predict_output(X, batch_size=batch_size)
        if self.task == "binary":
            return sigmoid(outputs)
        return softmax_rows(outputs)

    def predict_output(self, X: Any, *, batch_size: int = _PREDICT_CHUNK) -> np.ndarray:
        """The raw network output Y_hat (m, n_out), computed in chunks; no caches are kept."""
        return self._outputs(X, batch_size, "predict")

    def _outputs(self, X: Any, batch_size: int, who: str) -> np.ndarray:
        """Validate X (errors name ``who``) and compute Y_hat in chunks."""
        dtype = self.dtype
        batch_size = check_positive_int(who, "batch_size", batch_size)
        if self.preprocessing is None and isinstance(X, np.ndarray) and X.dtype == dtype:
            # data used as is is scanned for NaN/inf block by block, while each block is in
            # cache; data that needs a copy is scanned by as_float_matrix, once
            used_as_is = X.flags.c_contiguous
            X = as_float_matrix(who, "X", X, dtype, self.n_in, check_finite=False)
            return self._predict_raw(X, batch_size, check_finite=who if used_as_is else None)
        X = prepare_inputs(self, X, who)
        return self._predict_raw(X, batch_size)

    def _predict_raw(
        self, X: np.ndarray, batch_size: int, check_finite: str | None = None
    ) -> np.ndarray:
        """Y_hat for validated X in blocks of rows (see :func:`fcnet._inference.predict_raw`)."""
        return predict_raw(self, X, batch_size, check_finite)

    def release_caches(self) -> None:
        """Forget the caches (X, Z, A) and scratch buffers of every layer."""
        for layer in self.layers:
            for name in ("X", "Z", "A", "dZ", "mask"):
                if hasattr(layer, name):
                    setattr(layer, name, None)
            buffers = getattr(layer, "_buffers", None)
            if buffers is not None:
                buffers.clear()
            activation = getattr(layer, "activation", None)
            if isinstance(activation, Activation):
                activation._buffers.clear()

    def _to_labels(self, outputs: np.ndarray) -> np.ndarray:
        task = self.task
        if task == "classification":
            labels = outputs.argmax(axis=1)
            return labels if self.classes is None else self.classes[labels]
        if task == "binary":
            labels = (outputs > 0).astype(np.int64)
            if self.classes is not None and outputs.shape[1] == 1:
                return self.classes[labels[:, 0]]
            return labels
        return outputs

    def fit(self, X: Any, y: Any, **kwargs: Any) -> Any:
        """Train; see :func:`fcnet.fit` for every option. Returns a History."""
        return train.fit(self, X, y, **kwargs)

    def evaluate(self, X: Any, y: Any, **kwargs: Any) -> dict[str, float]:
        """Loss and metrics on (X, y); see :func:`fcnet.evaluate`."""
        return train.evaluate(self, X, y, **kwargs)

    def explain(self, X: Any, y: Any, loss: Any = "mse", **kwargs: Any) -> str:
        """A step-by-step trace of one forward pass, backward pass and SGD step, with numbers.

        See :func:`fcnet.explain.explain`.
        """
        return tracing.explain(self, X, y, loss, **kwargs)

    # --- description -------------------------------------------------------------------------
    def summary(self) -> str:
        """A table of layers: type, output shape, parameter shapes and counts."""
        rows = [("#", "layer", "output", "parameters", "count")]
        width: int | None = self.n_in
        for i, layer in enumerate(self.layers):
            width = int(getattr(layer, "n_out", width) or 0) or width
            shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in layer.params().items()) or "-"
            count = sum(v.size for v in layer.params().values())
            rows.append((str(i), repr(layer), f"(m, {width})", shapes, f"{count:,}"))
        total = self.n_params()
        widths = [max(len(r[c]) for r in rows) for c in range(5)]
        line = "  ".join("-" * w for w in widths)
        text = [
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in rows
        ]
        text.insert(1, line)
        text.append(line)
        text.append(f"total parameters: {total:,} ({self.dtype.name})")
        return "\n".join(text)

    def get_config(self) -> dict[str, Any]:
        """The architecture as JSON values: each layer's class name and config."""
        layers = []
        for layer in self.layers:
            if not hasattr(layer, "get_config"):
                raise TypeError(
                    f"Sequential: layer {type(layer).__name__} has no get_config(); "
                    "it cannot be saved."
                )
            layers.append({"type": type(layer).__name__, "config": layer.get_config()})
        config: dict[str, Any] = {"layers": layers}
        if self.task:
            config["task"] = self.task
        if self.classes is not None:
            config["classes"] = self.classes.tolist()
        if self.preprocessing is not None:
            config["preprocessing"] = self.preprocessing.get_config()
        if self.feature_names is not None:
            config["feature_names"] = list(self.feature_names)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], dtype: Any = None) -> Sequential:
        """Rebuild the architecture (with freshly initialised weights) from :meth:`get_config`."""
        layers = [layer_from_config(entry, dtype) for entry in config["layers"]]
        model = cls(layers)
        task = config.get("task")
        if task:
            if task not in ("classification", "binary", "regression"):
                raise ValueError(
                    "Sequential: expected task 'classification', 'binary' or 'regression', "
                    f"got {task!r}."
                )
            model.task = task
        classes = config.get("classes")
        if classes is not None:
            model.classes = _checked_classes(classes, model)
        if config.get("preprocessing") is not None:
            from fcnet.preprocessing import scaler_from_config

            model.preprocessing = scaler_from_config(config["preprocessing"])
        names = config.get("feature_names")
        if names is not None:
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise ValueError(
                    f"Sequential: expected feature_names as a list of strings, got {names!r}."
                )
            if model.n_in is not None and len(names) != model.n_in:
                raise ValueError(
                    f"Sequential: {len(names)} feature_names for a first layer of "
                    f"{model.n_in} inputs."
                )
            model.feature_names = names
        return model

    def __repr__(self) -> str:
        inner = ",\n".join(f"    {layer!r}" for layer in self.layers)
        return f"Sequential([\n{inner},\n])"

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int) -> Any:
        return self.layers[index]
