"""Data-parallel training in processes simulated by threads (fcnet.distributed.simulate): N
processes train the model one process trains, to rounding, whatever the options; every
process holds the same parameters; failures of one process become the same error on all.

The same code runs over MPI in tests/test_distributed_mpi.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import fcnet
from fcnet import distributed as dist
from fcnet.callbacks import CSVLogger, EarlyStopping, LambdaCallback
from fcnet.distributed import SimulatedWorld, simulate
from fcnet.train.grads import GradBuffer

RTOL = 1e-12


def data(m=150, n=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n))
    y = rng.integers(0, k, m)
    return X, y


def net(*, bn=False, dropout=0.0, l2=0.0, n_in=5, n_out=3, seed=1):
    layers = [fcnet.Dense(n_in, 8, activation="tanh", rng=seed, dtype="float64")]
    if bn:
        layers.append(fcnet.BatchNorm(8, dtype="float64"))
    if dropout:
        layers.append(fcnet.Dropout(dropout))
    layers.append(fcnet.Dense(8, n_out, rng=seed + 1, dtype="float64", l2=l2))
    return fcnet.Sequential(layers)


def params(model):
    return [p.copy() for p in model.params().values()]


def assert_close(got, want, rtol=RTOL):
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())


def train_parallel(size, build, fit_args, fit_kwargs):
    """Every simulated process builds its model and fits; returns [(params, history)]."""

    def run(comm):
        model = build()
        history = model.fit(*fit_args, distributed=comm, **fit_kwargs)
        return params(model), history

    return simulate(size, run)


CASES = {
    "adam": (dict(), dict()),
    "sgd momentum, cosine": (
        dict(),
        dict(optimizer=lambda: fcnet.optimizers.SGD(lr=0.05, momentum=0.9), schedule="cosine"),
    ),
    "plain sgd": (dict(), dict(optimizer="sgd", lr=0.1)),
    "clip_norm": (dict(), dict(optimizer="sgd", lr=0.5, clip_norm=0.05)),
    "weights": (dict(), dict(sample_weight=np.linspace(0.0, 2.0, 150), class_weight="balanced")),
    "validation and metrics": (
        dict(),
        dict(validation_split=0.2, metrics=["accuracy", "f1"]),
    ),
    "dropout": (dict(dropout=0.3), dict(metrics=["accuracy"])),
    "batchnorm": (dict(bn=True), dict(optimizer="rmsprop")),
    "batchnorm, dropout, l2": (dict(bn=True, dropout=0.2, l2=0.01), dict(optimizer="adamw")),
    "early stopping": (
        dict(),
        dict(
            lr=0.05,
            validation_data=data(40, seed=3),
            callbacks=lambda: [EarlyStopping(monitor="val_loss", patience=0)],
            epochs=8,
        ),
    ),
}


@pytest.mark.parametrize("size", [2, 3])
@pytest.mark.parametrize("case", sorted(CASES))
def test_n_processes_train_the_model_of_one(case, size):
    model_kw, fit_kw = CASES[case]
    X, y = data()
    kw = dict(epochs=3, batch_size=20, rng=0) | fit_kw

    def fresh():  # objects with state (optimizers, callbacks), one per fit
        return {k: v() if callable(v) else v for k, v in kw.items()}

    one = net(**model_kw)
    want = one.fit(X, y, **fresh())

    def run(comm):
        model = net(**model_kw)
        history = model.fit(X, y, distributed=comm, **fresh())
        return params(model), history

    results = simulate(size, run)
    for got, history in results:
        assert_close(got, params(one))
        assert history.epoch == want.epoch
        for key, values in want.history.items():
            np.testing.assert_allclose(history.history[key], values, rtol=1e-10)
    for got, _ in results[1:]:  # every process holds the same parameters, bit for bit
        assert all(np.array_equal(a, b) for a, b in zip(got, results[0][0], strict=True))


def test_regression_and_binary_outputs_match_one_process():
    X, _ = data()
    targets = {
        "mse": np.stack([X[:, 0] - X[:, 1], X[:, 2]], axis=1),
        "binary_cross_entropy": (X[:, 0] > 0).astype(np.float64),
    }
    for loss, Y in targets.items():
        n_out = Y.shape[1] if Y.ndim == 2 else 1
        kw = dict(loss=loss, epochs=2, batch_size=16, rng=0)
        one = net(n_out=n_out)
        one.fit(X, Y, **kw)
        for got, _ in train_parallel(2, lambda n=n_out: net(n_out=n), (X, Y), kw):
            assert_close(got, params(one))


def test_the_same_run_twice_is_identical_bit_for_bit():
    X, y = data()
    kw = dict(epochs=2, batch_size=16, rng=0, metrics=["accuracy"])
    first = train_parallel(3, lambda: net(bn=True, dropout=0.3), (X, y), kw)
    second = train_parallel(3, lambda: net(bn=True, dropout=0.3), (X, y), kw)
    for (a, _), (b, _) in zip(first, second, strict=True):
        assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))


def test_process_0_initial_weights_and_generator_are_everyones():
    X, y = data()

    def run(comm):
        model = net(dropout=0.2, seed=1 + 10 * comm.rank)  # each process its own init
        model.fit(X, y, epochs=2, batch_size=16, rng=None, distributed=comm)  # and its own seed
        return params(model)

    results = simulate(2, run)
    assert all(np.array_equal(a, b) for a, b in zip(results[0], results[1], strict=True))


def test_a_last_batch_with_fewer_rows_than_processes_joins_the_one_before():
    X, y = data(m=41)  # batches of 10: the last has 1 row, fewer than 2 processes
    results = train_parallel(2, net, (X, y), dict(epochs=1, batch_size=10, rng=0))
    assert all(np.array_equal(a, b) for a, b in zip(results[0][0], results[1][0], strict=True))


def test_zero_weight_batches_are_skipped_by_every_process():
    X, y = data()
    weights = np.ones(150)
    weights[:75] = 0.0  # without shuffling, the first batches weigh nothing
    kw = dict(epochs=1, batch_size=25, shuffle=False, sample_weight=weights, rng=0)
    one = net()
    one.fit(X, y, **kw)
    for got, _ in train_parallel(2, net, (X, y), kw):
        assert_close(got, params(one))


def test_divergence_stops_every_process_at_the_same_step():
    X, _ = data()
    Y = 1e150 * X[:, :1]  # the squared error of a few steps of lr=1e10 overflows

    def run(comm):
        model = net(n_out=1)
        with (
            np.errstate(over="ignore", invalid="ignore"),
            pytest.raises(fcnet.TrainingDiverged) as info,
        ):
            model.fit(X, Y, loss="mse", optimizer="sgd", lr=1e10, batch_size=16, distributed=comm)
        assert all(np.isfinite(p).all() for p in model.params().values())
        return info.value.epoch, info.value.batch, str(info.value), params(model)

    results = simulate(2, run)
    assert results[0][:3] == results[1][:3]
    assert all(np.array_equal(a, b) for a, b in zip(results[0][3], results[1][3], strict=True))


def outcomes(size, function):
    """Each simulated process's exception (or None), in rank order."""

    def run(comm):
        try:
            function(comm)
        except Exception as exc:
            return exc
        return None

    return simulate(size, run)


