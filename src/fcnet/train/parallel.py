"""Data-parallel training: the hooks of the Trainer that several processes override.

Each process computes rows ``lo .. hi`` of every batch (the same global order everywhere, drawn
from the same seed) and the step ends in one reduction of the flat gradient buffer, whose
last three elements carry the step's control word::

    control = [ this process's part of the batch's mean loss,   -> summed: the batch's loss
                1 if this process was asked to stop (SIGTERM),   -> summed: stop after this step
                1 if it failed to read or compute its rows ]     -> summed: every process raises

so every process takes the same branch at the same step with no collective but that one. The
loss of each process is divided by the whole batch's rows (or weight sum) and the l1/l2 penalty
is added by process 0 alone, so that the sums are those of one process training on the batch.

Agreement points, where a failure of some processes becomes the same error on all of them:
the start of ``fit`` (options, data, checkpoint), every step (the control word), and every
epoch's end (callbacks, metrics, the checkpoint written by process 0). A failure anywhere else
on one process ends the whole job (:func:`fcnet.distributed.abort_unless_agreed`).
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import numpy as np

from fcnet.distributed import BatchShard, Communicator, agree, agreed, mark_agreed
from fcnet.losses import Loss
from fcnet.train.history import TrainingDiverged
from fcnet.train.stream import SourceRows

_LOSS, _STOP, _FAILED = 0, 1, 2


class ParallelMixin:
    """The data-parallel overrides of a Trainer's hooks (see the module docstring)."""

    _control = 3

    def attach(self, comm: Communicator) -> None:
        """Train over ``comm``; every process takes process 0's random generator."""
        self.comm = comm
        self.reduce = self._reduce
        self.shard = BatchShard(comm)
        self._sharded = [layer for layer in self.model.layers if hasattr(layer, "shard")]
        # BatchNorm reduces inside forward and backward: a process failing there cannot join
        # the step's reduction any more, so such a failure ends the job instead
        self._collective_layers = any(
            hasattr(layer, "shard") and hasattr(layer, "running_mean") for layer in self._sharded
        )
        self.min_rows = max(self.min_rows, comm.size)  # every process gets a row of every batch
        self._stop_asked = False
        self._failure: Exception | None = None
        self._at_agreed_point = False
        self._penalties: list[tuple[Any, float, float]] = []
        self.rng.bit_generator.state = comm.broadcast(self.rng.bit_generator.state)

    def detach(self) -> None:
        """Give the layers back as they were (shards off, penalties back)."""
        for layer in self._sharded:
            layer.shard = None
        for layer, l1, l2 in self._penalties:
            layer.l1, layer.l2 = l1, l2
        self._penalties = []

    def _reduce(self, grads: Any) -> None:
        for flat in grads.flats:
            self.comm.allreduce(flat)

    # --- the start ----------------------------------------------------------------------------
    def _synchronise(self, progress: dict[str, Any] | None) -> None:
        comm, model = self.comm, self.model
        with agreed(comm):
            digest = self._start_digest(progress)
        digests = comm.allgather(digest)
        differ = [r for r, d in enumerate(digests) if d != digests[0]]
        if differ:
            raise mark_agreed(
                ValueError(
                    f"fit: process {differ[0]} of {comm.size} was not given what process 0 was "
                    "(the training data, the options, the architecture or the checkpoint it "
                    "resumes from differ); every process must call fit with the same arguments "
                    "and see the same checkpoint file."
                )
            )
        for array in model.params().values():
            comm.broadcast_array(array)
        for layer in model.layers:
            for array in getattr(layer, "state", dict)().values():
                comm.broadcast_array(array)
        states = comm.broadcast(self._rng_states())
        self.rng.bit_generator.state = states["fit"]
        for i, layer in enumerate(model.layers):
            if str(i) in states and isinstance(getattr(layer, "rng", None), np.random.Generator):
                layer.rng.bit_generator.state = states[str(i)]
        if progress is not None and progress["collected"] is not None and comm.rank != 0:
            progress["collected"][...] = 0  # process 0 holds the outputs already gathered
        if comm.rank != 0:  # the penalty is a term of the whole batch's loss: process 0's
            for layer in model.layers:
                l1, l2 = getattr(layer, "l1", 0), getattr(layer, "l2", 0)
                if l1 or l2:
                    self._penalties.append((layer, l1, l2))
                    layer.l1, layer.l2 = 0.0, 0.0

    def _start_digest(self, progress: dict[str, Any] | None) -> str:
        model = self.model
        try:
            architecture = json.dumps(model.get_config(), sort_keys=True)
        except TypeError:
            architecture = repr([type(layer).__name__ for layer in model.layers])
        parts = [
            self._data_fingerprint(),
            hashlib.blake2b(np.asarray(self.train_idx, np.int64).tobytes()).hexdigest(),
            None if self.val is None else len(self.val[0]),
            architecture,
            self.epochs,
            self.batch_size,
            self.start_epoch,
            None if progress is None else progress["step"],
            type(self.optimizer).__name__,
            self.base_lr,
            getattr(self.loss, "name", type(self.loss).__name__),
            [getattr(m, "name", repr(m)) for m in self.metrics],
            self.shuffle,
            self.clip_norm,
            len(self.callbacks),
            self.checkpoint is not None,
        ]
        return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()

    # --- the step -----------------------------------------------------------------------------
    def _share(self, start: int, stop: int) -> tuple[int, int]:
        n, p, size = stop - start, self.comm.rank, self.comm.size
        return start + (n * p) // size, start + (n * (p + 1)) // size

    def _step(self, start: int, stop: int, epoch: int, k: int) -> tuple[Any, Any, float]:
        """One step on this process's rows of the batch ``order[start:stop]``; every process
        returns the batch's loss and applies the same update."""
        self._at_agreed_point = False
        lo, hi = self._share(start, stop)
        X, Y, w = self.batches.gather(lo, hi)  # this process's rows of the batch
        weight = self._batch_weight(start, stop)  # rows (or weight sum) of the whole batch
        self.shard.offset, self.shard.rows = lo - start, stop - start
        for layer in self._sharded:
            layer.shard = self.shard  # Dropout and BatchNorm see the whole batch
        try:
            Y_hat = self.model._forward(X, True)
            L = self._partial_loss(Y_hat, Y, w, weight, hi - lo)  # this process's part
            if weight == 0.0:  # zero-weight rows contribute nothing: no step, as in one process
                return L, Y_hat, weight
            self.model._backward(self._dY(), need_dX=False, no_dW=self.no_dW)
            self.grads.collect()
        except Exception as exc:
            if self._collective_layers:
                raise
            self._failure = self._failure or exc  # told to every process by the reduction
            L, Y_hat = 0.0, self._zeros(hi - lo)
            if weight == 0.0:
                return L, Y_hat, weight
        finally:
            for layer in self._sharded:
                layer.shard = None
        L = self._reduce_step(L, epoch, k)  # gradients and the control word, one reduction
        sumsq = self.guard.check(self.grads, epoch, k)  # the same sums on every process
        self._update(sumsq)
        return L, Y_hat, weight

    def _batch_weight(self, start: int, stop: int) -> float:
        if self.weights is None:
            return float(stop - start)
        return float(np.sum(self.weights[self._order[start:stop]]))

    def _partial_loss(self, Y_hat: Any, Y: Any, w: Any, weight: float, rows: int) -> Any:
        loss = self.loss
        self._dY_factor = None
        if isinstance(loss, Loss):
            value = loss.value(Y_hat, Y, w, total=weight)
        else:  # a loss of the user's averages over these rows: rescale to the whole batch
            mine = float(rows) if w is None else float(np.sum(self.model.ops.to_host(w)))
            self._dY_factor = mine / weight if weight else 0.0
            value = float(loss.forward(Y_hat, Y, w)) * self._dY_factor
        if self._penalized:
            value += self.model.penalty()
        return value

    def _dY(self) -> Any:
        dY = self.loss.backward()
        if self._dY_factor is not None:
            dY *= self._dY_factor
        return dY

    def _zeros(self, rows: int) -> Any:
        return self.model.ops.zeros((rows, self.model.n_out or 1), self.model.dtype)

    def _reduce_step(self, L: Any, epoch: int, k: int) -> float:
        """Reduce the gradients with the control word; act on it the same way everywhere."""
        control = self.grads.control
        if isinstance(L, float):
            control[_LOSS] = L
        else:
            control[_LOSS : _LOSS + 1] = L
        control[_STOP] = float(self._interrupts.received is not None)
        failure = self._failure or self.batches.error
        control[_FAILED] = float(failure is not None)
        self.reduce(self.grads)
        self._at_agreed_point = True
        values = self.model.ops.to_host(control)
        if values[_FAILED] > 0:
            agree(self.comm, failure)
        if values[_STOP] > 0:
            self._stop_asked = True
        total = float(values[_LOSS])
        if not math.isfinite(total):
            self._diverged(epoch, k, "the loss", total)
        return total

    def _diverged(self, *args: Any, **kwargs: Any) -> None:
        try:
            super()._diverged(*args, **kwargs)
        except TrainingDiverged as exc:
            if self._at_agreed_point:  # reached by every process at the same step
                mark_agreed(exc)
            raise

    def _interrupted(self) -> bool:
        return self._stop_asked

    # --- the epoch's end ----------------------------------------------------------------------
    def _outputs_buffer(self, n: int) -> Any:
        return self.model.ops.zeros((n, self.model.n_out or 1), self.model.dtype)

    def _outputs_of_epoch(self, collected: Any) -> np.ndarray:
        self.comm.allreduce(collected)  # each row was written by one process, zeros elsewhere
        return self.model.ops.to_host(collected)

    def _validation_outputs(self) -> np.ndarray:
        """Each process predicts its part of the validation rows; the outputs are summed."""
        rows, model = self.val[0], self.model
        n, p, size = len(rows), self.comm.rank, self.comm.size
        lo, hi = (n * p) // size, (n * (p + 1)) // size
        outputs = np.zeros((n, model.n_out or 1), dtype=model.dtype)
        error = None
        try:
            if hi > lo:
                part = rows[lo:hi]
                outputs[lo:hi] = (
                    part.outputs(model, self._prepare_block)
                    if isinstance(part, SourceRows)
                    else model._predict_raw(part, 4096)
                )
        except Exception as exc:  # bad rows in this process's part: tell everyone
            error = exc
        self.comm.allreduce(outputs)
        agree(self.comm, error)
        return outputs

    def _epoch_logs(self, *args: Any) -> dict[str, float]:
        logs: dict[str, float] = {}
        with agreed(self.comm):  # the same inputs everywhere: the same error, if any
            logs = super()._epoch_logs(*args)
        return logs

    def _call_back(self, hook: str, *args: Any) -> bool:
        """The callbacks of every process (those marked ``rank_zero_only`` on process 0
        alone); one failing fails all, one asking to stop stops all, and so does a signal."""
        stop, error = False, None
        try:
            for cb in self.callbacks:
                if self.comm.rank and getattr(cb, "rank_zero_only", False):
                    continue
                if hasattr(cb, hook) and getattr(cb, hook)(*args) and hook == "on_epoch_end":
                    stop = True
            stop = stop or bool(self.model.stop_training)
        except Exception as exc:
            error = exc
        batches = getattr(self, "batches", None)
        error = error or self._failure or (None if batches is None else batches.error)
        interrupts = getattr(self, "_interrupts", None)
        signalled = interrupts is not None and interrupts.received is not None
        votes = agree(self.comm, error, (stop, signalled))
        if any(signalled for _, signalled in votes):
            self._stop_asked = True
        return any(stop for stop, _ in votes)

    def _write_checkpoint(self, epochs_done: int, progress: dict[str, Any] | None = None) -> None:
        with agreed(self.comm):  # written by process 0; a failure there fails everyone
            if self.comm.rank == 0:
                super()._write_checkpoint(epochs_done, progress)

    def _save_progress(self, epoch: int, state: dict[str, Any]) -> None:
        collected = state["collected"]
        if collected is not None:
            collected = collected.copy()
            self.comm.allreduce(collected)
        self._write_checkpoint(epoch, progress={**state, "collected": collected})
