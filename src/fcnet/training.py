"""The training loop: mini-batches, validation, metrics, schedules, callbacks, checkpoints.

One step, for a batch (X_b, y_b) of m rows::

    Y_hat = model.forward(X_b, training=True)
    L     = loss(Y_hat, y_b)  (+ the layers' l1/l2 penalty)
    dY    = dL/dY_hat                      (carries 1/m, or w_i / sum w)
    model.backward(dY)                     (dX of the first layer is skipped)
    clip the global gradient norm          (if clip_norm)
    optimizer.step(params, grads)

With plain SGD (no momentum) and no ``clip_norm``, the Dense layers skip dW in the backward
pass and apply ``W <- W - lr X^T dZ`` with one matrix product each once it is over
(:meth:`fcnet.Dense.sgd_step`): the same step, without storing dW and reading it back, so
``fit`` leaves their ``dW`` as it was (``model.backward`` fills it). That the update is finite
is then shown by a bound rather than by a check of dW (see ``_DenseSGD``).

Guarantees: the same ``rng`` gives bit-identical parameters; bad input raises before any
parameter changes; a non-finite loss or gradient raises :class:`TrainingDiverged` with the
parameters of the last finite state; Ctrl-C / SIGTERM finish the current step and return.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fcnet import _blas
from fcnet._inputs import infer_loss, prepare_inputs
from fcnet._random import as_generator
from fcnet._validation import (
    check_finite_rows,
    check_number,
    check_positive_int,
)
from fcnet.backend import blas_threads, blas_threads_for
from fcnet.checkpoint import CheckpointMixin
from fcnet.data import encode_labels, encode_with_classes, split_rows
from fcnet.layers import Dense
from fcnet.losses import Loss, check_sample_weight, get_loss
from fcnet.network import sigmoid, softmax_rows
from fcnet.optimizers import SGD, Optimizer, get_optimizer


class TrainingDiverged(FloatingPointError):
    """A loss or gradient became NaN or inf during ``fit``.

    Attributes
    ----------
    epoch, batch : int
        Where it happened (0-based).
    history : History
        The epochs completed before it.
    """

    def __init__(self, message: str, epoch: int, batch: int, history: History) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.batch = batch
        self.history = history


@dataclass
class History:
    """Per-epoch values recorded by ``fit``.

    Attributes
    ----------
    history : dict of str to list of float
        ``"loss"``, ``"lr"``, each metric, and ``"val_..."`` for validation values.
    epoch : list of int
        The epochs (0-based) the lists refer to.
    interrupted : bool
        True when Ctrl-C or SIGTERM ended training early.
    stopped_early : bool
        True when a callback (e.g. EarlyStopping) ended training.
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    epoch: list[int] = field(default_factory=list)
    interrupted: bool = False
    stopped_early: bool = False

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        """Record one epoch's values."""
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "history": self.history,
            "epoch": self.epoch,
            "interrupted": self.interrupted,
            "stopped_early": self.stopped_early,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Inverse of :meth:`to_dict`."""
        return cls(
            history={k: list(v) for k, v in data.get("history", {}).items()},
            epoch=list(data.get("epoch", [])),
            stopped_early=bool(data.get("stopped_early", False)),
        )

    def __repr__(self) -> str:
        keys = ", ".join(self.history)
        return f"History(epochs={len(self.epoch)}, keys=[{keys}], interrupted={self.interrupted})"


def fit(
    model: Any,
    X: Any,
    y: Any,
    *,
    loss: str | Loss | None = None,
    optimizer: str | Optimizer = "adam",
    lr: float | None = None,
    epochs: int = 10,
    batch_size: int = 32,
    validation_split: float = 0.0,
    validation_data: tuple[Any, Any] | None = None,
    metrics: Sequence[Any] | None = None,
    class_weight: str | dict[Any, float] | None = None,
    sample_weight: Any = None,
    schedule: Any = None,
    clip_norm: float | None = None,
    callbacks: Sequence[Any] | None = None,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    shuffle: bool = True,
    rng: Any = None,
    verbose: int = 0,
) -> History:
    """Train ``model`` on (X, y) with mini-batch gradient descent.

    Parameters
    ----------
    model : Sequential
    X : array-like (m, n_in)
        Features; float32 C-contiguous data is used without a copy.
    y : array-like
        Integer labels (m,) for ``cross_entropy``; values (m,) or (m, n_out) otherwise.
    loss : str or Loss, optional
        Default: ``cross_entropy`` for integer labels and several outputs,
        ``binary_cross_entropy`` for 0/1 labels and one output, else ``mse``.
    optimizer : str or Optimizer, default "adam"
    lr : float, optional
        Overrides the optimizer's learning rate.
    epochs, batch_size : int
        The last partial batch of each epoch is used.
    validation_split : float in [0, 1)
        Fraction held out, shuffled (stratified by class for classification).
    validation_data : (X_val, y_val), optional
        Used instead of ``validation_split``.
    metrics : list of str or callables
        Names from :mod:`fcnet.metrics` (``"accuracy"``, ``"f1"``, ...); recorded per epoch for
        training (on the training batches as seen, with dropout) and validation.
    class_weight : "balanced" or dict, optional
        Per-class weights (classification); ``"balanced"`` is m / (k * count_c).
    sample_weight : array-like (m,), optional
        Per-sample weights, multiplied with the class weights.
    schedule : Schedule, optional
        Learning rate per epoch (:mod:`fcnet.schedules`); recorded as ``history["lr"]``.
    clip_norm : float, optional
        Rescale the gradients when their global L2 norm exceeds it.
    callbacks : list, optional
        Objects with optional ``on_train_begin(model)``, ``on_epoch_end(epoch, logs, model)``
        (returning True stops training) and ``on_train_end(model)``.
    checkpoint : path, optional
        Written atomically after every epoch (and on interrupt).
    resume : bool
        Continue from ``checkpoint`` when it exists. The checkpoint must have been written by a
        fit on the same architecture, batch size and training data (X, y and sample weights,
        checked through a digest); otherwise ``ValueError``, with the model left as it was.
    shuffle : bool
        Shuffle the training rows every epoch.
    rng : Generator or int, optional
        Source of the shuffles, the validation split and the dropout masks.
    verbose : int
        0 silent, 1 one line per epoch (to stderr).

    Returns
    -------
    History
    """
    trainer = _Trainer(
        model,
        loss=loss,
        optimizer=optimizer,
        lr=lr,
        epochs=epochs,
        batch_size=batch_size,
        validation_split=validation_split,
        metrics=metrics,
        schedule=schedule,
        clip_norm=clip_norm,
        callbacks=callbacks,
        checkpoint=checkpoint,
        resume=resume,
        shuffle=shuffle,
        rng=rng,
        verbose=verbose,
        y_for_loss=y,
    )
    trainer.set_data(X, y, sample_weight, class_weight, validation_data)
    return trainer.run()


class _Trainer(CheckpointMixin):
    """State of one ``fit`` call, split into steps small enough to read."""

    def __init__(self, model: Any, *, y_for_loss: Any, **options: Any) -> None:
        self.model = model
        self._updating = False  # True while the optimizer writes into the parameters
        # a layer such as BatchNorm declares how many rows a training batch needs
        self.min_rows = max(int(getattr(layer, "min_training_rows", 1)) for layer in model.layers)
        self.epochs = check_positive_int("fit", "epochs", options["epochs"])
        self.batch_size = check_positive_int("fit", "batch_size", options["batch_size"])
        split = options["validation_split"]
        self.validation_split = check_number(
            "fit", "validation_split", split, low=0.0, high=1.0, high_open=True
        )
        clip = options["clip_norm"]
        self.clip_norm = (
            None if clip is None else check_number("fit", "clip_norm", clip, low=0.0, low_open=True)
        )
        if options["verbose"] not in (0, 1, 2, False, True):
            raise ValueError(f"fit: expected verbose 0, 1 or 2, got {options['verbose']!r}.")
        self.verbose = int(options["verbose"])
        self.shuffle = bool(options["shuffle"])
        self.rng = as_generator(options["rng"], "fit")
        loss = options["loss"]
        if loss is None and model.n_out is not None:
            loss = infer_loss(y_for_loss, model.n_out)
        # None: inferred in set_data, once a forward pass has shown the output width
        self.loss = None if loss is None else get_loss(loss)
        lr = options["lr"]
        if lr is not None:
            lr = check_number("fit", "lr", lr, low=0.0, low_open=True)
        optimizer = options["optimizer"]
        # A passed optimizer object gets the lr override when an epoch starts, not here: a call
        # that fails validation must leave the optimizer as it was.
        self.optimizer = get_optimizer(optimizer, lr if isinstance(optimizer, str) else None)
        self.base_lr = float(self.optimizer.lr) if lr is None else lr
        self.schedule = _get_schedule(options["schedule"], self.epochs)
        self.metrics = _get_metrics(options["metrics"])
        self.callbacks = list(options["callbacks"] or [])
        for cb in self.callbacks:
            if not any(hasattr(cb, h) for h in ("on_epoch_end", "on_train_begin", "on_train_end")):
                raise TypeError(
                    f"fit: callback {type(cb).__name__} has none of on_train_begin, "
                    "on_epoch_end, on_train_end."
                )
        checkpoint = options["checkpoint"]
        if checkpoint is not None and not isinstance(checkpoint, str | Path):
            raise TypeError(
                f"fit: expected checkpoint to be a path, got {type(checkpoint).__name__}."
            )
        self.checkpoint = None if checkpoint is None else Path(checkpoint)
        if self.checkpoint is not None:
            model.get_config()  # a layer that cannot be saved fails now, not after an epoch
        self.resume = bool(options["resume"])
        if self.resume and self.checkpoint is None:
            raise ValueError("fit: resume=True needs checkpoint=PATH, got checkpoint=None.")
        self.history = History()
        self.start_epoch = 0
        self._gathered: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None
        self._epoch_seconds = 0.0

    # --- data ------------------------------------------------------------------------------
    def set_data(
        self,
        X: Any,
        y: Any,
        sample_weight: Any,
        class_weight: Any,
        validation_data: Any,
    ) -> None:
        model, loss = self.model, self.loss
        X = prepare_inputs(model, X, "fit")
        m = X.shape[0]
        y_arr = np.asarray(y) if not isinstance(y, np.ndarray) else y
        if y_arr.ndim == 0 or len(y_arr) != m:
            got = "a scalar" if y_arr.ndim == 0 else f"{len(y_arr)} rows"
            raise ValueError(f"fit: y has {got} but X has {m}.")
        if y_arr.dtype.kind == "f":
            check_finite_rows("fit", "y", y_arr)
        # the classes (and the task) reach the model only when every check has passed (run)
        y_arr, self.classes = _labels_to_codes(model.classes, y_arr)
        n_out = model.n_out
        if n_out is None:
            n_out = model._forward(X[:1], training=False).shape[1]
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
            per_class = _class_weights(class_weight, Y, task)
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
            Xv = prepare_inputs(model, validation_data[0], "fit (validation_data)")
            yv = np.asarray(validation_data[1])
            if self.classes is not None:
                yv = encode_with_classes(yv, self.classes, "fit (validation_data)")
            if len(yv) != len(Xv):
                raise ValueError(
                    f"fit: validation y has {len(yv)} rows but validation X has {len(Xv)}."
                )
            self.val = (Xv, loss.prepare_targets(yv, n_out, model.dtype))
            self.train_idx = np.arange(m)
        elif self.val_from_split:
            stratify = Y if task == "classification" and Y.ndim == 1 else None
            train_idx, val_idx = split_rows(m, self.validation_split, self.rng, labels=stratify)
            if len(train_idx) == 0 or len(val_idx) == 0:
                raise ValueError(
                    f"fit: validation_split={self.validation_split} leaves "
                    f"{len(train_idx)} training and {len(val_idx)} validation rows of {m}."
                )
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

    # --- the loop ----------------------------------------------------------------------------
    def _hold_out(self, train_idx: np.ndarray) -> None:
        """Train on the rows ``train_idx`` (sorted) and validate on all the others: the
        validation_split, whether drawn now or restored from a checkpoint."""
        held_out = np.ones(len(self.X), dtype=bool)
        held_out[train_idx] = False
        self.train_idx = train_idx
        self.val = (self.X[held_out], self.Y[held_out])

    def run(self) -> History:
        model = self.model
        saved = self._read_checkpoint()  # checked in full before anything changes
        self._commit_labels()
        self._assign_layer_rngs()
        progress = None if saved is None else self._restore(saved)
        if saved is not None and not self.history.stopped_early and self.start_epoch >= self.epochs:
            warnings.warn(
                f"fit: the checkpoint '{self.checkpoint}' already holds {self.start_epoch} "
                f"epoch(s) and epochs={self.epochs}: nothing more was trained, the model is that "
                f"of the checkpoint. Pass epochs > {self.start_epoch} to continue.",
                UserWarning,
                stacklevel=4,  # the caller of Sequential.fit
            )
        fused = _sgd_step_layers(model, self.optimizer, self.clip_norm)
        self.dense_sgd = _DenseSGD(fused) if fused else None
        self.no_dW = frozenset(fused)
        self.trainable = _trainable_params(model, skip=self.no_dW)
        self.lr_scale = _lr_scale(model)
        self._snapshot = {k: np.empty_like(v) for k, v in model.params().items()}
        for cb in self.callbacks:
            if hasattr(cb, "on_train_begin"):
                cb.on_train_begin(model)
        model.stop_training = False
        rows = min(self.batch_size, len(self.train_idx))
        threads = blas_threads_for(_largest_product(model, rows))
        with _InterruptGuard() as guard, blas_threads(threads):
            self._guard = guard
            # a run that a callback stopped is over: resuming it trains no further
            first = self.epochs if self.history.stopped_early else self.start_epoch
            for epoch in range(first, self.epochs):
                logs = self._run_epoch(epoch, progress)
                progress = None
                if logs is None:  # interrupted mid-epoch; checkpoint already written
                    self.history.interrupted = True
                    break
                self.history.append(epoch, logs)
                if self.schedule is not None and hasattr(self.schedule, "update"):
                    self.schedule.update(epoch, logs)
                stop = False
                for cb in self.callbacks:
                    if hasattr(cb, "on_epoch_end") and cb.on_epoch_end(epoch, logs, model):
                        stop = True
                stop = stop or bool(model.stop_training)
                if stop:  # before the checkpoint, which records it
                    self.history.stopped_early = True
                if self.checkpoint is not None:
                    self._write_checkpoint(epoch + 1)
                if self.verbose:
                    _print_epoch(epoch, self.epochs, logs, self._epoch_seconds)
                if guard.received is not None:
                    self.history.interrupted = True
                    break
                if stop:
                    break
        for cb in self.callbacks:
            if hasattr(cb, "on_train_end"):
                cb.on_train_end(model)
        model.release_caches()
        return self.history

    def _run_epoch(self, epoch: int, progress: dict[str, Any] | None) -> dict[str, float] | None:
        model, loss, opt = self.model, self.loss, self.optimizer
        started = time.perf_counter()
        opt.lr = (
            self.base_lr if self.schedule is None else float(self.schedule.lr(epoch, self.base_lr))
        )
        for key, value in model.params().items():
            np.copyto(self._snapshot[key], value)
        if self.dense_sgd is not None:
            self.dense_sgd.forget_bounds()  # a callback may have changed the weights
        if progress is not None:
            order = progress["order"]
            first_step = progress["step"]
            loss_sum, weight_sum = progress["loss_sum"], progress["weight_sum"]
            collected = progress["collected"]
        else:
            order = self.rng.permutation(self.train_idx) if self.shuffle else self.train_idx
            first_step, loss_sum, weight_sum = 0, 0.0, 0.0
            collected = None
        if self.metrics and collected is None:
            n_out = model.n_out or 1
            collected = np.empty((len(order), n_out), dtype=model.dtype)
        X, Y, weights = self.X, self.Y, self.weights
        bounds = _batch_bounds(len(order), self.batch_size, self.min_rows)
        if progress is None and self.shuffle:
            _sort_batches(order, bounds)
        n_steps = len(bounds) - 1
        x_buf, y_buf, w_buf = self._batch_buffers(int(np.diff(bounds).max()))
        self._penalized = any(
            getattr(layer, "l1", 0) or getattr(layer, "l2", 0) for layer in model.layers
        )
        for step in range(first_step, n_steps):
            start, stop = bounds[step], bounds[step + 1]
            idx = order[start:stop]
            n = len(idx)
            # mode="clip" skips a bounds pass (the indices are valid rows); the last, partial
            # batch uses the first n rows of the buffers
            full = n == len(x_buf)  # the same arrays every step (the BLAS finds them known)
            Xb = X.take(idx, axis=0, out=x_buf if full else x_buf[:n], mode="clip")
            Yb = Y.take(idx, axis=0, out=y_buf if full else y_buf[:n], mode="clip")
            if w_buf is not None:
                wb = weights.take(idx, out=w_buf if full else w_buf[:n], mode="clip")
            else:
                wb = None
            try:
                value, out = self._step(Xb, Yb, wb, epoch, step)
            except TrainingDiverged:
                raise
            except FloatingPointError as exc:  # the caller's np.errstate(...="raise")
                # an update stopped half-way cannot be undone: go back to the epoch's start
                self._diverged(
                    epoch,
                    step,
                    f"numpy raised FloatingPointError ({exc})",
                    None,
                    restore_epoch=self._updating,
                )
            if collected is not None:
                collected[start:stop] = out
            w = float(n) if wb is None else float(wb.sum())
            loss_sum += value * w
            weight_sum += w
            if self._guard.received is not None and step + 1 < n_steps:
                if self.checkpoint is not None:
                    self._write_checkpoint(
                        epoch,
                        progress={
                            "order": order,
                            "step": step + 1,
                            "loss_sum": loss_sum,
                            "weight_sum": weight_sum,
                            "collected": collected,
                        },
                    )
                return None
        logs: dict[str, float] = {"loss": loss_sum / weight_sum if weight_sum else float("nan")}
        if self.metrics:
            assert collected is not None
            logs.update(
                _metric_values(
                    self.metrics, Y[order], collected, getattr(loss, "task", "regression")
                )
            )
        if self.val is not None:
            outputs = model._predict_raw(self.val[0], 4096)
            val_logs = _scores(loss, outputs, self.val[1], self.metrics, None)
            logs.update({f"val_{k}": v for k, v in val_logs.items()})
        logs["lr"] = opt.lr
        self._epoch_seconds = time.perf_counter() - started
        return logs

    def _batch_buffers(self, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The arrays the batches are gathered into, allocated once per ``fit``."""
        buffers = self._gathered
        if buffers is None or len(buffers[0]) < rows:
            X, Y, weights = self.X, self.Y, self.weights
            buffers = (
                np.empty((rows, X.shape[1]), dtype=X.dtype),
                np.empty((rows,) + Y.shape[1:], dtype=Y.dtype),
                None if weights is None else np.empty(rows, dtype=weights.dtype),
            )
            self._gathered = buffers
        return buffers

    def _step(
        self, Xb: np.ndarray, Yb: np.ndarray, wb: np.ndarray | None, epoch: int, step: int
    ) -> tuple[float, np.ndarray]:
        """One training step on a batch; returns the loss and the model's output (a buffer).

        Allocates no array once the buffers exist (the first step of ``fit``).
        """
        model, loss = self.model, self.loss
        out = model._forward(Xb, True)
        if isinstance(loss, Loss):
            value = loss.forward(out, Yb, wb, check=False)
        else:
            value = loss.forward(out, Yb, wb)
        if self._penalized:
            value += model.penalty()
        if not np.isfinite(value):
            self._diverged(epoch, step, "the loss", value)
        if wb is not None and not wb.any():
            # a mini-batch of zero-weight rows contributes nothing, as if its rows were left out:
            # no update, and no optimizer step (momentum, Adam's moments and t stay as they are)
            return value, out
        model._backward(loss.backward(), need_dX=False, no_dW=self.no_dW)
        if self.trainable["refresh"]:
            _refresh_grads(self.trainable)
        sumsq = _sum_of_squares(self.trainable)
        opt = self.optimizer
        if self.dense_sgd is not None:
            dense_sumsq, refused = self.dense_sgd.check(opt.lr, opt.weight_decay)
            sumsq += dense_sumsq
            if refused is not None and math.isfinite(sumsq):
                self._diverged(epoch, step, refused, None)
        if not math.isfinite(sumsq):  # checked before the update touches a parameter
            self._diverged(epoch, step, "a gradient", sumsq)
        if self.clip_norm is not None:
            _clip(self.trainable, sumsq, self.clip_norm)
        self._updating = True
        if self.dense_sgd is not None:
            self.dense_sgd.step(opt.lr, opt.weight_decay)
        opt.step(self.trainable["params"], self.trainable["grads"], self.lr_scale)
        self._updating = False
        return value, out

    def _diverged(
        self, epoch: int, step: int, what: str, value: Any, *, restore_epoch: bool = False
    ) -> None:
        model = self.model
        params = model.params()
        restored = "the last finite state (before this step)"
        if restore_epoch or not all(np.isfinite(p).all() for p in params.values()):
            for key, p in params.items():
                np.copyto(p, self._snapshot[key])
            restored = f"their values at the start of epoch {epoch}"
        model.release_caches()
        problem = what if value is None else f"{what} is {value}"
        raise TrainingDiverged(
            f"fit: training diverged at epoch {epoch}, batch {step}: {problem}. "
            f"Parameters were restored to {restored}. Try a smaller learning rate "
            f"(lr is {self.optimizer.lr:g}), clip_norm, or scaling the inputs.",
            epoch,
            step,
            self.history,
        )

    # --- randomness, checkpoints -------------------------------------------------------------
    def _assign_layer_rngs(self) -> None:
        """Give every layer whose ``rng`` is None (a Dropout made without one, or a layer of the
        user's that draws in training) a generator derived from fit's own, so that a seeded fit
        is reproducible."""
        for layer in self.model.layers:
            if hasattr(layer, "rng") and layer.rng is None:
                layer.rng = np.random.default_rng(self.rng.integers(2**63))