def test_a_callback_failing_on_one_process_fails_all_with_its_message():
    X, y = data()

    def run(comm):
        def callback(epoch, logs, model):
            if comm.rank == 1 and epoch == 1:
                raise KeyError("the callback of process 1 broke")

        net().fit(
            X, y, epochs=3, batch_size=16, distributed=comm, callbacks=[LambdaCallback(callback)]
        )

    errors = outcomes(3, run)
    assert all(type(e) is KeyError for e in errors)
    assert len({str(e) for e in errors}) == 1 and "process 1 broke" in str(errors[0])
    assert all("(raised by process 1 of 3)" in e.__notes__ for e in errors)


def test_a_layer_failing_on_one_process_fails_all_at_that_step():
    X, y = data()

    class Fragile(fcnet.Dense):
        def forward(self, X, training=False):
            if training and self.rank == 1:
                self.steps += 1
                if self.steps == 4:
                    raise ValueError("Fragile: step 4 of process 1")
            return super().forward(X, training)

    def run(comm):
        last = Fragile(8, 3, rng=2, dtype="float64")
        last.rank, last.steps = comm.rank, 0
        model = fcnet.Sequential(
            [fcnet.Dense(5, 8, activation="relu", rng=1, dtype="float64"), last]
        )
        model.fit(X, y, epochs=2, batch_size=16, distributed=comm)

    errors = outcomes(2, run)
    assert [type(e) for e in errors] == [ValueError, ValueError]
    assert str(errors[0]) == str(errors[1]) == "Fragile: step 4 of process 1"


