"""A long run does not grow: 300 short epochs allocate nothing that survives an epoch.

tracemalloc sees NumPy's array buffers as well as Python objects. Between epoch 50 and epoch
300 the only thing allowed to grow is the history (a few floats per epoch).
"""

from __future__ import annotations

import sys
import tracemalloc

import numpy as np

import fcnet

EPOCHS = 300
SLACK = 64 * 1024


def test_300_epochs_show_no_memory_growth(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 8)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    model = fcnet.Sequential(
        [
            fcnet.Dense(8, 16, activation="relu", rng=0),
            fcnet.Dropout(0.1),
            fcnet.Dense(16, 2, rng=1),
        ]
    )
    traced: dict[int, int] = {}

    def measure(epoch, logs, model):
        if epoch + 1 in (50, EPOCHS):
            traced[epoch + 1] = tracemalloc.get_traced_memory()[0]

    tracemalloc.start()
    try:
        history = model.fit(
            X,
            y,
            optimizer="adam",
            lr=1e-3,
            epochs=EPOCHS,
            batch_size=16,
            validation_split=0.25,
            metrics=["accuracy"],
            callbacks=[fcnet.callbacks.LambdaCallback(measure)],
            checkpoint=tmp_path / "soak.ckpt",
            rng=0,
        )
    finally:
        tracemalloc.stop()
    assert len(history.epoch) == EPOCHS
    growth = traced[EPOCHS] - traced[50]
    assert growth < SLACK, f"{growth} bytes retained over {EPOCHS - 50} epochs"
    # Most of that is the history itself: per key, 250 more floats and a longer list. Anything
    # else retained must stay far below one byte per step (1,000 steps after epoch 50).
    lists = [[0.0] * n for n in (50, EPOCHS)]
    per_key = sys.getsizeof(lists[1]) - sys.getsizeof(lists[0]) + (EPOCHS - 50) * 24
    n_keys = len(history.history) + 1  # and the list of epoch numbers
    assert growth - n_keys * per_key < 8 * 1024, (growth, n_keys * per_key)
