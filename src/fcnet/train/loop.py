"""The training loop: epochs of batches, and the step, one line of the math each.

One step, for a batch (X_b, Y_b) of m rows::

    Y_hat = model.forward(X_b, training=True)
    L     = loss(Y_hat, Y_b)  (+ the layers' l1/l2 penalty)
    dY    = dL/dY_hat                      (carries 1/m, or w_i / sum w)
    model.backward(dY)                     (dX of the first layer is skipped)
    reduce the gradients                   (a sum over processes; nothing in one process)
    check them                             (NaN/inf stops training: see ``guard``)
    clip the global gradient norm          (if clip_norm)
    optimizer.step(params, grads)

With plain SGD (no momentum) and no ``clip_norm``, on the CPU, the Dense layers skip dW in the
backward pass and apply ``W <- W - lr X^T dZ`` with one matrix product each once it is over
(:mod:`fcnet.train.fused_sgd`), so ``fit`` leaves their ``dW`` as it was.
"""

from __future__ import annotations

import copy
import sys
import time
import warnings
from contextlib import closing, nullcontext
from typing import Any

import numpy as np

from fcnet import backend
from fcnet._ops.numpy_ops import cpu_ops
from fcnet.distributed import Communicator, SingleProcess, agreed
from fcnet.losses import Loss
from fcnet.sources import Source
from fcnet.train.batches import batch_bounds, sort_batches
from fcnet.train.evaluate import metric_values, scores
from fcnet.train.fused_sgd import DenseSGD, fused_sgd_layers
from fcnet.train.grads import GradBuffer, largest_product, lr_scale
from fcnet.train.guard import DeviceGuard, HostGuard, gating
from fcnet.train.history import History, TrainingDiverged
from fcnet.train.signals import InterruptGuard
from fcnet.train.stream import SourceRows, StreamBatches, stream_order


def no_reduce(grads: GradBuffer) -> None:
    """The reduction of one process: the gradients are already the sum over every row."""