def test_a_failure_inside_batchnorm_collectives_aborts_the_others():
    X, y = data()

    def run(comm):
        model = net(bn=True)
        if comm.rank == 1:
            model.layers[1].forward = None  # fails in the middle of a step's collectives
        model.fit(X, y, epochs=1, batch_size=16, distributed=comm)

    errors = outcomes(2, run)
    assert isinstance(errors[1], TypeError)
    assert isinstance(errors[0], RuntimeError) and "another process failed" in str(errors[0])


def test_processes_given_different_data_refuse_to_train():
    X, y = data()

    def run(comm):
        mine = X + comm.rank  # process 1 loaded something else
        net().fit(mine, y, epochs=1, batch_size=16, distributed=comm)

    errors = outcomes(2, run)
    assert all(isinstance(e, ValueError) for e in errors)
    assert "process 1 of 2 was not given what process 0 was" in str(errors[0])
    assert str(errors[0]) == str(errors[1])


def test_bad_options_on_one_process_fail_all_before_training():
    X, y = data()

    def run(comm):
        net().fit(X, y, epochs=1, batch_size=16 if comm.rank == 0 else -1, distributed=comm)

    errors = outcomes(2, run)
    assert all(isinstance(e, ValueError) and "batch_size" in str(e) for e in errors)


def test_one_process_asking_to_stop_stops_all_at_the_same_epoch():
    X, y = data()

    def run(comm):
        def callback(epoch, logs, model):
            return comm.rank == 1 and epoch == 1

        model = net()
        history = model.fit(
            X, y, epochs=5, batch_size=16, distributed=comm, callbacks=[LambdaCallback(callback)]
        )
        return history.epoch, history.stopped_early, params(model)

    results = simulate(2, run)
    assert results[0][:2] == results[1][:2] == ([0, 1], True)


def test_checkpoints_are_written_by_process_0_and_resume_bit_for_bit(tmp_path):
    X, y = data()
    kw = dict(batch_size=16, rng=0, metrics=["accuracy"], validation_split=0.2)
    straight = train_parallel(2, lambda: net(bn=True, dropout=0.2), (X, y), kw | {"epochs": 4})
    path = tmp_path / "run.ckpt"
    log = tmp_path / "log.csv"

    def run(comm, epochs, resume):
        model = net(bn=True, dropout=0.2)
        history = model.fit(
            X,
            y,
            epochs=epochs,
            checkpoint=path,
            resume=resume,
            callbacks=[CSVLogger(log, append=resume)],
            distributed=comm,
            **kw,
        )
        return params(model), history

    simulate(2, lambda comm: run(comm, 2, False))
    resumed = simulate(2, lambda comm: run(comm, 4, True))
    for (got, history), (want, want_history) in zip(resumed, straight, strict=True):
        assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))
        assert history.history == want_history.history
    lines = log.read_text().splitlines()
    assert lines[0].startswith("epoch,") and [line.split(",")[0] for line in lines[1:]] == list(
        "0123"
    )


class Signal(fcnet.Dense):
    """A Dense layer that, in one process's training forward pass number ``at``, raises that
    process's interrupt flag as SIGTERM would (threads get no signals)."""

    guards: dict = {}

    def __init__(self, *args, rank=-1, at=-1, **kwargs):
        super().__init__(*args, **kwargs)
        self.rank, self.at, self.calls = rank, at, 0

    def forward(self, X, training=False):
        import threading

        self.calls += training
        if training and self.calls == self.at:
            Signal.guards[threading.current_thread().name].received = 15
        return super().forward(X, training)


def signal_net(rank=-1, at=-1):
    return fcnet.Sequential(
        [
            Signal(5, 8, activation="tanh", rng=1, dtype="float64", rank=rank, at=at),
            fcnet.Dropout(0.2),
            fcnet.Dense(8, 3, rng=2, dtype="float64"),
        ]
    )


