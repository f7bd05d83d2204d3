"""Inference in helper threads: the same numbers as one thread, errors as if run in order."""

from __future__ import annotations

import os
import threading
import time
import warnings

import numpy as np
import pytest

import fcnet
import fcnet._inference
from fcnet import backend
from fcnet._ops import NumpyOps
from fcnet.activations import Tanh


@pytest.fixture
def spied_jobs(monkeypatch):
    """Record, per call of ``run_concurrently``, the thread each job ran in."""
    calls: list[list[int]] = []
    original = NumpyOps.run_concurrently

    def spy(self, jobs):
        threads: list[int] = []
        calls.append(threads)

        def wrap(job):
            def run():
                threads.append(threading.get_ident())
                job()

            return run

        original(self, [wrap(job) for job in jobs])

    monkeypatch.setattr(NumpyOps, "run_concurrently", spy)
    return calls


@pytest.fixture
def threads(monkeypatch):
    """``fcnet.set_num_threads`` for the test, restored afterwards; the BLAS starts idle (no
    threaded product of an earlier test still within ``BLAS_SPIN_S``)."""
    monkeypatch.setattr(backend, "_threaded_until", 0.0)
    yield fcnet.set_num_threads
    fcnet.set_num_threads(None)


def _model() -> fcnet.Sequential:
    rng = np.random.default_rng(5)
    bn = fcnet.BatchNorm(32)
    bn.running_mean[...] = rng.normal(size=32)
    bn.running_var[...] = rng.uniform(0.5, 2.0, size=32)
    bn.gamma[...] = rng.uniform(0.5, 1.5, size=32)
    bn.beta[...] = rng.normal(size=32)
    return fcnet.Sequential(
        [
            fcnet.Dense(12, 32, "relu", rng=0),
            bn,
            fcnet.Dropout(0.3),
            fcnet.Dense(32, 24, "gelu", rng=1),
            fcnet.LayerNorm(24),
            Tanh(),
            fcnet.Dense(24, 5, "softmax", rng=2),
        ]
    )


def _X(m: int = 5000) -> np.ndarray:
    return np.random.default_rng(1).standard_normal((m, 12)).astype(np.float32)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_parallel_predict_equals_one_thread_exactly(n, threads, spied_jobs):
    model, X = _model(), _X()
    threads(1)
    expected = model.predict_output(X, batch_size=1000)
    assert spied_jobs == []  # one thread: no helpers
    np.testing.assert_allclose(expected, model.forward(X), rtol=1e-5, atol=1e-6)
    threads(n)
    got = model.predict_output(X, batch_size=1000)
    np.testing.assert_array_equal(got, expected)
    # blocks 1..4 shared by min(n, 4) threads: this one and helpers, each a different thread
    (ran,) = spied_jobs
    assert len(ran) == min(n, 4)
    assert ran[0] == threading.get_ident()
    assert len(set(ran)) == len(ran)


def test_parallel_predict_keeps_no_caches_and_writes_nothing(threads):
    model, X = _model(), _X()
    before = {k: v.copy() for k, v in model.params().items()}
    running = [model.layers[1].running_mean.copy(), model.layers[1].running_var.copy()]
    X_before = X.copy()
    threads(2)
    model.predict(X, batch_size=1000)
    for layer in model.layers:
        assert not layer._buffers._arrays
        for name in ("X", "Z", "A"):
            assert getattr(layer, name, None) is None
    for key, value in model.params().items():
        np.testing.assert_array_equal(value, before[key])
    np.testing.assert_array_equal(model.layers[1].running_mean, running[0])
    np.testing.assert_array_equal(model.layers[1].running_var, running[1])
    np.testing.assert_array_equal(X, X_before)


def test_batchnorm_infer_equals_forward_in_inference_mode():
    bn = _model().layers[1]
    X = np.random.default_rng(2).standard_normal((300, 32)).astype(np.float32)
    got = bn.infer(X).copy()  # forward writes the same buffer
    np.testing.assert_array_equal(got, bn.forward(X, training=False))
    fresh = fcnet.BatchNorm(32)
    assert not np.array_equal(got, fresh.infer(X))  # the running statistics were used


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        # blocks of 1000 rows, each computed by whichever thread is free
        ({2100: np.inf, 1500: np.nan}, r"NaN at row 1500, column 3"),
        ({2100: np.inf, 3500: np.nan}, r"inf at row 2100, column 3"),
        ({4999: np.nan}, r"NaN at row 4999, column 3"),
    ],
)
def test_the_earliest_bad_row_is_reported_whichever_thread_finds_it(bad, expected, threads):
    model, X = _model(), _X()
    for row, value in bad.items():
        X[row, 3] = value
    threads(2)
    with pytest.raises(ValueError, match=rf"^predict: X contains {expected}"):
        model.predict(X, batch_size=1000)
    for layer in model.layers:
        assert not layer._buffers._arrays


def test_a_thread_held_up_computes_fewer_blocks():
    # blocks go to whichever thread is free, not in fixed shares: while this thread is held up
    # on its first block, the helper computes all the others (in shares, this thread would
    # have computed every other block)
    n_blocks, rows = 12, 2
    result = np.zeros((n_blocks * rows, 4), np.float32)
    caller = threading.get_ident()
    ran_by: dict[int, int] = {}

    def run_block(k, steps):
        ran_by[k] = threading.get_ident()
        if ran_by[k] == caller:
            time.sleep(0.2)
        return np.full((rows, 4), k, np.float32)

    layers = [fcnet.Dense(3, 4, rng=0)]
    fcnet._inference._run_blocks_in_threads(
        fcnet._ops.default_ops(), layers, result, run_block, n_blocks, rows, 2
    )
    assert sorted(ran_by) == list(range(1, n_blocks))  # each block once; block 0 is not theirs
    np.testing.assert_array_equal(result[:, 0], np.repeat(np.arange(n_blocks), rows))
    assert list(ran_by.values()).count(caller) <= 2


