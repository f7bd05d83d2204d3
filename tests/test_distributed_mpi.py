"""Data-parallel training over real MPI processes: ``mpiexec -n 2`` in a subprocess, each run
with a timeout (a hang fails the test instead of the suite).

Needs mpi4py and an ``mpiexec`` (the test extra installs the MPICH wheel); skipped otherwise.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import fcnet
from fcnet.distributed import simulate

pytest.importorskip("mpi4py")
MPIEXEC = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which("mpiexec")
if MPIEXEC is None:
    pytest.skip("no mpiexec", allow_module_level=True)

TIMEOUT = 60

COMMON = """
import os, sys, time
import numpy as np
import fcnet
from fcnet import distributed as dist

data = np.load(sys.argv[1])
X, y = data["X"], data["y"]
here = os.path.dirname(sys.argv[1])


class Slow(fcnet.Dense):
    '''A Dense layer that counts its training steps and can be made to sleep, raise, or kill
    its process at one of them.'''

    def __init__(self, *args, action="", at=-1, pause=0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.action, self.at, self.pause, self.steps = action, at, pause, 0

    def forward(self, X, training=False):
        if training:
            self.steps += 1
            time.sleep(self.pause)
            if self.steps == self.at and self.action == "raise":
                raise ValueError(f"Slow: step {self.at} of process {dist.rank()} failed")
            if self.steps == self.at and self.action == "kill":
                os.kill(os.getpid(), 9)
        return super().forward(X, training)


def net(bn=False, **slow):
    layers = [Slow(5, 8, activation="tanh", rng=1, dtype="float64", **slow)]
    if bn:
        layers.append(fcnet.BatchNorm(8, dtype="float64"))
    layers += [fcnet.Dropout(0.2), fcnet.Dense(8, 3, rng=2, dtype="float64")]
    return fcnet.Sequential(layers)


def save(model, name):
    np.savez(os.path.join(here, f"{name}{dist.rank()}.npz"), *model.params().values())


def report(fit):
    # run fit; print what it raised on this process, wait for the others to have printed
    # theirs (mpiexec ends the job when the first process fails), and fail
    try:
        fit()
    except Exception as exc:
        print(f"process {dist.rank()} raised {type(exc).__name__}: {exc} {exc.__notes__}",
              flush=True)
        dist.barrier()
        sys.exit(1)
"""


def data(m=240):
    rng = np.random.default_rng(0)
    return rng.normal(size=(m, 5)), rng.integers(0, 3, m)


def slow_net(bn=False):
    """The scripts' network, built here (the Slow layer as a plain Dense: same numbers)."""
    layers = [fcnet.Dense(5, 8, activation="tanh", rng=1, dtype="float64")]
    if bn:
        layers.append(fcnet.BatchNorm(8, dtype="float64"))
    layers += [fcnet.Dropout(0.2), fcnet.Dense(8, 3, rng=2, dtype="float64")]
    return fcnet.Sequential(layers)


@pytest.fixture
def job(tmp_path):
    """job(body, n=2) -> (returncode, output, seconds): body run by mpiexec -n n."""
    X, y = data()
    np.savez(tmp_path / "data.npz", X=X, y=y)

    def run(body, n=2, wait=True):
        script = tmp_path / "job.py"
        script.write_text(COMMON + body)
        command = [MPIEXEC, "-n", str(n), sys.executable, str(script), str(tmp_path / "data.npz")]
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path
        )
        if not wait:
            return process
        output, _ = process.communicate(timeout=TIMEOUT)
        return process.returncode, output, time.perf_counter() - started

    run.path = tmp_path
    return run


def loaded(path):
    with np.load(path) as arrays:
        return [arrays[f"arr_{i}"] for i in range(len(arrays.files))]


def same(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))


def reference(epochs, bn=False, **kw):
    """The two-process run, simulated in threads (sums of two terms: the same bits as MPI)."""

    def run(comm):
        model = slow_net(bn)
        model.fit(*data(), epochs=epochs, distributed=comm, **kw)
        return [p.copy() for p in model.params().values()]

    return simulate(2, run)[0]


