"""The array module in use and the default floating-point dtype.

fcnet computes with NumPy. The default dtype is float32 (fast, half the memory); float64 is
used on request (``dtype=`` on constructors, or :func:`set_dtype`) and always by the gradient
checker.

BLAS threads: ``fit`` picks how many threads the matrix products use from the size of one
step's largest product (:func:`blas_threads_for`) and restores the previous limits when it
returns. ``predict`` shares its blocks of rows out between the calling thread and helper threads
(:func:`worker_threads` of them in all, :func:`run_concurrently`), each with a single-threaded
BLAS. :func:`set_num_threads` overrides both choices.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from fcnet._validation import check_positive_int

xp = np

_SUPPORTED = (np.dtype(np.float32), np.dtype(np.float64))
_default_dtype = np.dtype(np.float32)


def get_dtype() -> np.dtype:
    """Return the default floating-point dtype for new parameters (float32 unless changed)."""
    return _default_dtype


def set_dtype(dtype: Any) -> None:
    """Set the default floating-point dtype: ``"float32"`` or ``"float64"``.

    Parameters
    ----------
    dtype : str or numpy dtype
        ``float32`` or ``float64``.
    """
    global _default_dtype
    _default_dtype = resolve_dtype(dtype)


def resolve_dtype(dtype: Any = None) -> np.dtype:
    """Turn ``None`` (the default dtype) or a dtype-like into a supported float dtype."""
    if dtype is None:
        return _default_dtype
    try:
        resolved = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype: expected 'float32' or 'float64', got {dtype!r}.") from exc
    if resolved not in _SUPPORTED:
        raise ValueError(f"dtype: expected 'float32' or 'float64', got {resolved.name!r}.")
    return resolved


# --- BLAS threads ----------------------------------------------------------------------------
# Measured on 2 cores (benchmarks/mlp.py, OpenBLAS): a threaded product pays only when it is
# large. Below about 4M multiply-adds (batch 32 through a 256 x 256 layer: 2.1M) the second
# thread lost up to half the throughput: each product is too short to split, and the BLAS worker
# then spins between products, slowing the single-threaded element-wise passes and weight
# updates of the main thread. From 784 x 256 at batch 32 (6.4M) upward the second thread won.
THREADED_PRODUCT_MIN = 1 << 22

_num_threads: int | None = None
_blas_controller: Any = None


def set_num_threads(n: int | None) -> None:
    """Set the number of threads ``fit`` and ``predict`` use; None restores the automatic
    choice (in ``fit``, BLAS threads: one for small products, the BLAS default otherwise; in
    ``predict``, threads that each compute their own blocks of rows: as many as the BLAS has).

    The limit applies only while fcnet computes; the previous limits are restored afterwards.

    Parameters
    ----------
    n : int >= 1 or None
    """
    global _num_threads
    _num_threads = None if n is None else check_positive_int("set_num_threads", "n", n)


def get_num_threads() -> int | None:
    """The number set by :func:`set_num_threads`, or None for the automatic choice."""
    return _num_threads


def blas_threads_for(largest_product: int) -> int | None:
    """BLAS threads for a step whose largest matrix product has ``largest_product``
    multiply-adds: the user's setting, else 1 below :data:`THREADED_PRODUCT_MIN`, else None
    (the BLAS default, normally one thread per core)."""
    if _num_threads is not None:
        return _num_threads
    return 1 if largest_product < THREADED_PRODUCT_MIN else None


#: Seconds the BLAS's worker threads keep spinning after a threaded product (OpenBLAS: 2^28
#: cycles by default, about 0.1 s), with margin. Helper threads started in that window share the
#: cores with them: measured on 2 cores, inference of 4,096 rows just after a training epoch took
#: 22.9 ms in two threads against 12.6 ms in one.
BLAS_SPIN_S = 0.25

_threaded_blocks = 0  # blas_threads blocks open with a threaded BLAS
_threaded_until = 0.0  # time.monotonic() before which the BLAS's workers may still spin
_threaded_lock = threading.Lock()  # fit and predict may run in several threads at once


@contextmanager
def blas_threads(n: int | None) -> Iterator[None]:
    """Limit the BLAS to ``n`` threads inside the block (None: leave it alone), then restore.

    A block whose BLAS may use several threads (``n`` None or above 1) also marks the BLAS as
    busy, until :data:`BLAS_SPIN_S` after it ends (see :func:`blas_idle`).
    """
    global _threaded_blocks, _threaded_until
    threaded = n is None or n > 1
    if threaded:
        with _threaded_lock:
            _threaded_blocks += 1
    try:
        controller = _controller() if n is not None else None
        if controller is None:
            yield
        else:
            with controller.limit(limits=n, user_api="blas"):
                yield
    finally:
        if threaded:
            with _threaded_lock:
                _threaded_blocks -= 1
                _threaded_until = time.monotonic() + BLAS_SPIN_S


def blas_idle() -> bool:
    """False inside, or less than :data:`BLAS_SPIN_S` after, a block of fcnet's own that let
    the BLAS use several threads (its workers may still be spinning); True otherwise."""
    return _threaded_blocks == 0 and time.monotonic() >= _threaded_until


def _controller() -> Any:
    global _blas_controller
    if _blas_controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # a core dependency, but fcnet still computes without it
            _blas_controller = False
        else:
            _blas_controller = ThreadpoolController()
    return _blas_controller or None


def _blas_thread_count() -> int | None:
    """The BLAS's current thread count (the largest, if several BLAS libraries are loaded)."""
    controller = _controller()
    if controller is None:
        return None
    counts = [lib.num_threads for lib in controller.lib_controllers if lib.user_api == "blas"]
    return max(counts, default=None)


