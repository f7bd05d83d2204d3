"""Ctrl-C, SIGTERM and SIGKILL during fit, in a child process: no work lost, nothing corrupted.

Ctrl-C or SIGTERM finishes the current step, writes the checkpoint and returns a History with
``interrupted=True`` (the child then exits 0). SIGKILL cannot be handled: the checkpoint, written
atomically, is then the last complete one, never a torn file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import fcnet
from fcnet import io

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")

BUILD = """
import numpy as np
import fcnet

def build(width):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(256, 32)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)
    model = fcnet.Sequential([
        fcnet.Dense(32, width, activation="relu", rng=0),
        fcnet.Dropout(0.1),
        fcnet.Dense(width, width, activation="relu", rng=1),
        fcnet.Dense(width, 3, rng=2),
    ])
    return model, X, y

FIT = dict(optimizer="adam", lr=1e-3, batch_size=64, validation_split=0.25, rng=0)
"""

CHILD = (
    BUILD
    + """
import sys

def announce(epoch, logs, model):
    if epoch == 1:  # the handlers are installed and the first checkpoint is on disk
        print("started", flush=True)

model, X, y = build(int(sys.argv[2]))
history = model.fit(X, y, epochs=1_000_000, checkpoint=sys.argv[1],
                    callbacks=[fcnet.callbacks.LambdaCallback(announce)], **FIT)
print(f"interrupted={history.interrupted} epochs={len(history.epoch)}", flush=True)
"""
)

TIMEOUT = 60


def build(width):
    namespace: dict = {}
    exec(BUILD, namespace)
    return namespace["build"](width), namespace["FIT"]


def start_child(tmp_path: Path, width: int) -> tuple[subprocess.Popen, Path]:
    script = tmp_path / "train.py"
    script.write_text(CHILD)
    checkpoint = tmp_path / "run.ckpt"
    child = subprocess.Popen(
        [sys.executable, str(script), str(checkpoint), str(width)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = child.stdout.readline()
    if line.strip() != "started":
        child.kill()
        pytest.fail(f"child did not start: {line!r} {child.stderr.read()}")
    return child, checkpoint


def epochs_done(checkpoint: Path) -> int:
    _, metadata = io.read_tensors(checkpoint)
    return json.loads(metadata["training"])["epochs_done"]


def assert_resumes(checkpoint: Path, width: int) -> None:
    """The checkpoint loads as a model and a new fit continues from it for one more epoch."""
    done = epochs_done(checkpoint)
    assert done >= 1
    saved = fcnet.load(checkpoint)
    (model, X, y), options = build(width)
    history = model.fit(X, y, epochs=done + 1, checkpoint=checkpoint, resume=True, **options)
    assert history.epoch == list(range(done + 1))
    assert not history.interrupted
    assert epochs_done(checkpoint) == done + 1
    assert all(np.isfinite(p).all() for p in saved.params().values())


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_finishes_the_step_writes_the_checkpoint_and_returns(tmp_path, signum):
    child, checkpoint = start_child(tmp_path, width=32)
    time.sleep(0.05)
    child.send_signal(signum)
    out, err = child.communicate(timeout=TIMEOUT)
    assert child.returncode == 0, err
    assert "interrupted=True" in out, (out, err)
    assert "Traceback" not in err
    assert_resumes(checkpoint, width=32)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.ckpt", "train.py"]


def test_a_second_ctrl_c_stops_at_once_and_corrupts_nothing(tmp_path):
    child, checkpoint = start_child(tmp_path, width=256)
    child.send_signal(signal.SIGINT)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=TIMEOUT)
    # the second signal raises KeyboardInterrupt unless fit had already returned
    assert child.returncode == 0 or "KeyboardInterrupt" in err, (child.returncode, err)
    assert_resumes(checkpoint, width=256)
    assert not list(tmp_path.glob(".run.ckpt.*.tmp"))  # removed by atomic_write on the way out


@pytest.mark.parametrize("delay", [0.0, 0.02, 0.05, 0.1, 0.2])
def test_sigkill_while_checkpoints_are_written_leaves_a_loadable_checkpoint(tmp_path, delay):
    # width 512: about 300k parameters and Adam moments, a 3.5 MB file written (and fsynced)
    # after every 3-step epoch, so most kills land during a write
    child, checkpoint = start_child(tmp_path, width=512)
    time.sleep(delay)
    child.kill()
    child.communicate(timeout=TIMEOUT)
    assert child.returncode == -signal.SIGKILL
    leftovers = [p.name for p in tmp_path.iterdir() if p.name not in ("run.ckpt", "train.py")]
    assert all(name.startswith(".run.ckpt.") and name.endswith(".tmp") for name in leftovers)
    assert_resumes(checkpoint, width=512)


def test_the_cli_exits_130_naming_the_checkpoint(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 8))
    y = (X[:, 0] > 0).astype(int)
    data = tmp_path / "data.csv"
    rows = [",".join([*(f"x{i}" for i in range(8)), "y"])]
    rows += [",".join([*(f"{v:.6f}" for v in x), str(t)]) for x, t in zip(X, y, strict=True)]
    data.write_text("\n".join(rows) + "\n")
    checkpoint = tmp_path / "cli.ckpt"
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fcnet.cli",
            "train",
            str(data),
            "--target",
            "y",
            "--epochs",
            "1000000",
            "--checkpoint",
            str(checkpoint),
            "--scale",
            "none",
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + TIMEOUT
    while not checkpoint.exists():
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"fcnet train did not start: {child.communicate()}")
        time.sleep(0.02)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=TIMEOUT)
    assert child.returncode == 130, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("fcnet: ") and str(checkpoint) in lines[0], lines[0]
    assert epochs_done(checkpoint) >= 1