def evaluate(
    model: Any,
    X: Any,
    y: Any,
    *,
    loss: str | Loss | None = None,
    metrics: Sequence[Any] | None = None,
    sample_weight: Any = None,
    batch_size: int = 4096,
) -> dict[str, float]:
    """Loss and metrics of ``model`` on (X, y): ``{"loss": ..., "accuracy": ...}``.

    The loss defaults to the one matching the model's task: cross-entropy for a classifier,
    binary cross-entropy for independent sigmoid outputs, mean squared error for a regressor;
    for a model that ``fit`` has not seen, it is inferred from ``y``. Metrics default to
    ``["accuracy"]`` for classifiers and none for regressors.
    """
    m = np.shape(X)[0] if np.ndim(X) else 0
    y_arr = np.asarray(y)
    if y_arr.ndim == 0 or len(y_arr) != m:
        got = "a scalar" if y_arr.ndim == 0 else f"{len(y_arr)} rows"
        raise ValueError(f"evaluate: y has {got} but X has {m}.")
    if model.classes is not None:
        y_arr = encode_with_classes(y_arr, model.classes, "evaluate")
    if loss is None:
        loss = {
            "classification": "cross_entropy",
            "binary": "binary_cross_entropy",
            "regression": "mse",
        }.get(model.task or "", None) or infer_loss(y_arr, model.n_out)
    loss_obj = get_loss(loss)
    Y = loss_obj.prepare_targets(y_arr, model.n_out, model.dtype)
    if metrics is None:
        metrics = (
            ["accuracy"] if getattr(loss_obj, "task", "") in ("classification", "binary") else []
        )
    weights = None if sample_weight is None else check_sample_weight("evaluate", sample_weight, m)
    metrics = _get_metrics(metrics)
    # validates X, scanning it for NaN/inf block by block as it predicts
    outputs = model._outputs(X, batch_size, "evaluate")
    return _scores(loss_obj, outputs, Y, metrics, weights)