class LoopMixin:
    """The epochs and the step of a Trainer (see the module docstring).

    The hooks a data-parallel trainer overrides (:mod:`fcnet.train.parallel`) are the methods
    named ``_share``, ``_synchronise``, ``_interrupted``, ``_outputs_of_epoch``,
    ``_validation_outputs``, ``_call_back`` and ``_save_progress``; in one process they are
    the identity or nothing.
    """

    reduce = staticmethod(no_reduce)  # sums the flat gradient buffers over processes
    comm: Communicator = SingleProcess()  # the processes training together
    _control = 0  # extra elements of the flat gradient buffer (see GradBuffer)

    def run(self) -> History:
        model = self.model
        with agreed(self.comm):
            saved = self._read_checkpoint()  # checked in full before anything changes
        self._commit_labels()
        self._assign_layer_rngs()
        progress = None if saved is None else self._restore(saved)
        self._synchronise(progress)
        if saved is not None and not self.history.stopped_early and self.start_epoch >= self.epochs:
            if self.comm.rank == 0:
                warnings.warn(
                    f"fit: the checkpoint '{self.checkpoint}' already holds {self.start_epoch} "
                    f"epoch(s) and epochs={self.epochs}: nothing more was trained, the model is "
                    f"that of the checkpoint. Pass epochs > {self.start_epoch} to continue.",
                    UserWarning,
                    stacklevel=4,  # the caller of Sequential.fit
                )
        ops = model.ops
        fused = fused_sgd_layers(model, self.optimizer, self.clip_norm)
        if self.reduce is not no_reduce:  # the gradients must be summed before any update
            fused = {}
        self.dense_sgd = DenseSGD(fused, model.layers) if fused else None
        self.no_dW = frozenset(fused)
        self.grads = GradBuffer(model, skip=self.no_dW, control=self._control)
        self.lr_scale = lr_scale(model)
        self.optimizer.ops = ops
        if isinstance(self.loss, Loss):
            self.loss.to(ops)
        self.guard = HostGuard(self) if ops.host_checks else DeviceGuard(self)
        self.batches = self._make_batches(ops)
        if self.dense_sgd is not None:  # the norms its bound reads, summed as they are written
            self.dense_sgd.keep_squares(self.batches)
        self._snapshot = {k: ops.empty(v.shape, v.dtype) for k, v in model.params().items()}
        self._penalized = any(
            getattr(layer, "l1", 0) or getattr(layer, "l2", 0) for layer in model.layers
        )
        self._call_back("on_train_begin", model)
        model.stop_training = False
        rows = min(self.batch_size, len(self.train_idx))
        largest = largest_product(model, rows)
        with (
            InterruptGuard() as interrupts,
            ops.threads_for_training(largest),
            gating(self.optimizer, self.guard),
            self._sharing_cores(ops, largest),
            closing(self.batches),
            nullcontext() if self.dense_sgd is None else closing(self.dense_sgd),
        ):
            self._interrupts = interrupts
            # a run that a callback stopped is over: resuming it trains no further
            first = self.epochs if self.history.stopped_early else self.start_epoch
            for epoch in range(first, self.epochs):
                logs = self._run_epoch(epoch, progress)
                progress = None
                if logs is None:  # interrupted mid-epoch; checkpoint already written
                    self.history.interrupted = True
                    break
                if self._end_epoch(epoch, logs) or self._interrupted():
                    self.history.interrupted = self._interrupted()
                    break
        self._call_back("on_train_end", model)
        model.release_caches()
        return self.history

    def _end_epoch(self, epoch: int, logs: dict[str, float]) -> bool:
        """Record the epoch, run the callbacks, write the checkpoint; True to stop."""
        model = self.model
        self.history.append(epoch, logs)
        if self.schedule is not None and hasattr(self.schedule, "update"):
            self.schedule.update(epoch, logs)
        stop = self._call_back("on_epoch_end", epoch, logs, model)
        stop = stop or bool(model.stop_training)
        if stop:  # before the checkpoint, which records it
            self.history.stopped_early = True
        if self.checkpoint is not None:
            self._write_checkpoint(epoch + 1)
        if self.verbose and self.comm.rank == 0:
            _print_epoch(epoch, self.epochs, logs, self._epoch_seconds)
        return stop

    def _run_epoch(self, epoch: int, progress: dict[str, Any] | None) -> dict[str, float] | None:
        model, opt, guard = self.model, self.optimizer, self.guard
        started = time.perf_counter()
        opt.lr = (
            self.base_lr if self.schedule is None else float(self.schedule.lr(epoch, self.base_lr))
        )
        for key, value in model.params().items():
            self._snapshot[key][...] = value
        if self.dense_sgd is not None:
            self.dense_sgd.forget_bounds()  # a callback may have changed the weights
        if progress is not None:
            order, first_step = progress["order"], progress["step"]
            collected = progress["collected"]
            guard.start_epoch(progress["loss_sum"], progress["weight_sum"])
        else:
            order = self._epoch_order()
            first_step, collected = 0, None
            guard.start_epoch()
        bounds = batch_bounds(len(order), self.batch_size, self.min_rows)
        if self.metrics and collected is None:
            collected = self._outputs_buffer(len(order))
        shares = [self._share(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]
        self._order = order
        self.batches.start_epoch(order, shares[first_step:])
        n_steps = len(bounds) - 1
        for step in range(first_step, n_steps):
            start, stop = bounds[step], bounds[step + 1]
            try:
                value, out, weight = self._step(start, stop, epoch, step)
            except TrainingDiverged:
                raise
            except FloatingPointError as exc:  # the caller's np.errstate(...="raise")
                # an update stopped half-way cannot be undone: go back to the epoch's start
                problem = f"numpy raised FloatingPointError ({exc})"
                self._diverged(epoch, step, problem, None, restore_epoch=self._updating)
            if collected is not None:
                lo, hi = shares[step]
                collected[lo:hi] = out
            guard.add_loss(value, weight)
            if self._interrupted() and step + 1 < n_steps:
                if self.checkpoint is not None:
                    loss_sum, weight_sum = guard.sums()
                    state = {"order": order, "step": step + 1, "collected": collected}
                    state.update(loss_sum=loss_sum, weight_sum=weight_sum)
                    self._save_progress(epoch, state)
                return None
        guard.end_epoch(epoch)
        return self._epoch_logs(order, collected, started)

    def _epoch_order(self) -> np.ndarray:
        """The training rows in this epoch's order: shuffled, then each batch sorted (the
        batches are the same sets of rows, gathered front to back). A source's rows come in
        its windows of groups (see :mod:`fcnet.train.stream`)."""
        if isinstance(self.X, Source):
            V = self.X.epoch_rows(self.train_idx, self.rng, self.shuffle)
            bounds = batch_bounds(len(V), self.batch_size, self.min_rows)
            return stream_order(V, bounds, self.comm.size)
        if not self.shuffle:
            return self.train_idx
        order = self.rng.permutation(self.train_idx)
        sort_batches(order, batch_bounds(len(order), self.batch_size, self.min_rows))
        return order

    def _sharing_cores(self, ops: Any, largest: int) -> Any:
        """Fewer BLAS threads when something else computes on this machine's cores: the thread
        reading a source ahead, and the other processes of a data-parallel run here (their
        BLAS threads would otherwise outnumber the cores, which slows every product down)."""
        streaming = isinstance(self.batches, StreamBatches)
        local = self.comm.local_size if self.comm.size > 1 else 1
        if backend.blas_threads_for(largest) is not None or not (streaming or local > 1):
            return nullcontext()  # the user's choice, or one thread already
        threads = max(1, backend.worker_threads() // local - int(streaming))
        return getattr(ops, "blas_threads", lambda n: nullcontext())(threads)

    # --- what a data-parallel trainer overrides ----------------------------------------------
    def _synchronise(self, progress: dict[str, Any] | None) -> None:
        """Make every process start from the same state (nothing in one process)."""

    def _share(self, start: int, stop: int) -> tuple[int, int]:
        """The rows ``order[lo:hi]`` of the batch ``order[start:stop]`` this process computes."""
        return start, stop

    def _interrupted(self) -> bool:
        """Whether Ctrl-C or SIGTERM asked training to stop."""
        return self._interrupts.received is not None

    def _outputs_buffer(self, n: int) -> Any:
        """Where the epoch's outputs are kept for the training metrics, (n, n_out)."""
        return self.model.ops.empty((n, self.model.n_out or 1), self.model.dtype)

    def _outputs_of_epoch(self, collected: Any) -> np.ndarray:
        """The outputs of every training row of the epoch, on the host."""
        return self.model.ops.to_host(collected)

    def _validation_outputs(self) -> np.ndarray:
        """The model's outputs on the validation rows."""
        rows = self.val[0]
        if isinstance(rows, SourceRows):
            return rows.outputs(self.model, self._prepare_block)
        return self.model._predict_raw(rows, 4096)

    def _call_back(self, hook: str, *args: Any) -> bool:
        """Call ``hook`` of every callback that has it; True when one asked to stop."""
        stop = False
        for cb in self.callbacks:
            if hasattr(cb, hook) and getattr(cb, hook)(*args) and hook == "on_epoch_end":
                stop = True
        return stop

    def _save_progress(self, epoch: int, state: dict[str, Any]) -> None:
        """Checkpoint an epoch interrupted after ``state["step"]`` steps."""
        self._write_checkpoint(epoch, progress=state)

    def _step(self, start: int, stop: int, epoch: int, k: int) -> tuple[Any, Any, float]:
        """One training step on the rows ``order[start:stop]``; returns the batch's loss, the
        model's output (a buffer) and the batch's weight. Allocates nothing after the first."""
        X, Y, w = self.batches.gather(start, stop)  # the batch, into reused buffers
        Y_hat = self.model._forward(X, True)  # Z = X W + b, A = f(Z), layer by layer
        L = self._loss_value(Y_hat, Y, w, epoch, k)  # mean over the batch (+ the penalty)
        weight = float(stop - start) if w is None else self.model.ops.item(w.sum())
        if weight == 0.0:  # zero-weight rows contribute nothing, as if left out: no step
            return L, Y_hat, weight
        self.model._backward(self.loss.backward(), need_dX=False, no_dW=self.no_dW)
        self.grads.collect()  # a user layer's new gradient arrays into the flat buffer
        self.reduce(self.grads)  # sum over processes; nothing in one process
        sumsq = self.guard.check(self.grads, epoch, k)  # NaN/inf: stop, restore, say where
        self._update(sumsq)  # W <- W - lr dW (or Adam's update)
        return L, Y_hat, weight

    def _loss_value(self, Y_hat: Any, Y: Any, w: Any, epoch: int, k: int) -> Any:
        loss = self.loss
        value = loss.value(Y_hat, Y, w) if isinstance(loss, Loss) else loss.forward(Y_hat, Y, w)
        if self._penalized:
            value += self.model.penalty()
        self.guard.check_loss(value, epoch, k)
        return value

    def _update(self, sumsq: Any) -> None:
        """Clip, then update every parameter (the fused SGD route's layers from their dZ)."""
        opt = self.optimizer
        if self.clip_norm is not None:
            self.grads.clip(sumsq, self.clip_norm)
        self._updating = True
        if self.dense_sgd is not None:
            self.dense_sgd.step(opt.lr, opt.weight_decay)
        opt.step(self.grads.params, self.grads.grads, self.lr_scale)
        self._updating = False

    def _epoch_logs(self, order: np.ndarray, collected: Any, started: float) -> dict[str, float]:
        loss_sum, weight_sum = self.guard.sums()
        logs: dict[str, float] = {"loss": loss_sum / weight_sum if weight_sum else float("nan")}
        task = getattr(self.loss, "task", "regression")
        if self.metrics:
            outputs = self._outputs_of_epoch(collected)
            logs.update(metric_values(self.metrics, self.Y[order], outputs, task))
        if self.val is not None:
            outputs = self._validation_outputs()
            val_logs = scores(self._host_loss(), outputs, self.val[1], self.metrics, None)
            logs.update({f"val_{k}": v for k, v in val_logs.items()})
        logs["lr"] = self.optimizer.lr
        self._epoch_seconds = time.perf_counter() - started
        return logs

    def _host_loss(self) -> Any:
        """The loss, computing on the host: the validation outputs are host arrays."""
        if self.model.ops.host_checks or not isinstance(self.loss, Loss):
            return self.loss
        host = getattr(self, "_loss_on_host", None)
        if host is None:
            host = self._loss_on_host = copy.copy(self.loss).to(cpu_ops())
        return host

    def _diverged(
        self, epoch: int, step: int, what: str, value: Any, *, restore_epoch: bool = False
    ) -> None:
        model = self.model
        ops = model.ops
        params = model.params()
        restored = "the last finite state (before this step)"
        finite = all(bool(ops.to_host(ops.xp.isfinite(p).all())) for p in params.values())
        if restore_epoch or not finite:
            for key, p in params.items():
                p[...] = self._snapshot[key]
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


def _print_epoch(epoch: int, epochs: int, logs: dict[str, float], seconds: float) -> None:
    parts = [f"{k}={v:.4g}" for k, v in logs.items()]
    print(
        f"epoch {epoch + 1}/{epochs}  " + "  ".join(parts) + f"  ({seconds:.2f}s)", file=sys.stderr
    )
