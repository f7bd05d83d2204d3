"""Optimizers with every option, for the tests that compare a fused route with NumPy's."""

from __future__ import annotations

import numpy as np

from fcnet import optimizers

OPTIMIZERS = {
    "sgd": lambda: optimizers.SGD(0.1),
    "sgd_decay": lambda: optimizers.SGD(0.1, weight_decay=0.01),
    "momentum": lambda: optimizers.SGD(0.1, momentum=0.9, dampening=0.1),
    "nesterov": lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam": lambda: optimizers.Adam(1e-2),
    "adam_l2": lambda: optimizers.Adam(1e-2, betas=(0.8, 0.99), weight_decay=0.01),
    "adamw": lambda: optimizers.AdamW(1e-2, weight_decay=0.1),
    "rmsprop": lambda: optimizers.RMSprop(1e-2),
    "rmsprop_all": lambda: optimizers.RMSprop(
        1e-2, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.01
    ),
}


def assert_updates_agree(name, dtypes, reference, ops, n_out, *, gate=None, schedule=False):
    """Six steps of ``OPTIMIZERS[name]`` on W (300, n_out) and b (n_out,) from one start and
    two alternating gradients, on ``reference`` and on ``ops`` (given ``gate`` there), with b's
    learning rate scaled by 0.5 (and halved for all at step 3 with ``schedule``): the
    parameters and the optimizer's state agree to rounding. ``dtypes``: "float32", "float64",
    or "mixed" (W float32, b float64)."""
    rng = np.random.default_rng(0)
    kinds = {"W": dtypes, "b": dtypes} if dtypes != "mixed" else {"W": "float32", "b": "float64"}
    dtype = np.float64 if dtypes == "float64" else np.float32
    start = {"W": rng.standard_normal((300, n_out)), "b": rng.standard_normal(n_out)}
    grads = [{k: rng.standard_normal(v.shape).astype(kinds[k]) for k, v in start.items()}]
    grads += [{k: rng.standard_normal(v.shape).astype(kinds[k]) for k, v in start.items()}]
    finals = []
    for where in (reference, ops):
        opt = OPTIMIZERS[name]()
        opt.ops = where
        if where is ops and gate is not None:
            opt.gate = gate
        params = {k: v.astype(kinds[k]) for k, v in start.items()}
        for step in range(6):
            if schedule and step == 3:
                opt.lr *= 0.5
            opt.step(params, grads[step % 2], lr_scale={"b": 0.5})
        finals.append((params, opt.state_dict()[1]))
    (params, state), (other_params, other_state) = finals
    tol = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}
    for key in params:
        np.testing.assert_allclose(other_params[key], params[key], err_msg=key, **tol[dtype])
    assert other_state.keys() == state.keys()
    for key in state:
        np.testing.assert_allclose(other_state[key], state[key], err_msg=key, **tol[dtype])