def _scores(
    loss: Any,
    outputs: np.ndarray,
    Y: np.ndarray,
    metrics: list[Any],
    weights: np.ndarray | None,
) -> dict[str, float]:
    """The loss and metrics of the network's ``outputs`` against the targets ``Y``."""
    value = (
        loss.forward(outputs, Y, weights, check=False)
        if isinstance(loss, Loss)
        else loss.forward(outputs, Y, weights)
    )
    logs = {"loss": float(value)}
    logs.update(_metric_values(metrics, Y, outputs, getattr(loss, "task", "regression")))
    return logs


def _metric_values(
    metrics: list[Any], Y: np.ndarray, outputs: np.ndarray, task: str
) -> dict[str, float]:
    logs: dict[str, float] = {}
    if not metrics:
        return logs
    if task == "classification":
        true_labels = Y if Y.ndim == 1 else Y.argmax(axis=1)
        labels = outputs.argmax(axis=1)
        scores = softmax_rows(outputs.astype(np.float64))
    elif task == "binary":
        # one or several independent 0/1 outputs: each output of each row is one prediction
        true_labels = np.rint(Y).astype(np.int64).ravel()
        labels = (outputs > 0).astype(np.int64).ravel()
        probability = sigmoid(outputs.astype(np.float64).ravel())
        scores = np.stack([1.0 - probability, probability], axis=1)
    else:
        true_labels = labels = scores = None
    for metric in metrics:
        if metric.needs == "values":
            value = metric.function(Y, outputs)
        elif true_labels is None:
            raise ValueError(
                f"fit: metric {metric.name!r} needs class labels, but the loss is for regression."
            )
        elif metric.needs == "scores":
            value = metric.function(true_labels, scores)
        else:
            value = metric.function(true_labels, labels)
        logs[metric.name] = float(value)
    return logs