def test_a_custom_layer_keeps_inference_in_one_thread(threads, spied_jobs):
    class Doubled(fcnet.Dense):
        def infer(self, X):
            return 2.0 * super().infer(X)

    model = fcnet.Sequential([Doubled(12, 4, rng=0)])
    threads(2)
    out = model.predict_output(_X(), batch_size=1000)
    assert spied_jobs == []
    plain = fcnet.Sequential([fcnet.Dense(12, 4, rng=0)])
    np.testing.assert_allclose(out, 2.0 * plain.forward(_X()))


def test_concurrent_predicts_on_one_model_agree(threads):
    model, X = _model(), _X()
    threads(1)
    expected = model.predict_output(X, batch_size=1000)
    threads(2)
    results: list[np.ndarray] = [None] * 4  # type: ignore[list-item]

    def run(i: int) -> None:
        results[i] = model.predict_output(X, batch_size=1000)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    # The BLAS thread limit is one per process (threadpoolctl lets one thread at a time set it),
    # so a call may compute some blocks while another call's limit is lifted, with a threaded
    # BLAS that rounds differently: the same numbers up to rounding. Buffers shared between the
    # calls would show as errors of the size of the values.
    for result in results:
        np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-6)


def test_run_concurrently_raises_the_first_helper_error_after_all_jobs_finish():
    finished = []

    def ok(i):
        return lambda: finished.append(i)

    def fail(message):
        def run():
            raise RuntimeError(message)

        return run

    with pytest.raises(RuntimeError, match="first"):
        backend.run_concurrently([ok(0), fail("first"), ok(2), fail("second")])
    assert sorted(finished) == [0, 2]
    # the helpers are free again
    backend.run_concurrently([ok(3), ok(4)])
    assert sorted(finished) == [0, 2, 3, 4]


def test_worker_threads_follows_set_num_threads(threads):
    threads(3)
    assert backend.worker_threads() == 3
    threads(None)
    assert backend.worker_threads() >= 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_parallel_predict_works_in_a_forked_child(threads):
    model, X = _model(), _X()
    threads(2)
    expected = model.predict_output(X, batch_size=1000)  # starts the helper in this process
    with warnings.catch_warnings():  # Python 3.12+ warns about forking with threads
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: the parent's helper thread does not exist here
        code = 1
        try:
            got = model.predict_output(X, batch_size=1000)
            code = 0 if np.array_equal(got, expected) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_inference_stays_in_one_thread_while_the_blas_workers_may_spin(threads, spied_jobs):
    model, X = _model(), _X()
    threads(2)
    expected = model.predict_output(X, batch_size=1000)
    assert len(spied_jobs) == 1
    with backend.blas_threads(None):  # as in fit: a threaded BLAS, its workers busy
        assert not backend.blas_idle()
        np.testing.assert_array_equal(model.predict_output(X, batch_size=1000), expected)
    assert not backend.blas_idle()  # and for BLAS_SPIN_S after
    np.testing.assert_array_equal(model.predict_output(X, batch_size=1000), expected)
    assert len(spied_jobs) == 1
    backend._threaded_until = 0.0  # the spin window has passed
    assert backend.blas_idle()
    np.testing.assert_array_equal(model.predict_output(X, batch_size=1000), expected)
    assert len(spied_jobs) == 2
    with backend.blas_threads(1):  # a single-threaded BLAS leaves no spinning workers
        pass
    assert backend.blas_idle()


def test_inference_gives_the_same_bits_whenever_and_however_threaded(threads):
    # A BLAS may sum a product in another order when it splits it between threads (OpenBLAS
    # does for these shapes, K = 784): every block therefore runs with a single-threaded BLAS,
    # in helper threads or not, and predict right after fit equals predict a second later.
    rng = np.random.default_rng(11)
    model = fcnet.Sequential([fcnet.Dense(784, 256, "relu", rng=1), fcnet.Dense(256, 10, rng=2)])
    X = rng.standard_normal((3000, 784)).astype(np.float32)
    expected = model.predict_output(X, batch_size=1024)  # idle: blocks shared with helpers
    with backend.blas_threads(None):  # as in fit: the BLAS may use all its threads
        np.testing.assert_array_equal(model.predict_output(X, batch_size=1024), expected)
    for n in (1, 2, 3):
        threads(n)
        backend._threaded_until = 0.0
        np.testing.assert_array_equal(model.predict_output(X, batch_size=1024), expected)


def test_validation_inside_fit_stays_in_one_thread(threads, spied_jobs):
    X = _X(6000)  # 3,000 validation rows: 3 blocks, enough for helpers
    y = np.random.default_rng(3).integers(0, 5, len(X))
    threads(2)
    model = _model()
    model.fit(X, y, epochs=1, batch_size=512, validation_split=0.5, rng=0)
    assert spied_jobs == []
    backend._threaded_until = 0.0
    model.evaluate(X[:3000], y[:3000], batch_size=1024)  # the same rows outside fit: helpers
    assert len(spied_jobs) == 1
