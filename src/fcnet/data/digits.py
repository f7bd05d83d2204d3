"""The UCI handwritten digits bundled with fcnet (``fcnet/datasets/digits.npz``)."""

from __future__ import annotations

import importlib.resources
import io

import numpy as np

from fcnet.data.dataset import Dataset


def load_digits() -> Dataset:
    """The UCI handwritten digits bundled with fcnet: 1,797 images of 8x8 pixels, 10 classes.

    Read from the package (``fcnet/datasets/digits.npz``); nothing is ever downloaded. Unpacks
    like a pair: ``X, y = load_digits()``.

    Returns
    -------
    Dataset
        ``X`` float32 ``(1797, 64)``: the pixel intensities 0..16 divided by 16, so in [0, 1],
        row-major over the 8x8 image; ``y`` int64 ``(1797,)``: the digit 0..9.
    """
    resource = importlib.resources.files("fcnet") / "datasets" / "digits.npz"
    with np.load(io.BytesIO(resource.read_bytes()), allow_pickle=False) as archive:
        pixels = archive["X"]
        digits = archive["y"]
    X = pixels.astype(np.float32)
    X /= np.float32(16.0)
    names = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)]
    return Dataset(X, digits.astype(np.int64), names, "digit")
