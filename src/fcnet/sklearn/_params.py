"""The estimators' hyperparameters, checked when ``fit`` starts, and what is built from them.

scikit-learn's contract: ``__init__`` stores its arguments untouched and never raises, so every
check happens here, at the start of each ``fit`` / ``partial_fit``, before anything changes.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from fcnet._validation import check_choice, check_number, check_positive_int
from fcnet.activations import get_activation
from fcnet.backend import resolve_dtype
from fcnet.layers import Dense, Dropout
from fcnet.network import Sequential
from fcnet.normalization import BatchNorm
from fcnet.optimizers import SGD, Adam, AdamW, Optimizer, RMSprop

#: hidden-layer activations: fcnet's names, and scikit-learn's "logistic" for the sigmoid
ACTIVATIONS = {
    name: name
    for name in ("relu", "tanh", "sigmoid", "gelu", "elu", "leaky_relu", "softplus", "identity")
}
ACTIVATIONS["logistic"] = "sigmoid"

SOLVERS = {name: name for name in ("sgd", "adam", "adamw", "rmsprop")}


@dataclass(frozen=True)
class Settings:
    """The hyperparameters of one ``fit`` call, checked and in the form fcnet takes them."""

    hidden: tuple[int, ...]
    activations: tuple[str, ...]  # one per hidden layer, fcnet's names
    dropouts: tuple[float, ...]  # one per hidden layer
    batch_norm: bool
    dtype: np.dtype
    solver: str
    alpha: float
    batch_size: int | None  # None: "auto", min(200, n)
    lr: float
    max_iter: int
    tol: float
    n_iter_no_change: int
    validation_fraction: float
    momentum: float
    nesterov: bool
    betas: tuple[float, float]
    epsilon: float
    clip_norm: float | None
    verbose: int


def read_settings(est: Any, who: str) -> Settings:
    """Check every hyperparameter of ``est`` (``who`` names it in errors) and return them."""
    hidden = _hidden_sizes(who, est.hidden_layer_sizes)
    n_hidden = len(hidden)
    activations = tuple(
        check_choice(who, "activation", name, ACTIVATIONS)
        for name in _per_layer(who, "activation", est.activation, n_hidden, str)
    )
    dropouts = tuple(
        check_number(who, "dropout", p, low=0.0, high=1.0, high_open=True)
        for p in _per_layer(who, "dropout", est.dropout, n_hidden, numbers.Real)
    )
    batch_norm = _flag(who, "batch_norm", est.batch_norm)
    for name in ("shuffle", "warm_start", "early_stopping", "nesterovs_momentum"):
        _flag(who, name, getattr(est, name))
    batch_size = est.batch_size
    if isinstance(batch_size, str):
        if batch_size != "auto":
            raise ValueError(
                f"{who}: expected batch_size 'auto' or an integer, got {batch_size!r}."
            )
        batch_size = None
    else:
        batch_size = check_positive_int(who, "batch_size", batch_size)
        if batch_norm and batch_size < 2:
            raise ValueError(
                f"{who}: batch_norm=True needs batches of at least 2 rows, got batch_size=1."
            )
    momentum = check_number(who, "momentum", est.momentum, low=0.0, high=1.0)
    clip_norm = est.clip_norm
    if clip_norm is not None:
        clip_norm = check_number(who, "clip_norm", clip_norm, low=0.0, low_open=True)
    if not isinstance(est.verbose, numbers.Integral):
        raise TypeError(f"{who}: expected verbose to be a bool or an integer, got {est.verbose!r}.")
    callbacks = est.callbacks
    if callbacks is not None and (
        isinstance(callbacks, str | bytes) or not isinstance(callbacks, Sequence)
    ):
        raise TypeError(f"{who}: expected callbacks as a list, got {type(callbacks).__name__}.")
    check_random_state(est.random_state)  # a bad random_state fails now, before any change
    return Settings(
        hidden=hidden,
        activations=activations,
        dropouts=dropouts,
        batch_norm=batch_norm,
        dtype=_dtype(who, est.dtype),
        solver=check_choice(who, "solver", est.solver, SOLVERS),
        alpha=check_number(who, "alpha", est.alpha, low=0.0),
        batch_size=batch_size,
        lr=check_number(who, "learning_rate_init", est.learning_rate_init, low=0.0, low_open=True),
        max_iter=check_positive_int(who, "max_iter", est.max_iter),
        tol=check_number(who, "tol", est.tol, low=0.0),
        n_iter_no_change=check_positive_int(who, "n_iter_no_change", est.n_iter_no_change),
        validation_fraction=check_number(
            who,
            "validation_fraction",
            est.validation_fraction,
            low=0.0,
            high=1.0,
            low_open=True,
            high_open=True,
        ),
        momentum=momentum,
        nesterov=bool(est.nesterovs_momentum) and momentum > 0,
        betas=(
            check_number(who, "beta_1", est.beta_1, low=0.0, high=1.0, high_open=True),
            check_number(who, "beta_2", est.beta_2, low=0.0, high=1.0, high_open=True),
        ),
        epsilon=check_number(who, "epsilon", est.epsilon, low=0.0, low_open=True),
        clip_norm=clip_norm,
        verbose=1 if est.verbose else 0,
    )


def generator_from(random_state: Any) -> np.random.Generator:
    """A numpy Generator from scikit-learn's ``random_state`` (None, an int or a RandomState).

    An int gives the same Generator every time; a RandomState is drawn from (so two fits with
    one RandomState differ, as in scikit-learn); None draws from numpy's global RandomState.
    """
    state = check_random_state(random_state)
    return np.random.default_rng(int(state.randint(np.iinfo(np.int32).max)))


def build_network(
    settings: Settings, n_in: int, n_out: int, rng: np.random.Generator
) -> Sequential:
    """The network: for each hidden layer Dense (+ BatchNorm) + activation (+ Dropout), then a
    Dense output layer with no activation (logits, or the regression values).

    With ``batch_norm`` a hidden layer is ``Dense(identity) -> BatchNorm -> f``, normalising the
    pre-activations Z as in Ioffe and Szegedy's paper.
    """
    dtype = settings.dtype
    layers: list[Any] = []
    width = n_in
    for size, activation, p in zip(
        settings.hidden, settings.activations, settings.dropouts, strict=True
    ):
        if settings.batch_norm:
            layers.append(Dense(width, size, rng=rng, dtype=dtype))
            layers.append(BatchNorm(size, dtype=dtype))
            layers.append(get_activation(activation))
        else:
            layers.append(Dense(width, size, activation, rng=rng, dtype=dtype))
        if p > 0:
            layers.append(Dropout(p, dtype=dtype))  # fit gives it a generator drawn from rng
        width = size
    layers.append(Dense(width, n_out, rng=rng, dtype=dtype))
    return Sequential(layers)


def make_optimizer(settings: Settings) -> Optimizer:
    """fcnet's optimizer for ``solver``, with scikit-learn's hyperparameters."""
    lr, solver = settings.lr, settings.solver
    if solver == "sgd":
        return SGD(lr, settings.momentum, nesterov=settings.nesterov)
    if solver == "adam":
        return Adam(lr, betas=settings.betas, eps=settings.epsilon)
    if solver == "adamw":
        return AdamW(lr, betas=settings.betas, eps=settings.epsilon)
    return RMSprop(lr, eps=settings.epsilon)


def _hidden_sizes(who: str, sizes: Any) -> tuple[int, ...]:
    if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
        sizes = (sizes,)
    if isinstance(sizes, str) or not hasattr(sizes, "__iter__"):
        raise TypeError(
            f"{who}: expected hidden_layer_sizes as a tuple of positive integers, got {sizes!r}."
        )
    return tuple(check_positive_int(who, "hidden_layer_sizes[i]", s) for s in sizes)


def _per_layer(who: str, name: str, value: Any, n_hidden: int, kind: type) -> tuple[Any, ...]:
    """One value for every hidden layer: a single value, or a sequence of n_hidden of them."""
    if isinstance(value, kind) and not isinstance(value, bool):
        return (value,) * n_hidden
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise TypeError(
            f"{who}: expected {name} as one value or one per hidden layer, got {value!r}."
        )
    if len(value) != n_hidden:
        raise ValueError(
            f"{who}: expected {name} for each of the {n_hidden} hidden layers, "
            f"got {len(value)} values: {value!r}."
        )
    return tuple(value)


def _flag(who: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{who}: expected {name} to be True or False, got {value!r}.")
    return bool(value)


def _dtype(who: str, dtype: Any) -> np.dtype:
    if dtype is None:
        raise ValueError(f"{who}: expected dtype 'float32' or 'float64', got None.")
    try:
        return resolve_dtype(dtype)
    except (TypeError, ValueError):
        raise ValueError(f"{who}: expected dtype 'float32' or 'float64', got {dtype!r}.") from None
