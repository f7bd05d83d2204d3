"""Optimizers with every option, for the tests that compare a fused route with NumPy's."""

from __future__ import annotations

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
