"""The GPU device: without CuPy or a GPU it is refused with a clear error (never a silent fall
back to the CPU); with one, models train and predict there as on the CPU (skipped here)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pytest

import fcnet


def _gpu_available() -> bool:
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


GPU = _gpu_available()


def test_import_fcnet_does_not_import_cupy():
    code = "import sys, fcnet; fcnet.Sequential([fcnet.Dense(2, 1)]); print('cupy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.skipif(GPU, reason="a GPU is present")
@pytest.mark.parametrize("call", ["to", "set_device", "load"])
def test_the_gpu_without_cupy_or_a_device_is_a_runtime_error_naming_the_extra(call, tmp_path):
    model = fcnet.Sequential([fcnet.Dense(2, 1, rng=0)])
    with pytest.raises(RuntimeError, match=r"fcnet\[gpu\]|GPU|CUDA"):
        if call == "to":
            model.to("gpu")
        elif call == "set_device":
            fcnet.set_device("gpu")
        else:
            fcnet.save(model, tmp_path / "m.safetensors")
            fcnet.load(tmp_path / "m.safetensors", device="gpu")
    assert isinstance(model.ops, fcnet._ops.NumpyOps)  # nothing moved
    assert isinstance(fcnet._ops.default_ops(), fcnet._ops.NumpyOps)


def test_an_unknown_device_is_a_value_error():
    with pytest.raises(ValueError, match="expected 'cpu', 'gpu'"):
        fcnet.Sequential([fcnet.Dense(2, 1, rng=0)]).to("tpu")


@pytest.mark.skipif(not GPU, reason="needs CuPy and an NVIDIA GPU")
def test_fit_on_the_gpu_matches_the_cpu():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(256, 8)).astype(np.float32)
    y = rng.integers(0, 3, 256)

    def model():
        return fcnet.Sequential([fcnet.Dense(8, 16, "relu", rng=0), fcnet.Dense(16, 3, rng=1)])

    cpu, gpu = model(), model().to("gpu")
    options = dict(loss="cross_entropy", optimizer="adam", epochs=2, batch_size=32, rng=0)
    h_cpu, h_gpu = cpu.fit(X, y, **options), gpu.fit(X, y, **options)
    np.testing.assert_allclose(h_gpu.history["loss"], h_cpu.history["loss"], rtol=1e-4)
    np.testing.assert_allclose(gpu.predict_output(X), cpu.predict_output(X), rtol=1e-4, atol=1e-5)
