"""``fit``, the public entry of training, and the Trainer that holds one call's state.

The Trainer is put together from one part per concern: checking the options (here), the data
and targets (:mod:`fcnet.train.targets`), the loop and the step (:mod:`fcnet.train.loop`) and
checkpoints (:mod:`fcnet.train.checkpoint`).

Guarantees: the same ``rng`` gives bit-identical parameters; bad input raises before any
parameter changes; a non-finite loss or gradient raises :class:`TrainingDiverged` with the
parameters of the last finite state; Ctrl-C / SIGTERM finish the current step and return.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fcnet import schedules
from fcnet._inputs import infer_loss
from fcnet._random import as_generator
from fcnet._validation import check_number, check_positive_int
from fcnet.distributed import Communicator, abort_unless_agreed, agreed, communicator_for
from fcnet.losses import Loss, get_loss
from fcnet.optimizers import Optimizer, get_optimizer
from fcnet.sources import Source
from fcnet.train.checkpoint import CheckpointMixin
from fcnet.train.evaluate import get_metrics
from fcnet.train.history import History
from fcnet.train.loop import LoopMixin
from fcnet.train.parallel import ParallelMixin
from fcnet.train.targets import DataMixin


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
    distributed: Any = None,
) -> History:
    """Train ``model`` on (X, y) with mini-batch gradient descent.

    Parameters
    ----------
    model : Sequential
    X : array-like (m, n_in), or a :class:`fcnet.sources.Source`
        Features; data of the model's dtype and C-contiguous is used without a copy (a
        memory-mapped ``np.load(path, mmap_mode="r")`` too). A source (``ParquetSource``) is
        streamed: its targets read whole, its features one row group at a time, in windows of
        groups shuffled together (see :mod:`fcnet.sources`); pass ``y=None``.
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
    distributed : bool or fcnet.distributed.Communicator, optional
        ``True``: train data-parallel over the processes an MPI launcher started
        (``mpiexec -n 4 python train.py``, every process calling ``fit`` with the same
        arguments); a communicator: over its processes. ``batch_size`` is the global batch:
        each process computes its rows of every batch and the gradients are summed, so N
        processes train the model one would, up to rounding; process 0 alone prints and writes
        the checkpoint (see :mod:`fcnet.distributed`). Default: one process, with a warning
        when a launcher started several.

    Returns
    -------
    History
    """
    options = dict(
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
        y_for_loss=None if isinstance(X, Source) else y,  # a source's: inferred in set_data
    )
    comm = communicator_for(distributed)
    data = (X, y, sample_weight, class_weight, validation_data)
    if comm is not None:
        return _fit_parallel(comm, model, options, data)
    trainer = Trainer(model, **options)
    trainer.set_data(*data)
    return trainer.run()


def _fit_parallel(
    comm: Communicator, model: Any, options: dict[str, Any], data: tuple[Any, ...]
) -> History:
    """``fit`` on every process of ``comm`` (see :mod:`fcnet.train.parallel`)."""
    with abort_unless_agreed(comm, "fit"):
        with agreed(comm):
            trainer = ParallelTrainer(model, **options)
        trainer.attach(comm)
        try:
            with agreed(comm):
                trainer.set_data(*data)
            return trainer.run()
        finally:
            trainer.detach()
    raise AssertionError("unreachable")  # abort_unless_agreed re-raises what it caught


class Trainer(DataMixin, LoopMixin, CheckpointMixin):
    """State of one ``fit`` call, split into parts small enough to read."""

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
        if loss is None and model.n_out is not None and y_for_loss is not None:
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
        self.schedule = get_schedule(options["schedule"], self.epochs)
        self.metrics = get_metrics(options["metrics"])
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
        self._epoch_seconds = 0.0
        self._updating = False

    def _assign_layer_rngs(self) -> None:
        """Give every layer whose ``rng`` is None (a Dropout made without one, or a layer of the
        user's that draws in training) a generator derived from fit's own, so that a seeded fit
        is reproducible."""
        for layer in self.model.layers:
            if hasattr(layer, "rng") and layer.rng is None:
                layer.rng = np.random.default_rng(self.rng.integers(2**63))


class ParallelTrainer(ParallelMixin, Trainer):
    """A Trainer of one process among several training together (``fit(distributed=...)``)."""


def get_schedule(schedule: Any, epochs: int) -> Any:
    if schedule is None:
        return None
    if isinstance(schedule, str):
        if schedule.lower().replace("-", "_") in ("cosine", "onecycle"):
            return schedules.get_schedule(schedule, total_epochs=epochs)
        return schedules.get_schedule(schedule)
    if not hasattr(schedule, "lr"):
        raise TypeError(
            f"fit: expected schedule to have an lr(epoch, base_lr) method, got {schedule!r}."
        )
    return schedule