def worker_threads() -> int:
    """Threads fcnet's own parallel loops use (``predict``): the number given to
    :func:`set_num_threads`, else the BLAS's thread count (normally one per core), at most the
    cores this process may run on."""
    if _num_threads is not None:
        return _num_threads
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    blas = _blas_thread_count()
    return max(1, min(cores, blas if blas is not None else cores))


# --- helper threads ----------------------------------------------------------------------------
# Inference splits its blocks of rows between the calling thread and helper threads, each running
# single-threaded matrix products (NumPy releases the GIL inside them and inside its element-wise
# loops). Measured on 2 cores (784-256-128-10, 65,536 rows): the bias and activation passes then
# run in parallel too, 0.94-0.95 of the two-thread GEMM bound against 0.86-0.89 with a two-thread
# BLAS and single-threaded passes.


class _Helper:
    """A daemon thread that runs one job at a time, handed over through two locks."""

    def __init__(self) -> None:
        self._start = threading.Lock()
        self._start.acquire()
        self._finished = threading.Lock()
        self._finished.acquire()
        self._job: Callable[[], None] | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._loop, name="fcnet-helper", daemon=True).start()

    def _loop(self) -> None:
        while True:
            self._start.acquire()
            try:
                assert self._job is not None
                self._job()
            except BaseException as exc:  # handed to the caller by join()
                self._error = exc
            finally:
                self._job = None
                self._finished.release()

    def submit(self, job: Callable[[], None]) -> None:
        self._error = None
        self._job = job
        self._start.release()

    def join(self) -> BaseException | None:
        """Wait for the job; return the exception it raised, if any."""
        self._finished.acquire()
        error, self._error = self._error, None
        return error


_helpers: list[_Helper] = []
_helpers_lock = threading.Lock()


def _forget_helpers() -> None:
    """In a forked child: the helper threads do not exist, and a lock held by another of the
    parent's threads would stay held."""
    global _helpers, _helpers_lock, _threaded_lock
    _helpers = []
    _helpers_lock = threading.Lock()
    _threaded_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_helpers)


def run_concurrently(jobs: Sequence[Callable[[], None]]) -> None:
    """Run ``jobs[0]`` in this thread and the others in helper threads, all at once; return
    when every job has finished.

    An exception from this thread's job propagates once the helpers are done; otherwise the
    first helper exception (in job order) is raised. When the helpers are busy (another thread is
    inside this function), the jobs run one after another in this thread instead.
    """
    if len(jobs) <= 1 or not _helpers_lock.acquire(blocking=False):
        for job in jobs:
            job()
        return
    try:
        while len(_helpers) < len(jobs) - 1:
            _helpers.append(_Helper())
        started: list[_Helper] = []
        try:
            for helper, job in zip(_helpers, jobs[1:], strict=False):
                helper.submit(job)
                started.append(helper)
            jobs[0]()
        finally:
            errors = [helper.join() for helper in started]
        for error in errors:
            if error is not None:
                raise error
    finally:
        _helpers_lock.release()
