"""The data half of ``fit``: features and targets checked, labels coded, weights and the
validation rows set, before anything changes."""

from __future__ import annotations

from typing import Any

import numpy as np

from fcnet._inputs import fit_encoder_on, infer_loss, prepare_inputs, unfitted_encoder
from fcnet._validation import check_finite_rows, check_number
from fcnet.data import encode_labels, encode_with_classes, split_rows
from fcnet.losses import check_sample_weight, get_loss
from fcnet.sources import Source
from fcnet.train.batches import Batches
from fcnet.train.stream import ArrayRows, SourceRows, StreamBatches


class DataMixin:
    """Sets ``X, Y, weights, val, train_idx, task, classes`` of a Trainer."""

    def set_data(
        self,
        X: Any,
        y: Any,
        sample_weight: Any,
        class_weight: Any,
        validation_data: Any,
    ) -> None:
        model, loss = self.model, self.loss
        if isinstance(X, Source):  # streamed: the targets read whole, the features by groups
            if not getattr(getattr(model, "preprocessing", None), "fitted", True):
                raise RuntimeError(
                    "fit: a data source is read one group of rows at a time, so the model's "
                    "TabularEncoder cannot be fitted on it; fit the encoder on a sample first."
                )
            if y is not None:
                raise TypeError(
                    f"fit: X is a data source ({type(X).__name__}), whose targets come from it; "
                    f"expected y=None, got {type(y).__name__}."
                )
            first = self._prepare_block(X.read_group(0, model.dtype)[:1])
            y = X.targets()
        else:
            # an encoder fit fits learns from the training rows alone: once they are drawn
            self._raw_features = None
            if (
                unfitted_encoder(model) is not None
                and validation_data is None
                and self.validation_split > 0
                and model.n_out is not None
            ):
                self._raw_features = X
            X = first = X if self._raw_features is not None else prepare_inputs(model, X, "fit")
        m = len(X)
        y_arr = np.asarray(y) if not isinstance(y, np.ndarray) else y
        if y_arr.ndim == 0 or len(y_arr) != m:
            got = "a scalar" if y_arr.ndim == 0 else f"{len(y_arr)} rows"
            raise ValueError(f"fit: y has {got} but X has {m}.")
        if y_arr.dtype.kind == "f":
            check_finite_rows("fit", "y", y_arr)
        # the classes (and the task) reach the model only when every check has passed (run)
        y_arr, self.classes = labels_to_codes(model.classes, y_arr)
        n_out = model.n_out
        if n_out is None:
            n_out = model._forward(first[:1], training=False).shape[1]
        if loss is None:
            loss = self.loss = get_loss(infer_loss(y_arr, n_out))
        task = getattr(loss, "task", "regression")
        if task == "classification" and n_out < 2:
            raise ValueError(
                f"fit: loss {getattr(loss, 'name', type(loss).__name__)!r} needs one output per "
                f"class (at least 2), but the model has {n_out}; for two classes and one output "
                "use loss='binary_cross_entropy'."
            )
        Y = (
            loss.prepare_targets(y_arr, n_out, model.dtype)
            if hasattr(loss, "prepare_targets")
            else y_arr
        )
        if task == "classification" and Y.ndim == 1:
            present = np.unique(Y)
            if len(present) < 2:
                raise ValueError(
                    f"fit: y holds one class only ({self._label(present[0])}); "
                    "a classifier needs at least two."
                )
        if task == "binary" and Y.ndim == 2 and Y.shape[1] == 1 and len(Y) > 1:
            low, high = float(Y.min()), float(Y.max())
            if low == high and low in (0.0, 1.0):
                raise ValueError(
                    f"fit: y holds one class only ({self._label(int(low))}); "
                    "a binary classifier needs both 0 and 1."
                )
        weights = None
        if sample_weight is not None:
            weights = check_sample_weight("fit", sample_weight, m)
        if class_weight is not None:
            per_class = class_weights(class_weight, Y, task)
            weights = per_class if weights is None else weights * per_class
        if weights is not None and not weights.any():
            raise ValueError("fit: every sample has weight 0; at least one must be > 0.")
        self.X, self.Y, self.weights = X, Y, weights
        self.val: tuple[np.ndarray, np.ndarray] | None = None
        # validation_data takes precedence over validation_split
        self.val_from_split = validation_data is None and self.validation_split > 0
        if validation_data is not None:
            if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
                raise TypeError("fit: expected validation_data as a pair (X_val, y_val).")
            Xv, yv = validation_data
            if isinstance(Xv, Source):
                yv = Xv.targets() if yv is None else yv
                Xv = SourceRows(Xv, np.arange(len(Xv)))
            else:
                Xv = prepare_inputs(model, Xv, "fit (validation_data)")
            yv = np.asarray(yv)
            if self.classes is not None:
                yv = encode_with_classes(yv, self.classes, "fit (validation_data)")
            if len(yv) != len(Xv):
                raise ValueError(
                    f"fit: validation y has {len(yv)} rows but validation X has {len(Xv)}."
                )
            self.val = (Xv, loss.prepare_targets(yv, n_out, model.dtype))
            self.train_idx = np.arange(m)
        elif self.val_from_split and isinstance(X, Source):  # whole row groups held out
            self._hold_out(X.hold_out(self.validation_split, self.rng)[0])
        elif self.val_from_split:
            stratify = Y if task == "classification" and Y.ndim == 1 else None
            train_idx, val_idx = split_rows(m, self.validation_split, self.rng, labels=stratify)
            if len(train_idx) == 0 or len(val_idx) == 0:
                raise ValueError(
                    f"fit: validation_split={self.validation_split} leaves "
                    f"{len(train_idx)} training and {len(val_idx)} validation rows of {m}."
                )
            self._encode_for(train_idx)
            self._hold_out(train_idx)
        else:
            self.train_idx = np.arange(m)
        if len(self.train_idx) < self.min_rows:
            raise ValueError(
                f"fit: the model needs at least {self.min_rows} training rows per batch "
                f"(it has a normalization layer), got {len(self.train_idx)} training rows."
            )
        self.task = task

    def _label(self, code: Any) -> Any:
        """A class code as the user wrote it (a name when fit encoded names)."""
        return code if self.classes is None else self.classes[int(code)]

    def _commit_labels(self) -> None:
        self.model.classes = self.classes
        if self.model.task is None or getattr(self.loss, "task", None) is not None:
            self.model.task = self.task

    _raw_features: Any = None  # X as given, while the encoder waits for the training rows
    _encoded_for: Any = None  # the training rows the encoder was fitted on

    def _encode_for(self, train_idx: np.ndarray) -> None:
        """Fit the waiting encoder on the rows ``train_idx`` and encode X (again, for a
        checkpoint whose held-out rows are others); nothing when no encoder waits."""
        if self._raw_features is None:
            return
        if self._encoded_for is not None and np.array_equal(self._encoded_for, train_idx):
            return
        self.X = fit_encoder_on(self.model, self._raw_features, train_idx)
        self._encoded_for = np.array(train_idx)
        self._fingerprint = None  # the data's digest is that of the encoded rows

    def _hold_out(self, train_idx: np.ndarray) -> None:
        """Train on the rows ``train_idx`` (sorted) and validate on all the others: the
        validation_split, whether drawn now or restored from a checkpoint."""
        held_out = np.ones(len(self.X), dtype=bool)
        held_out[train_idx] = False
        self.train_idx = train_idx
        if isinstance(self.X, Source):
            self.val = (SourceRows(self.X, np.flatnonzero(held_out)), self.Y[held_out])
        elif isinstance(self.X, np.memmap):  # predicted by blocks, never copied whole
            self.val = (ArrayRows(self.X, np.flatnonzero(held_out)), self.Y[held_out])
        else:
            self.val = (self.X[held_out], self.Y[held_out])

    def _prepare_block(self, block: np.ndarray) -> np.ndarray:
        """A group of a source's rows made ready for the first layer (checked, scaled)."""
        return prepare_inputs(self.model, block, "fit")

    def _make_batches(self, ops: Any) -> Any:
        """The gather of each step's rows: from memory, or streamed from a source."""
        if isinstance(self.X, Source):
            defer = self.comm.size > 1  # a bad group must not stop one process alone
            return StreamBatches(
                ops, self.X, self.Y, self.weights, self.model.dtype, self._prepare_block, defer
            )
        return Batches(ops, self.X, self.Y, self.weights)