def _labels_to_codes(
    classes: np.ndarray | None, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(codes, classes)``: labels coded by the model's ``classes`` when it has them; else
    string or boolean labels become 0..k-1 with their classes, and other targets stay as is."""
    if classes is not None:
        return encode_with_classes(y, classes, "fit"), classes
    if y.ndim == 1 and (y.dtype.kind in "USb" or y.dtype == object):
        return encode_labels(y)
    return y, None


def _get_metrics(metrics: Sequence[Any] | None) -> list[Any]:
    if not metrics:
        return []
    if isinstance(metrics, str):
        metrics = [metrics]
    from fcnet.metrics import get_metric

    return [get_metric(m) for m in metrics]


def _get_schedule(schedule: Any, epochs: int) -> Any:
    if schedule is None:
        return None
    if isinstance(schedule, str):
        from fcnet.schedules import get_schedule

        if schedule.lower().replace("-", "_") in ("cosine", "onecycle"):
            return get_schedule(schedule, total_epochs=epochs)
        return get_schedule(schedule)
    if not hasattr(schedule, "lr"):
        raise TypeError(
            f"fit: expected schedule to have an lr(epoch, base_lr) method, got {schedule!r}."
        )
    return schedule


def _class_weights(class_weight: Any, Y: np.ndarray, task: str) -> np.ndarray:
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


def _batch_bounds(n: int, batch_size: int, min_rows: int) -> list[int]:
    """Start of every batch, then n: batches of ``batch_size`` rows, the last one partial.

    A last batch smaller than ``min_rows`` (a BatchNorm needs 2 rows to compute a variance)
    joins the batch before it rather than being dropped, so every row is still used.
    """
    bounds = list(range(0, n, batch_size)) + [n]
    if len(bounds) > 2 and n - bounds[-2] < min_rows:
        del bounds[-2]
    return bounds


def _sort_batches(order: np.ndarray, bounds: list[int]) -> None:
    """Sort the rows of each batch of a shuffled ``order`` in place (see _batch_bounds).

    A batch is the same set of rows in any order (the gradient sums over it), and gathering the
    rows in ascending order reads X front to back: about 10% faster for large batches.
    """
    last = bounds[-2]  # every batch before the last has batch_size = bounds[1] rows
    if last:
        order[:last].reshape(-1, bounds[1]).sort(axis=1)
    order[last:].sort()


def _sgd_step_layers(model: Any, optimizer: Any, clip_norm: float | None) -> dict[int, Any]:
    """The Dense layers that a step updates with :meth:`Dense.sgd_step`, by position.

    Only for plain SGD (no momentum: the update is then ``-lr`` times the gradient, plus decay)
    without ``clip_norm`` (which needs every gradient's norm before the update), where the BLAS's
    ``gemm`` can be called, and when every layer is one of fcnet's own: those updates run after
    the whole backward pass, and fcnet's layers are known to leave the inputs that forward
    cached (the X of the next Dense) unchanged in backward.
    """
    if type(optimizer) is not SGD or optimizer.momentum or clip_norm is not None:
        return {}
    if not all(_own_layer(layer) for layer in model.layers):
        return {}
    return {
        i: layer
        for i, layer in enumerate(model.layers)
        if type(layer) is Dense and layer.trainable and _blas.available("gemm", layer.dtype)
    }


class _DenseSGD:
    """Plain SGD on Dense layers straight from dZ (:meth:`Dense.sgd_step`), with the guarantee
    of the optimizer's route: no parameter changes unless every gradient is finite.

    db is computed and checked as usual. dW = X^T dZ is not computed, so the update is shown to
    be finite another way. By Cauchy-Schwarz every entry of X^T dZ, and every partial sum of it
    that the product adds into W, is at most ||X||_F ||dZ||_F in magnitude, so after
    ``W <- beta W - lr (X^T dZ + l1 sign(W))``, with beta = 1 - lr (2 l2 + weight_decay),

        max |W| <= |beta| max |W|_before + lr (||X||_F ||dZ||_F + l1)

    While that bound stays below a quarter of the dtype's largest number, and so does
    ||X||_F^2 ||dZ||_F^2 >= ||X^T dZ||_F^2 (the product is summed before it is scaled by -lr),
    the update is finite. max |W| is carried from step to step by the bound itself, and measured
    (a pass over W) at an epoch's start and whenever the bound grows too large. A layer for which
    even the measured value does not do (a run that is blowing up) has its dW computed and
    checked, as on the optimizer's route, and the step is refused if its update would overflow.
    The check costs a pass over each layer's X and dZ, not over W.
    """

    def __init__(self, layers: dict[int, Any]) -> None:
        self.layers = list(layers.values())
        self.positions = list(layers)  # in the model
        self._max_W: list[float | None] = [None] * len(self.layers)
        self._after: list[float | None] = [None] * len(self.layers)
        # a quarter of each layer's largest float: where an update is deemed safe
        self._limits = [float(np.finfo(layer.dtype).max) / 4 for layer in self.layers]

    def forget_bounds(self) -> None:
        """Measure max |W| afresh before the next step (the weights may have been changed)."""
        self._max_W = [None] * len(self.layers)

    def check(self, lr: float, weight_decay: float) -> tuple[float, str | None]:
        """(sum of squares of the gradients that need checking, why the step must not be
        taken or None). Checked: every db, and dW where the bound cannot vouch for the update;
        the update itself where dW had to be computed. Call after the backward pass, before
        :meth:`step`."""
        total = 0.0
        for k, layer in enumerate(self.layers):
            total += _sum_of_squares_of(layer.db)
            rate = lr * layer.lr_mult
            decay = abs(1.0 - rate * (2.0 * layer.l2 + weight_decay))
            norms = _sum_of_squares_of(layer.X) * _sum_of_squares_of(layer.dZ)
            limit = self._limits[k]
            bound = None
            # ||X^T dZ||_F^2 <= norms: the product the BLAS sums before scaling it by -lr, and
            # the sum of squares of dW the optimizer's route checks, stay far from overflow
            if norms <= limit:  # False for inf and NaN
                bound = self._bound(k, decay, rate * (math.sqrt(norms) + layer.l1))
            if bound is None:  # dW computed and checked, as on the optimizer's route
                np.matmul(layer.X.T, layer.dZ, out=layer.dW)
                total += _sum_of_squares_of(layer.dW)
                if math.isfinite(total):  # and the update it makes: finite too?
                    after = decay * _max_abs(layer.W) + rate * (_max_abs(layer.dW) + layer.l1)
                    if not after <= limit:
                        return total, f"the update of layer {self.positions[k]}'s W would overflow"
            self._after[k] = bound
        return total, None

    def _bound(self, k: int, decay: float, spread: float) -> float | None:
        """decay max |W| + spread for layer k, with the carried max |W| or, when there is none
        or it gives too much, the measured one; None when that is above the limit too."""
        limit, carried = self._limits[k], self._max_W[k]
        if carried is not None and decay * carried + spread <= limit:
            return decay * carried + spread
        measured = decay * _max_abs(self.layers[k].W) + spread
        return measured if measured <= limit else None

    def step(self, lr: float, weight_decay: float) -> None:
        """Update every layer (once :meth:`check` found the gradients finite)."""
        for layer in self.layers:
            layer.sgd_step(lr * layer.lr_mult, weight_decay)
        self._max_W = list(self._after)


def _max_abs(a: np.ndarray) -> float:
    """max |a_ij| without allocating (two reductions)."""
    return max(float(a.max()), -float(a.min()))


def _own_layer(layer: Any) -> bool:
    return type(layer).__module__ in _OWN_LAYER_MODULES


_OWN_LAYER_MODULES = frozenset(
    {
        "fcnet.layers.dense",
        "fcnet.layers.dropout",
        "fcnet.layers.batchnorm",
        "fcnet.layers.layernorm",
        "fcnet.activations",
    }
)


def _trainable_params(
    model: Any, skip: frozenset[int] = frozenset()
) -> dict[str, dict[str, np.ndarray]]:
    """The parameters the optimizer updates, with their gradients: those of every trainable
    layer but the ones numbered in ``skip``."""
    params: dict[str, np.ndarray] = {}
    grads: dict[str, np.ndarray] = {}
    refresh: list[tuple[str, Any]] = []
    for i, layer in enumerate(model.layers):
        if not getattr(layer, "trainable", True) or i in skip:
            continue
        layer_grads = layer.grads()
        for name, value in layer.params().items():
            params[f"{i}.{name}"] = value
            grads[f"{i}.{name}"] = layer_grads[name]
        if layer_grads and not vars(type(layer)).get("grads_in_place", False):
            # a user's layer may assign new arrays (self.dW = X.T @ dZ) in every backward
            refresh.append((f"{i}.", layer))
    return {"params": params, "grads": grads, "refresh": refresh}


def _refresh_grads(trainable: dict[str, Any]) -> None:
    """Point ``trainable`` at the gradient arrays the layers hold now (see _trainable_params)."""
    grads = trainable["grads"]
    for prefix, layer in trainable["refresh"]:
        for name, g in layer.grads().items():
            grads[prefix + name] = g


def _largest_product(model: Any, rows: int) -> int:
    """Multiply-adds of the largest matrix product in a step of ``rows`` samples (X W of the
    widest layer); the BLAS thread count is chosen from it."""
    widths = [
        layer.n_in * layer.n_out
        for layer in model.layers
        if isinstance(getattr(layer, "n_in", None), int)
        and isinstance(getattr(layer, "n_out", None), int)
    ]
    return rows * max(widths, default=0)


def _lr_scale(model: Any) -> dict[str, float] | None:
    scale = {}
    for i, layer in enumerate(model.layers):
        mult = getattr(layer, "lr_mult", 1.0)
        if mult != 1.0:
            for name in layer.params():
                scale[f"{i}.{name}"] = float(mult)
    return scale or None


def _sum_of_squares(trainable: dict[str, Any]) -> float:
    total = 0.0
    for g in trainable["grads"].values():
        total += _sum_of_squares_of(g)
    return total


def _sum_of_squares_of(a: np.ndarray) -> float:
    """The sum of the squares of the entries of ``a``, read in place when it is contiguous or a
    transposed contiguous array (``np.vdot``: the BLAS dot, about 0.6 us quicker a call than
    on a flat view made first; any other layout is copied)."""
    if not a.flags.c_contiguous and a.T.flags.c_contiguous:
        a = a.T
    return float(np.vdot(a, a))


def _clip(trainable: dict[str, Any], sumsq: float, clip_norm: float) -> None:
    """Global-norm clipping as torch.nn.utils.clip_grad_norm_: g *= c / (||g|| + 1e-6) if < 1."""
    norm = float(np.sqrt(sumsq))
    factor = clip_norm / (norm + 1e-6)
    if factor < 1.0:
        for g in trainable["grads"].values():
            g *= factor


def _print_epoch(epoch: int, epochs: int, logs: dict[str, float], seconds: float) -> None:
    parts = [f"{k}={v:.4g}" for k, v in logs.items()]
    print(
        f"epoch {epoch + 1}/{epochs}  " + "  ".join(parts) + f"  ({seconds:.2f}s)", file=sys.stderr
    )


class _InterruptGuard:
    """Turn SIGINT / SIGTERM into a flag that the loop checks after each step.

    A second signal while the first is being handled raises KeyboardInterrupt at once. Only the
    main thread can install handlers; elsewhere the guard does nothing.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.received is not None:
            raise KeyboardInterrupt
        self.received = signum

    def __enter__(self) -> _InterruptGuard:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    self._previous[sig] = signal.signal(sig, self._handle)
                except (ValueError, OSError):
                    pass
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