def test_two_processes_train_the_model_of_one(job):
    code, output, _ = job(
        """
import warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    net().fit(X, y, epochs=1, batch_size=60)  # no distributed=...: each alone, and a warning
print("warnings", len(caught), flush=True)
model = net(bn=True)
log = fcnet.callbacks.CSVLogger(os.path.join(here, "log.csv"))
model.fit(X, y, epochs=3, batch_size=16, rng=0, distributed=True, metrics=["accuracy"],
          validation_split=0.2, callbacks=[log], verbose=1)
save(model, "trained")
"""
    )
    assert code == 0, output
    assert output.count("warnings 1") == 2  # one warning on each process
    assert output.count("epoch 3/3") == 1  # printed by process 0 alone
    one = slow_net(bn=True)
    X, y = data()
    kw = dict(epochs=3, batch_size=16, rng=0, metrics=["accuracy"], validation_split=0.2)
    one.fit(X, y, **kw)
    ranks = [loaded(job.path / f"trained{r}.npz") for r in (0, 1)]
    assert same(ranks[0], ranks[1])
    for got, want in zip(ranks[0], one.params().values(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    assert [line.split(",")[0] for line in (job.path / "log.csv").read_text().splitlines()] == [
        "epoch",
        "0",
        "1",
        "2",
    ]


def test_a_failure_on_one_process_ends_the_job_with_its_message_everywhere(job):
    code, output, seconds = job(
        """
model = net(action="raise", at=7 if dist.rank() == 1 else -1)
report(lambda: model.fit(X, y, epochs=2, batch_size=16, distributed=True))
"""
    )
    assert code != 0 and seconds < TIMEOUT
    for rank in (0, 1):
        assert (
            f"process {rank} raised ValueError: Slow: step 7 of process 1 failed "
            "['(raised by process 1 of 2)']" in output
        ), output


def test_a_callback_failing_on_one_process_fails_every_process(job):
    code, output, seconds = job(
        """
def check(epoch, logs, model):
    if dist.rank() == 1 and epoch == 1:
        raise RuntimeError("the callback of process 1 failed")
callbacks = [fcnet.callbacks.LambdaCallback(check)]
report(lambda: net().fit(X, y, epochs=3, batch_size=16, distributed=True, callbacks=callbacks))
"""
    )
    assert code != 0 and seconds < TIMEOUT
    for rank in (0, 1):
        assert f"process {rank} raised RuntimeError: the callback of process 1 failed" in output


def test_a_failure_inside_the_collectives_aborts_the_job(job):
    code, output, seconds = job(
        """
at = 5 if dist.rank() == 1 else -1
net(bn=True, action="raise", at=at).fit(X, y, epochs=2, batch_size=16, distributed=True)
"""
    )
    assert code != 0 and seconds < TIMEOUT
    assert "process 1 of 2 failed where the others cannot be told" in output
    assert "Slow: step 5 of process 1 failed" in output


RESUMABLE = """
action = sys.argv[2]
model = net(bn=True, action=action if dist.rank() == 1 else "", at=int(sys.argv[3]), pause=0.02)
history = model.fit(X, y, epochs=4, batch_size=16, rng=0, distributed=True,
                    checkpoint=os.path.join(here, "run.ckpt"), resume=True)
print(f"process {dist.rank()}: interrupted={history.interrupted} epochs={history.epoch} "
      f"steps={model.layers[0].steps}", flush=True)
save(model, "final")
"""


def resumable(job, action, at):
    script = job.path / "job.py"
    script.write_text(COMMON + RESUMABLE)
    command = [MPIEXEC, "-n", "2", sys.executable, str(script), str(job.path / "data.npz")]
    return subprocess.Popen(
        [*command, action, str(at)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_for(path, process):
    deadline = time.monotonic() + TIMEOUT
    while not path.exists():
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_sigterm_stops_every_process_at_the_same_step_and_resume_is_exact(job):
    checkpoint = job.path / "run.ckpt"
    process = resumable(job, "", -1)
    wait_for(checkpoint, process)  # an epoch is done: now in the middle of the next
    time.sleep(0.1)
    process.send_signal(signal.SIGTERM)  # to mpiexec, which passes it on to both processes
    output = process.communicate(timeout=TIMEOUT)[0]
    assert process.returncode == 0, output
    # (the two processes' lines may reach mpiexec's output in one piece)
    found = sorted(re.findall(r"process (\d): (interrupted=\w+ epochs=\S+ steps=\d+)", output))
    assert [rank for rank, _ in found] == ["0", "1"], output
    assert found[0][1] == found[1][1] and "interrupted=True" in found[0][1]  # the same step
    process = resumable(job, "", -1)
    output = process.communicate(timeout=TIMEOUT)[0]
    assert process.returncode == 0 and "interrupted=False" in output, output
    want = reference(4, bn=True, batch_size=16, rng=0)
    assert same(loaded(job.path / "final0.npz"), want)
    assert same(loaded(job.path / "final1.npz"), want)


def test_a_process_killed_ends_the_job_and_resume_from_the_checkpoint_is_exact(job):
    process = resumable(job, "kill", 40)  # 15 steps an epoch: epoch 2, step 9, on process 1
    output = process.communicate(timeout=TIMEOUT)[0]
    assert process.returncode != 0, output
    assert (job.path / "run.ckpt").exists()
    process = resumable(job, "", -1)
    output = process.communicate(timeout=TIMEOUT)[0]
    assert process.returncode == 0 and "interrupted=False" in output, output
    assert same(loaded(job.path / "final1.npz"), reference(4, bn=True, batch_size=16, rng=0))


def test_the_command_line_trains_over_mpi_prints_once_and_resumes_bit_for_bit(tmp_path):
    X, y = data(400)
    lines = ["a,b,c,d,e,label"] + [
        ",".join(f"{v:.6f}" for v in row) + f",{'xyz'[k]}" for row, k in zip(X, y, strict=True)
    ]
    csv = tmp_path / "d.csv"
    csv.write_text("\n".join(lines) + "\n")
    flags = ["--target", "label", "--hidden", "8", "--dropout", "0.2", "--batch-size", "16"]

    def train(*more):
        command = [MPIEXEC, "-n", "2", sys.executable, "-m", "fcnet.cli", "train", str(csv)]
        result = subprocess.run(
            [*command, *flags, *more],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            cwd=tmp_path,
            env=os.environ | {"COLUMNS": "120"},
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    out = train("--epochs", "4", "--out", "straight.safetensors")
    assert out.count("test accuracy") == 1 and out.count("model written") == 1
    train("--epochs", "2", "--out", "half.safetensors", "--checkpoint", "run.ckpt")
    train("--epochs", "4", "--out", "resumed.safetensors", "--checkpoint", "run.ckpt", "--resume")
    straight = (tmp_path / "straight.safetensors").read_bytes()
    assert (tmp_path / "resumed.safetensors").read_bytes() == straight