def labels_to_codes(
    classes: np.ndarray | None, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(codes, classes)``: labels coded by the model's ``classes`` when it has them; else
    string or boolean labels become 0..k-1 with their classes, and other targets stay as is."""
    if classes is not None:
        return encode_with_classes(y, classes, "fit"), classes
    if y.ndim == 1 and (y.dtype.kind in "USb" or y.dtype == object):
        return encode_labels(y)
    return y, None


def class_weights(class_weight: Any, Y: np.ndarray, task: str) -> np.ndarray:
    if task == "classification":
        labels = Y if Y.ndim == 1 else Y.argmax(axis=1)
    elif task == "binary" and Y.shape[1] == 1:
        labels = Y[:, 0].astype(np.int64)
    else:
        raise ValueError(f"fit: class_weight needs class labels, but the loss is for {task}.")
    present, counts = np.unique(labels, return_counts=True)
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(
                f"fit: expected class_weight 'balanced' or a dict, got {class_weight!r}."
            )
        per_class = len(labels) / (len(present) * counts.astype(np.float64))
        table = dict(zip(present.tolist(), per_class.tolist(), strict=True))
    elif isinstance(class_weight, dict):
        table = {}
        for label, weight in class_weight.items():
            table[int(label)] = check_number("fit", f"class_weight[{label!r}]", weight, low=0.0)
        missing = sorted(set(present.tolist()) - set(table))
        for label in missing:
            table[label] = 1.0
    else:
        raise TypeError(
            f"fit: expected class_weight 'balanced' or a dict, got {type(class_weight).__name__}."
        )
    lookup = np.ones(int(labels.max()) + 1)
    for label, weight in table.items():
        if 0 <= label < len(lookup):
            lookup[label] = weight
    return lookup[labels]