def test_an_interrupt_on_one_process_stops_all_at_the_same_step(tmp_path, monkeypatch):
    """SIGTERM reaching process 1 alone, in the middle of an epoch: both stop after the same
    step, process 0 writes the checkpoint, and resuming gives the uninterrupted parameters."""
    import threading

    from fcnet.train import loop

    class Guard(loop.InterruptGuard):
        def __enter__(self):
            Signal.guards[threading.current_thread().name] = self
            return self

    monkeypatch.setattr(loop, "InterruptGuard", Guard)
    X, y = data(m=200)
    kw = dict(batch_size=10, rng=0, metrics=["accuracy"], epochs=2)
    straight = train_parallel(2, signal_net, (X, y), kw)
    path = tmp_path / "run.ckpt"

    def run(comm):  # epoch 1 has 20 steps: call 27 is its step 6
        model = signal_net(rank=1, at=27 if comm.rank == 1 else -1)
        history = model.fit(X, y, checkpoint=path, distributed=comm, **kw)
        return history.interrupted, history.epoch

    assert simulate(2, run) == [(True, [0]), (True, [0])]
    resumed = train_parallel(2, signal_net, (X, y), kw | {"checkpoint": path, "resume": True})
    for (got, _), (want, _) in zip(resumed, straight, strict=True):
        assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))


def test_verbose_prints_once(capsys):
    X, y = data()
    train_parallel(3, net, (X, y), dict(epochs=2, batch_size=16, verbose=1))
    assert capsys.readouterr().err.count("epoch ") == 2


def test_communicator_for():
    world = SimulatedWorld(2)
    assert dist.communicator_for(False) is None
    assert dist.communicator_for(dist.SingleProcess()) is None
    assert dist.communicator_for(world.communicator(1)).rank == 1
    with pytest.raises(TypeError, match="distributed"):
        dist.communicator_for("mpi")


def test_a_fit_under_a_launcher_without_distributed_warns(monkeypatch):
    monkeypatch.setenv("PMI_SIZE", "4")
    X, y = data()
    with pytest.warns(UserWarning, match="one of 4 started by an MPI launcher"):
        net().fit(X, y, epochs=1, batch_size=32)
    monkeypatch.delenv("PMI_SIZE")
    assert dist.communicator_for(None) is None  # no launcher: no warning (errors would raise)


def test_one_process_helpers_need_no_mpi(monkeypatch):
    for name in dist.mpi.SIZE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert (dist.rank(), dist.size(), dist.is_main()) == (0, 1, True)
    dist.barrier()
    assert dist.auto() is None


def test_without_mpi4py_the_error_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(ImportError, match=r'pip install "fcnet\[mpi\]"'):
        dist.MPICommunicator()


def test_the_control_word_is_no_gradient():
    model = net()
    grads = GradBuffer(model, control=3)
    for g in grads.grads.values():
        g[...] = 1.0
    grads.control[...] = 1e300
    assert grads.sum_of_squares() == sum(g.size for g in grads.grads.values())
    grads.clip(grads.sum_of_squares(), 1.0)
    assert np.all(grads.control == 1e300)
    assert grads.flats[0].size == sum(g.size for g in grads.grads.values()) + 3


def test_processes_on_a_device_train_the_model_of_the_cpu():
    """The device path (reads once a step: the control word; the divergence verdict of the
    device guard), on the fake device of the tests, with every option that reduces."""
    from fake_device import FakeDeviceArray, FakeDeviceOps

    device = FakeDeviceOps()
    X, y = data()
    X = X.astype(np.float32)

    def build():
        return fcnet.Sequential(
            [
                fcnet.Dense(5, 16, activation="relu", rng=0),
                fcnet.BatchNorm(16),
                fcnet.Dropout(0.2),
                fcnet.Dense(16, 3, rng=1),
            ]
        )

    kw = dict(epochs=2, batch_size=32, rng=0, metrics=["accuracy"], validation_split=0.2)
    cpu = build()
    want = cpu.fit(X, y, **kw)

    def run(comm):
        model = build().to(device)
        history = model.fit(X, y, distributed=comm, **kw)
        host = [device.to_host(p) if isinstance(p, FakeDeviceArray) else p for p in params(model)]
        return host, history

    for got, history in simulate(2, run):
        assert_close(got, params(cpu), rtol=1e-5)
        np.testing.assert_allclose(history.history["val_loss"], want.history["val_loss"], 1e-5)
