"""Files written by fcnet 0.1 (before the engine was split into fcnet.train and fcnet._ops) load
and resume: tests/data holds a model, a checkpoint after 2 of 4 epochs, the model's predictions
and the parameters of the uninterrupted 4-epoch run, all written by that version."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import fcnet
from fcnet._ops import NumpyOps

DATA = Path(__file__).parent / "data"


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5).astype(int)
    return X, y


def _model():
    return fcnet.Sequential(
        [fcnet.Dense(4, 8, "relu", rng=0), fcnet.BatchNorm(8), fcnet.Dense(8, 3, rng=1)]
    )


def test_a_model_saved_by_the_previous_version_loads_and_predicts_the_same():
    X, _ = _data()
    model = fcnet.load(DATA / "v0_1_model.safetensors")
    expected = np.load(DATA / "v0_1_predictions.npy")  # written on another CPU: see below
    np.testing.assert_allclose(model.predict_output(X), expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("kernels", [False, True], ids=["numpy", "fused"])
def test_a_checkpoint_of_the_previous_version_resumes_to_its_uninterrupted_run(tmp_path, kernels):
    """To float32 rounding on both routes: the files were written on another CPU, and OpenBLAS
    chooses its kernels (and so the order of a product's sums) by the CPU it runs on; the compiled
    kernels' float64 exponentials round otherwise too."""
    X, y = _data()
    checkpoint = tmp_path / "run.ckpt"
    shutil.copy(DATA / "v0_1_checkpoint.ckpt", checkpoint)
    model = _model().to(NumpyOps(kernels=kernels))
    options = dict(loss="cross_entropy", optimizer="adam", batch_size=16, validation_split=0.2)
    history = model.fit(X, y, epochs=4, rng=0, checkpoint=checkpoint, resume=True, **options)
    assert history.epoch == [0, 1, 2, 3]
    expected = np.load(DATA / "v0_1_four_epochs.npz")
    for key, value in model.params().items():
        np.testing.assert_allclose(value, expected[key], rtol=1e-5, atol=1e-6, err_msg=key)
