"""Inference by blocks of rows, shared between threads on the CPU: each thread computes with
copies of the layers that share their parameters but own their scratch buffers."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from functools import partial
from typing import Any

import numpy as np

from fcnet._buffers import Buffers
from fcnet._ops import NumpyOps
from fcnet._ops.base import OWN_ACTIVATIONS
from fcnet._validation import check_finite_rows
from fcnet.activations import Activation
from fcnet.backend import get_num_threads
from fcnet.layers import BatchNorm, Dense, Dropout, Embedding, LayerNorm

# Inference computes at most this many rows at a time, whatever the batch_size, so that Z is
# still in cache when the bias and activation passes read it after the product. Measured on 2
# cores (predict, 784-256-128-10, 65,536 rows, two threads each with its own blocks; medians of
# 20 runs taking turns): blocks of 512 rows were 2.5% faster than blocks of 1,024 (6.5% with
# AVX2 kernels), whose 1 MB Z of the first layer fills a core's L2 beside the product's panels of
# W; blocks of 256 rows were between the two. Before inference ran in helper threads, one thread
# reached 0.90 of the GEMM bound in blocks of 512 or 1,024 rows, 0.86-0.87 in blocks of 4,096.
_INFERENCE_ROWS = 512


def _parallel_safe(layers: Sequence[Any]) -> bool:
    """True when every layer is one of fcnet's own, whose inference touches nothing but its
    parameters (read) and its scratch buffers, so that copies with their own buffers can run
    side by side. A custom layer keeps inference in one thread."""
    for layer in layers:
        kind = type(layer)
        if kind in (Dense, Dropout, BatchNorm, LayerNorm, Embedding):
            activation = getattr(layer, "activation", None)
            if activation is not None and type(activation).__module__ != OWN_ACTIVATIONS:
                return False
        elif not (isinstance(layer, Activation) and kind.__module__ == OWN_ACTIVATIONS):
            return False
    return True


def _worker_copy(obj: Any) -> Any:
    """A shallow copy of a layer (or activation) sharing its parameters but with its own empty
    scratch buffers, for inference in another thread."""
    clone = copy.copy(obj)
    for name, value in vars(obj).items():
        if isinstance(value, Buffers):
            setattr(clone, name, Buffers())
        elif isinstance(value, Activation):
            setattr(clone, name, _worker_copy(value))
    return clone


def _run_blocks_in_threads(
    ops: NumpyOps,
    layers: Sequence[Any],
    result: np.ndarray,
    run_block: Callable[[int, list[Callable[[np.ndarray], np.ndarray]]], np.ndarray],
    n_blocks: int,
    rows: int,
    threads: int,
) -> None:
    """Blocks 1 .. n_blocks - 1 into ``result``, in ``threads`` threads.

    Each thread takes the next block not yet taken (a shared counter) rather than a fixed share,
    so that a thread the machine slows down computes fewer blocks instead of holding the others
    up. Which thread computed a block does not change it: each runs the same single-threaded
    products.
    """
    failed: list[Any] = [n_blocks, None]  # the earliest failing block and its error
    lock = threading.Lock()
    taken = [0]  # the last block handed out

    def next_block() -> int:
        with lock:
            taken[0] += 1
            return taken[0]

    def job(copies: Sequence[Any]) -> Callable[[], None]:
        def work() -> None:
            steps = [_inference_step(layer) for layer in copies]
            while True:
                k = next_block()
                if k >= n_blocks or k > failed[0]:
                    return
                try:
                    A = run_block(k, steps)
                except Exception as exc:
                    with lock:
                        if k < failed[0]:
                            failed[:] = [k, exc]
                    return
                except BaseException:  # an interrupt: stop every thread at its next block
                    failed[0] = -1
                    raise
                result[k * rows : k * rows + len(A)] = A

        return work

    jobs = [job(layers)]
    jobs += [job([_worker_copy(layer) for layer in layers]) for _ in range(1, threads)]
    ops.run_concurrently(jobs)
    if failed[1] is not None:
        raise failed[1]


def _inference_step(layer: Any) -> Callable[[np.ndarray], np.ndarray]:
    """``layer.infer`` when the class that defines ``layer.forward`` also defines ``infer`` (a
    subclass that overrides only ``forward`` keeps its own), else ``forward`` in inference mode.
    """
    for cls in type(layer).__mro__:
        if "forward" in vars(cls):
            if "infer" in vars(cls):
                return layer.infer
            break
    return partial(layer.forward, training=False)


def predict_raw(
    model: Any, X: np.ndarray, batch_size: int, check_finite: str | None = None
) -> np.ndarray:
    """Y_hat for validated X, at most ``batch_size`` rows at a time, through each layer's
    cache-free ``infer`` where it has one. ``check_finite`` names the caller when X still
    needs its NaN/inf scan (done per block of rows, just before the block is used).

    Built-in layers compute through copies that share their parameters but own their scratch
    buffers (so concurrent calls on one model do not collide). The first block runs in this
    thread; the others are shared out, each thread taking the next block not yet taken, between
    this thread and t - 1 helper threads (``worker_threads``), each with its own copies and a
    single-threaded BLAS, unless fcnet ran a threaded BLAS moments ago (``blas_idle``: in
    ``fit``, or just after it), whose spinning workers would slow the helpers down; the blocks
    then all run in this thread, still with a single-threaded BLAS, so that the result is the
    same to the last bit however many threads computed it and whenever it was asked for (a BLAS
    may sum a product in another order when it splits it between threads; the limit is one per
    process, so calls made at once from several threads of the user's may still differ by
    rounding). A block that fails stops the threads at their next block, and the error of the
    earliest failing block is raised, as if the blocks had run in order.
    """
    m = X.shape[0]
    rows = min(batch_size, _INFERENCE_ROWS)
    n_blocks = -(-m // rows)
    layers = model.layers
    ops = model.ops
    on_cpu = isinstance(ops, NumpyOps)  # threads are the CPU's; a device takes the blocks
    safe = on_cpu and _parallel_safe(layers)
    threads = ops.inference_threads(n_blocks) if safe else 1
    if safe:
        layers = [_worker_copy(layer) for layer in layers]

    def run_block(k: int, steps: list[Callable[[np.ndarray], np.ndarray]]) -> np.ndarray:
        start = k * rows
        A = X[start : start + rows]
        if check_finite is not None:
            check_finite_rows(check_finite, "X", A, start)
        if not on_cpu:
            A = ops.asarray(A)
        for step in steps:
            A = step(A)
        return A if on_cpu else ops.to_host(A)

    try:
        with ops.blas_threads(1 if safe else get_num_threads()) if on_cpu else nullcontext():
            steps = [_inference_step(layer) for layer in layers]
            A = run_block(0, steps)
            result = np.empty((m, A.shape[1]), dtype=A.dtype)
            result[: len(A)] = A
            if threads <= 1:
                for k in range(1, n_blocks):
                    A = run_block(k, steps)
                    result[k * rows : k * rows + len(A)] = A
            else:
                _run_blocks_in_threads(ops, layers, result, run_block, n_blocks, rows, threads)
    finally:
        if not safe:  # the model's own layers computed: drop what they cached
            model.release_caches()
    return result
