"""Checkpoints of a training run: written atomically after every epoch, read back strictly.

A checkpoint is a safetensors file (see :mod:`fcnet.io`) holding

* the model's parameters and persistent state, under their usual keys (``"0.W"``, ...);
* the optimizer's state arrays (``"optimizer/<param>/<slot>"``);
* the training rows (``"train/train_idx"``) and, after an interrupt in the middle of an epoch,
  that epoch's order and progress (``"progress/..."``);
* as JSON metadata: the architecture, the epochs done, the history, the optimizer's scalars,
  the random generators' states, the schedule's and callbacks' state.

Reading checks everything (types, shapes, ranges, agreement with this ``fit`` call) before
anything is changed, so a corrupted or foreign file raises ``ValueError`` and leaves the model,
the optimizer and the generators as they were. Nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from fcnet import _files as io
from fcnet._validation import first_nonfinite
from fcnet.sources import Source
from fcnet.train.batches import batch_bounds
from fcnet.train.checkpoint_state import (
    _check_saved_params,
    _CheckpointError,
    _history_from,
    _is_int,
    _join_state,
    _split_state,
)

CHECKPOINT_KIND = "checkpoint"


class CheckpointMixin:
    """The checkpoint half of the training loop's state (mixed into ``fcnet.train.fit.Trainer``)."""

    _fingerprint: str | None = None  # the digest of the training data, once computed

    def _rng_states(self) -> dict[str, Any]:
        states = {"fit": self.rng.bit_generator.state}
        for i, layer in enumerate(self.model.layers):
            rng = getattr(layer, "rng", None)
            if isinstance(rng, np.random.Generator):
                states[str(i)] = rng.bit_generator.state
        return states

    def _data_fingerprint(self) -> str:
        """A digest of the training data, so that a resume on other data is refused: shapes and
        dtypes, all of y and the weights, and 257 rows of X spread evenly over it (hashing all of
        X would read the whole data set). Computed once per fit: the data does not change."""
        if self._fingerprint is None:
            self._fingerprint = self._digest_data()
        return self._fingerprint

    def _digest_data(self) -> str:
        digest = hashlib.blake2b(digest_size=16)
        X = self.X
        if isinstance(X, Source):  # its own digest of the file, not rows read from it
            digest.update(X.fingerprint().encode())
            X = np.zeros((len(X), 0))
        rows = np.unique(np.linspace(0, len(X) - 1, num=min(len(X), 257)).astype(np.int64))
        parts = [X[rows], self.Y] + ([] if self.weights is None else [self.weights])
        digest.update(repr([(a.shape, a.dtype.str) for a in (X, *parts[1:])]).encode())
        for part in parts:
            digest.update(np.ascontiguousarray(part).tobytes())
        return digest.hexdigest()

    def _write_checkpoint(self, epochs_done: int, progress: dict[str, Any] | None = None) -> None:
        assert self.checkpoint is not None
        tensors = io.model_tensors(self.model)
        opt_meta, opt_arrays = self.optimizer.state_dict()
        tensors.update({f"optimizer/{k}": v for k, v in opt_arrays.items()})
        meta: dict[str, Any] = {
            "epochs_done": epochs_done,
            "history": self.history.to_dict(),
            "optimizer": opt_meta,
            "base_lr": self.base_lr,
            "rng": self._rng_states(),
            "n_train": int(len(self.train_idx)),
            "batch_size": self.batch_size,
            "data": self._data_fingerprint(),
        }
        if self.schedule is not None and hasattr(self.schedule, "state_dict"):
            meta["schedule"] = self.schedule.state_dict()
        meta["callbacks"] = []
        for i, cb in enumerate(self.callbacks):
            if hasattr(cb, "state_dict"):
                cb_meta, cb_arrays = _split_state(cb.state_dict())
                meta["callbacks"].append(cb_meta)
                tensors.update({f"callback{i}/{k}": v for k, v in cb_arrays.items()})
            else:
                meta["callbacks"].append(None)
        tensors["train/train_idx"] = np.asarray(self.train_idx, dtype=np.int64)
        if progress is not None:
            meta["progress"] = {
                "step": progress["step"],
                "loss_sum": progress["loss_sum"],
                "weight_sum": progress["weight_sum"],
            }
            tensors["progress/order"] = np.asarray(progress["order"], dtype=np.int64)
            if progress["collected"] is not None:
                tensors["progress/collected"] = progress["collected"]
        metadata = {
            "format": io.FORMAT,
            "format_version": io.FORMAT_VERSION,
            "kind": CHECKPOINT_KIND,
            "architecture": json.dumps(self.model.get_config()),
            "training": json.dumps(meta),
        }
        io.write_tensors(self.checkpoint, tensors, metadata)

    def _read_checkpoint(self) -> dict[str, Any] | None:
        """Read and check the checkpoint to resume from, before the model is touched.

        A foreign, corrupted or mismatched file raises ``ValueError`` naming the file while the
        model, the optimizer and the generators are still as they were. Only the schedule and
        callback states are loaded here, last, once the rest has passed.
        """
        if not self.resume or self.checkpoint is None or not self.checkpoint.exists():
            return None
        path = self.checkpoint
        name = f"'{path}'"
        tensors, metadata = io.read_tensors(path)
        if metadata.get("format") != io.FORMAT or metadata.get("kind") != CHECKPOINT_KIND:
            raise ValueError(f"{name}: not an fcnet checkpoint.")
        try:
            saved = self._parse_checkpoint(tensors, metadata, name)
        except _CheckpointError as exc:
            raise ValueError(str(exc)) from None
        except (
            KeyError,
            TypeError,
            ValueError,
            AttributeError,
            IndexError,
            OverflowError,
            RecursionError,
        ) as exc:
            raise ValueError(
                f"{name}: checkpoint training state is malformed ({type(exc).__name__}: {exc})."
            ) from exc
        io.assign_model_tensors(self.model, saved["model"], path, check_only=True)
        meta = saved["meta"]
        try:
            if self.schedule is not None and "schedule" in meta:
                self.schedule.load_state_dict(meta["schedule"])
            states = meta.get("callbacks") or []
            for i, cb in enumerate(self.callbacks):
                if hasattr(cb, "load_state_dict") and i < len(states) and states[i] is not None:
                    prefix = f"callback{i}/"
                    arrays = {
                        k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)
                    }
                    cb.load_state_dict(_join_state(states[i], arrays))
                    _check_saved_params(cb, self.model.params(), name)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise ValueError(
                f"{name}: the saved schedule or callback state is malformed ({exc})."
            ) from exc
        return saved

    def _parse_checkpoint(
        self, tensors: dict[str, np.ndarray], metadata: dict[str, str], name: str
    ) -> dict[str, Any]:
        """The checkpoint's contents, each checked against this model and call."""
        meta = json.loads(metadata["training"])
        architecture = json.loads(metadata["architecture"])
        if not isinstance(meta, dict) or not isinstance(architecture, dict):
            raise _CheckpointError(f"{name}: checkpoint metadata is not a JSON object.")
        saved_types = [entry["type"] for entry in architecture["layers"]]
        types = [type(layer).__name__ for layer in self.model.layers]
        if saved_types != types:
            raise _CheckpointError(
                f"{name}: the checkpoint was written for a different architecture: "
                f"layers {saved_types}, this model has {types}."
            )
        try:  # the same layers, of other widths: say so before the optimizer state disagrees
            io.assign_model_tensors(
                self.model,
                {k: v for k, v in tensors.items() if "/" not in k},
                self.checkpoint,
                check_only=True,
            )
        except ValueError as exc:
            raise _CheckpointError(
                f"{exc} The checkpoint was written for a different architecture."
            ) from None
        epochs_done = meta["epochs_done"]
        if not _is_int(epochs_done) or epochs_done < 0:
            raise _CheckpointError(
                f"{name}: expected epochs_done to be an integer >= 0, got {epochs_done!r}."
            )
        m = len(self.X)
        train_idx = tensors.get("train/train_idx")
        if train_idx is None or train_idx.ndim != 1 or len(train_idx) != len(self.train_idx):
            raise _CheckpointError(
                f"{name}: the checkpoint was written for "
                f"{0 if train_idx is None else len(train_idx)} training rows, "
                f"this call has {len(self.train_idx)}."
            )
        if (
            train_idx.dtype.kind not in "iu"
            or train_idx.min() < 0
            or train_idx.max() >= m
            or len(np.unique(train_idx)) != len(train_idx)
        ):
            raise _CheckpointError(
                f"{name}: expected its training rows to be distinct row numbers in [0, {m})."
            )
        train_idx = train_idx.astype(np.int64)
        if self.val_from_split:  # an encoder fit fits learns from that run's training rows
            self._encode_for(train_idx)
        if "data" in meta and meta["data"] != self._data_fingerprint():
            raise _CheckpointError(
                f"{name}: the checkpoint was written for other training data (X, y or the sample "
                "weights differ from this call's, e.g. another split of the rows); resume with "
                "the data it was trained on, or train afresh without resume=True."
            )
        if int(meta.get("batch_size", self.batch_size)) != self.batch_size:
            raise _CheckpointError(
                f"{name}: the checkpoint used batch_size={meta['batch_size']}, "
                f"this call has {self.batch_size}; resume with the same settings."
            )
        opt_meta, opt_arrays = self._parse_optimizer_state(meta["optimizer"], tensors, name)
        base_lr = float(meta.get("base_lr", self.base_lr))
        if not (np.isfinite(base_lr) and base_lr > 0):
            raise _CheckpointError(f"{name}: expected base_lr > 0, got {base_lr!r}.")
        history = _history_from(meta["history"], name)
        rngs = meta["rng"]
        probe = type(self.rng.bit_generator)()
        probe.state = rngs["fit"]  # raises on a malformed state, before self.rng is touched
        layer_rngs = {}
        for i, layer in enumerate(self.model.layers):
            rng = getattr(layer, "rng", False)  # None: fit gives it a generator before resuming
            if str(i) in rngs and (rng is None or isinstance(rng, np.random.Generator)):
                probe = np.random.PCG64() if rng is None else type(rng.bit_generator)()
                probe.state = rngs[str(i)]
                layer_rngs[i] = rngs[str(i)]
        progress = None
        if "progress" in meta:
            progress = self._parse_progress(meta["progress"], tensors, train_idx, name)
        return {
            "meta": meta,
            "model": {k: v for k, v in tensors.items() if "/" not in k},
            "epochs_done": epochs_done,
            "train_idx": train_idx,
            "optimizer": opt_meta,
            "optimizer_arrays": opt_arrays,
            "base_lr": base_lr,
            "history": history,
            "rng": rngs["fit"],
            "layer_rngs": layer_rngs,
            "progress": progress,
        }

    def _parse_optimizer_state(
        self, opt_meta: Any, tensors: dict[str, np.ndarray], name: str
    ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The optimizer's saved scalars and arrays, each array matching a parameter."""
        if not isinstance(opt_meta, dict) or not _is_int(opt_meta.get("t")) or opt_meta["t"] < 0:
            got = opt_meta.get("t") if isinstance(opt_meta, dict) else opt_meta
            raise _CheckpointError(
                f"{name}: the optimizer state has no step count t >= 0 (got {got!r})."
            )
        saved_name = (opt_meta.get("config") or {}).get("name")
        current = getattr(self.optimizer, "name", None)
        if saved_name is not None and current is not None and saved_name != current:
            raise _CheckpointError(
                f"{name}: the checkpoint was written with optimizer {saved_name!r}, "
                f"this call uses {current!r}; resume with the same optimizer."
            )
        params = self.model.params()
        arrays = {}
        for key, array in tensors.items():
            if not key.startswith("optimizer/"):
                continue
            slot = key[len("optimizer/") :]
            target = params.get(slot.rpartition("/")[0])
            if target is None or array.shape != target.shape or array.dtype.kind != "f":
                raise _CheckpointError(
                    f"{name}: optimizer state {slot!r} (shape {array.shape}, {array.dtype.name}) "
                    "matches no parameter of this model."
                )
            bad = first_nonfinite(array)
            if bad is not None:
                raise _CheckpointError(
                    f"{name}: optimizer state {slot!r} contains NaN or inf "
                    f"({array[bad].item()} at index {list(bad)}); expected finite values."
                )
            arrays[slot] = array.astype(target.dtype, copy=False)
        return opt_meta, arrays

    def _parse_progress(
        self, saved: Any, tensors: dict[str, np.ndarray], train_idx: np.ndarray, name: str
    ) -> dict[str, Any]:
        """Where an interrupted epoch stopped: its row order, next step and running sums."""
        n_steps = len(batch_bounds(len(train_idx), self.batch_size, self.min_rows)) - 1
        step = saved["step"]
        if not _is_int(step) or not 0 <= step < n_steps:
            raise _CheckpointError(
                f"{name}: expected the interrupted epoch's step in [0, {n_steps}), got {step!r}."
            )
        sums = float(saved["loss_sum"]), float(saved["weight_sum"])
        if not np.isfinite(sums).all():
            raise _CheckpointError(f"{name}: the interrupted epoch's loss sums are not finite.")
        order = tensors.get("progress/order")
        if (
            order is None
            or order.dtype.kind not in "iu"
            or order.shape != train_idx.shape
            or not np.array_equal(np.sort(order), np.sort(train_idx))
        ):
            raise _CheckpointError(
                f"{name}: the interrupted epoch's row order is not a permutation of its "
                "training rows."
            )
        collected = None
        if self.metrics:
            collected = tensors.get("progress/collected")
            shape = (len(order), self.model.n_out or 1)
            if collected is None or collected.shape != shape or collected.dtype.kind != "f":
                raise _CheckpointError(
                    f"{name}: the interrupted epoch has no outputs of shape {shape} for the "
                    "metrics; resume with the metrics it was started with."
                )
            collected = np.array(collected, dtype=self.model.dtype)
        return {
            "order": order.astype(np.int64),
            "step": step,
            "loss_sum": sums[0],
            "weight_sum": sums[1],
            "collected": collected,
        }

    def _restore(self, saved: dict[str, Any]) -> dict[str, Any] | None:
        """Apply a checkpoint read by :meth:`_read_checkpoint`; return the epoch's progress."""
        assert self.checkpoint is not None
        io.assign_model_tensors(self.model, saved["model"], self.checkpoint)
        if hasattr(self.optimizer, "load_state_dict"):
            self.optimizer.load_state_dict(saved["optimizer"], saved["optimizer_arrays"])
        self.base_lr = saved["base_lr"]
        self.history = saved["history"]
        self.rng.bit_generator.state = saved["rng"]
        for i, state in saved["layer_rngs"].items():
            layer = self.model.layers[i]
            if isinstance(getattr(layer, "rng", None), np.random.Generator):
                layer.rng.bit_generator.state = state
        if self.val_from_split:
            # the held-out rows are those the checkpoint did not train on, whatever rng is given
            self._hold_out(saved["train_idx"])
        else:
            self.train_idx = saved["train_idx"]
        self.start_epoch = saved["epochs_done"]
        return saved["progress"]
