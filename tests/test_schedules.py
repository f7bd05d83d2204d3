"""Learning-rate schedules: hand-computed values, torch.optim.lr_scheduler as a reference,
state and config round trips, and the boundary errors."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fcnet.schedules import (
    SCHEDULES,
    Constant,
    Cosine,
    Exponential,
    OneCycle,
    ReduceOnPlateau,
    Schedule,
    Step,
    from_config,
    get_schedule,
)

# --- helpers -------------------------------------------------------------------------------------


def ours(schedule: Schedule, base_lr: float, epochs: int, metrics: Sequence[float] | None = None):
    """lr per epoch as fit applies it: lr() before the epoch, update() after it."""
    lrs = []
    for epoch in range(epochs):
        lrs.append(schedule.lr(epoch, base_lr))
        if metrics is not None:
            schedule.update(epoch, {"loss": 0.0, "val_loss": metrics[epoch]})
    return lrs


def theirs(make: Callable[[Any], Any], base_lr: float, epochs: int, metrics=None) -> list[float]:
    """The lr torch's scheduler gives each epoch, stepped once per epoch."""
    torch = pytest.importorskip("torch")
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=base_lr)
    scheduler = make(optimizer)
    lrs = []
    for epoch in range(epochs):
        lrs.append(float(optimizer.param_groups[0]["lr"]))
        if epoch == epochs - 1:
            break  # a step past OneCycleLR's end may divide by zero
        optimizer.step()
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[epoch])
    return lrs


def assert_same(a: Sequence[float], b: Sequence[float]) -> None:
    np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-12, atol=0.0)


# --- hand-computed values ------------------------------------------------------------------------


def test_constant():
    assert [Constant().lr(e, 0.3) for e in (0, 1, 100)] == [0.3, 0.3, 0.3]


def test_step_by_hand():
    assert ours(Step(step_size=3, gamma=0.1), 1.0, 7) == pytest.approx(
        [1, 1, 1, 0.1, 0.1, 0.1, 0.01], rel=1e-15
    )


def test_exponential_by_hand():
    assert ours(Exponential(gamma=0.5), 2.0, 4) == [2.0, 1.0, 0.5, 0.25]


def test_cosine_by_hand():
    # default warm-up factor 1/(w+1) = 1/2; cosine over T - w = 3 epochs: (1 + cos(k pi/3)) / 2
    got = [Cosine(total_epochs=4, warmup_epochs=1).lr(e, 1.0) for e in range(7)]
    assert got == pytest.approx([0.5, 1.0, 0.75, 0.25, 0.0, 0.0, 0.0], abs=1e-15)
    # no warm-up, min_lr 0.1: 1.1, 0.1 + 1.0 * (1 + cos(pi/2)) / 2, then 0.1 held
    got = [Cosine(total_epochs=2, min_lr=0.1).lr(e, 1.1) for e in range(5)]
    assert got == pytest.approx([1.1, 0.6, 0.1, 0.1, 0.1], rel=1e-15)


def test_cosine_warmup_definition():
    # lr(e) = base * (s + (1 - s) e / w) for e < w, then base at e = w
    sched = Cosine(total_epochs=10, warmup_epochs=4, warmup_start_factor=0.2)
    assert [sched.lr(e, 1.0) for e in range(5)] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    # default s = 1/(w + 1): base * (e + 1) / (w + 1)
    sched = Cosine(total_epochs=10, warmup_epochs=4)
    assert sched.start_factor == 0.2
    assert [sched.lr(e, 0.5) for e in range(5)] == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])


def test_onecycle_by_hand():
    # T = 10, a = 0.3 * 10 - 1 = 2: lr_start = 1/25, lr_end = lr_start / 1e4
    sched = OneCycle(total_epochs=10)
    assert sched.lr(0, 1.0) == pytest.approx(0.04)
    assert sched.lr(1, 1.0) == pytest.approx(1 + (0.04 - 1) / 2)  # cos(pi/2) = 0
    assert sched.lr(2, 1.0) == pytest.approx(1.0)
    assert sched.lr(9, 1.0) == pytest.approx(4e-6)
    assert sched.lr(50, 1.0) == sched.lr(9, 1.0)
    # linear: T = 5, a = 0.4 * 5 - 1 = 1, lr_start = 0.25, lr_end = 0.125
    sched = OneCycle(
        total_epochs=5, pct_start=0.4, div_factor=4.0, final_div_factor=2.0, anneal="linear"
    )
    expected = [0.25, 1.0, 1 - 0.875 / 3, 1 - 0.875 * 2 / 3, 0.125, 0.125]
    assert ours(sched, 1.0, 6) == pytest.approx(expected, rel=1e-15)


def test_onecycle_max_lr_overrides_base_lr():
    sched = OneCycle(total_epochs=5, max_lr=2.0, pct_start=0.4, div_factor=4.0, anneal="linear")
    assert sched.lr(0, 123.0) == 0.5
    assert sched.lr(1, 123.0) == 2.0


def test_onecycle_zero_length_rise_starts_at_max_lr():
    # pct_start * T - 1 = 0: torch divides 0 by 0 here; the rise counts as finished
    assert OneCycle(total_epochs=10, pct_start=0.1).lr(0, 0.7) == 0.7
    assert OneCycle(total_epochs=1).lr(0, 1.0) == pytest.approx(4e-6)


def test_reduce_on_plateau_by_hand():
    sched = ReduceOnPlateau(factor=0.5, patience=1)
    got = ours(sched, 1.0, 7, metrics=[1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5])
    assert got == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]


def test_reduce_on_plateau_floor_and_eps():
    sched = ReduceOnPlateau(factor=0.1, patience=0, min_lr=1e-3)
    assert ours(sched, 1.0, 6, metrics=[1.0] * 6) == pytest.approx(
        [1.0, 1.0, 0.1, 0.01, 1e-3, 1e-3]
    )
    # 1e-7 halves while the step exceeds eps = 1e-8: 5e-8, 2.5e-8, 1.25e-8, then stops
    sched = ReduceOnPlateau(factor=0.5, patience=0)
    assert ours(sched, 1e-7, 8, metrics=[1.0] * 8)[-1] == pytest.approx(1.25e-8)


def test_update_is_a_no_op_for_stateless_schedules():
    for sched in (Constant(), Step(2), Exponential(0.9), Cosine(5), OneCycle(5)):
        before = ours(sched, 0.1, 8)
        sched.update(0, {"val_loss": 1.0})
        assert ours(sched, 0.1, 8) == before
        assert sched.state_dict() == {}


# --- torch as an independent reference -----------------------------------------------------------

BASE_LR = 0.1
EPOCHS = 30


@pytest.mark.parametrize("step_size, gamma", [(7, 0.5), (3, 0.1), (1, 0.9), (40, 0.1)])
def test_step_matches_torch(step_size, gamma):
    def make(opt):
        return pytest.importorskip("torch").optim.lr_scheduler.StepLR(opt, step_size, gamma)

    assert_same(ours(Step(step_size, gamma), BASE_LR, EPOCHS), theirs(make, BASE_LR, EPOCHS))


@pytest.mark.parametrize("gamma", [0.9, 0.5, 1.05])
def test_exponential_matches_torch(gamma):
    def make(opt):
        return pytest.importorskip("torch").optim.lr_scheduler.ExponentialLR(opt, gamma)

    assert_same(ours(Exponential(gamma), BASE_LR, EPOCHS), theirs(make, BASE_LR, EPOCHS))


def test_constant_matches_torch():
    def make(opt):
        return pytest.importorskip("torch").optim.lr_scheduler.LambdaLR(opt, lambda e: 1.0)

    assert_same(ours(Constant(), BASE_LR, EPOCHS), theirs(make, BASE_LR, EPOCHS))


@pytest.mark.parametrize(
    "total, warmup, min_lr, start",
    [
        (30, 0, 0.0, None),
        (30, 0, 1e-3, None),
        (30, 5, 1e-4, None),
        (30, 3, 0.0, 0.1),
        (30, 1, 1e-3, 1.0),
        (12, 11, 0.0, 0.25),
        (1, 0, 0.01, None),
    ],
)
def test_cosine_matches_torch(total, warmup, min_lr, start):
    sched = Cosine(total, warmup_epochs=warmup, min_lr=min_lr, warmup_start_factor=start)

    def make(opt):
        lrs = pytest.importorskip("torch").optim.lr_scheduler
        cosine = lrs.CosineAnnealingLR(opt, T_max=total - warmup, eta_min=min_lr)
        if warmup == 0:
            return cosine
        linear = lrs.LinearLR(opt, start_factor=sched.start_factor, total_iters=warmup)
        return lrs.SequentialLR(opt, [linear, cosine], milestones=[warmup])

    # epochs 0..T: torch's cosine reaches eta_min at T, then rises again where ours holds it
    assert_same(ours(sched, BASE_LR, total + 1), theirs(make, BASE_LR, total + 1))
    assert ours(sched, BASE_LR, total + 10)[total:] == [sched.lr(total, BASE_LR)] * 10


@pytest.mark.parametrize(
    "total, kwargs",
    [
        (30, {}),
        (30, {"max_lr": 0.5, "pct_start": 0.25, "anneal": "linear"}),
        (30, {"pct_start": 0.5, "div_factor": 10.0, "final_div_factor": 100.0}),
        (7, {"pct_start": 0.4}),
        (2, {}),
        (1, {}),
        (30, {"pct_start": 0.0}),
        (30, {"pct_start": 1.0, "anneal": "linear"}),
    ],
)
def test_onecycle_matches_torch(total, kwargs):
    sched = OneCycle(total, **kwargs)
    max_lr = kwargs.get("max_lr", BASE_LR)

    def make(opt):
        return pytest.importorskip("torch").optim.lr_scheduler.OneCycleLR(
            opt,
            max_lr=max_lr,
            total_steps=total,
            pct_start=kwargs.get("pct_start", 0.3),
            anneal_strategy=kwargs.get("anneal", "cos"),
            div_factor=kwargs.get("div_factor", 25.0),
            final_div_factor=kwargs.get("final_div_factor", 1e4),
            three_phase=False,
            cycle_momentum=False,
        )

    assert_same(ours(sched, BASE_LR, total), theirs(make, BASE_LR, total))
    assert ours(sched, BASE_LR, total + 5)[total - 1 :] == [sched.lr(total - 1, BASE_LR)] * 6


PLATEAU = [
    1.0,
    0.9,
    0.9,
    0.89995,
    0.9,
    0.91,
    0.8,
    0.8,
    0.8,
    0.8,
    0.7,
    0.69999,
    0.7,
    0.7,
    0.7,
    0.6,
    0.6,
    0.6,
    0.6,
    0.6,
    0.6,
    0.5,
    0.5,
    0.5,
    0.5,
    0.5,
    0.5,
    0.5,
    0.5,
    0.5,
]
RISING = [
    0.1,
    0.2,
    0.2,
    0.2001,
    0.2,
    0.2,
    0.3,
    0.3,
    0.30005,
    0.3,
    0.3,
    0.3,
    0.5,
    0.5,
    0.5,
    0.5,
    0.5,
    0.5,
    0.5,
    0.6,
    0.6,
    0.6,
    0.6,
    0.6,
    0.6,
    0.6,
    0.6,
    0.6,
    0.6,
    0.6,
]
NEGATIVE = [
    -1.0,
    -1.1,
    -1.1,
    -1.10005,
    -1.2,
    -1.2,
    -1.2,
    -1.2,
    -1.3,
    float("nan"),
    -1.3,
    -1.3,
    -1.3,
    -1.3,
    -1.3,
    -1.4,
    -1.4,
    -1.4,
    -1.4,
    -1.4,
    -1.4,
    -1.4,
    -1.4,
    -1.4,
    -1.4,
    -1.4,
    -1.4,
    -1.4,
    -1.4,
    -1.4,
]


@pytest.mark.parametrize(
    "metrics, kwargs",
    [
        (PLATEAU, {"factor": 0.5, "patience": 2}),  # improvements within threshold are bad
        (PLATEAU, {"factor": 0.5, "patience": 1, "cooldown": 2}),
        (PLATEAU, {"factor": 0.1, "patience": 0, "min_lr": 1e-4}),  # floor
        (PLATEAU, {"factor": 0.5, "patience": 1, "threshold": 0.02, "threshold_mode": "abs"}),
        (PLATEAU, {"factor": 0.3, "patience": 0, "cooldown": 1, "threshold": 0.0}),
        (RISING, {"mode": "max", "factor": 0.5, "patience": 2}),
        (
            RISING,
            {
                "mode": "max",
                "factor": 0.5,
                "patience": 1,
                "threshold_mode": "abs",
                "threshold": 0.05,
                "cooldown": 3,
            },
        ),
        # rel threshold on negative values (a repeat counts as an improvement), a NaN
        (NEGATIVE[::-1], {"factor": 0.5, "patience": 1}),
        (NEGATIVE, {"mode": "max", "factor": 0.5, "patience": 3, "min_lr": 0.02}),
        ([1.0] * 30, {"factor": 0.5, "patience": 0}),  # eps stops the halving near 1e-8
    ],
)
def test_reduce_on_plateau_matches_torch(metrics, kwargs):
    base_lr = 1e-6 if metrics == [1.0] * 30 else BASE_LR

    def make(opt):
        return pytest.importorskip("torch").optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)

    want = theirs(make, base_lr, EPOCHS, metrics)
    assert_same(ours(ReduceOnPlateau(**kwargs), base_lr, EPOCHS, metrics), want)
    assert len(set(want)) > 1  # the sequence does reduce


@settings(max_examples=40, deadline=None)
@given(
    steps=st.lists(
        st.sampled_from([-0.1, -1e-5, 0.0, 0.0, 0.0, 1e-5, 0.05]), min_size=30, max_size=30
    ),
    mode=st.sampled_from(["min", "max"]),
    threshold_mode=st.sampled_from(["rel", "abs"]),
    threshold=st.sampled_from([0.0, 1e-4, 0.01]),
    patience=st.integers(0, 3),
    cooldown=st.integers(0, 3),
    factor=st.sampled_from([0.1, 0.5, 0.9]),
    min_lr=st.sampled_from([0.0, 1e-3]),
)
def test_reduce_on_plateau_matches_torch_on_random_walks(steps, **kwargs):
    metrics = list(np.cumsum(steps) + 1.0)
    kwargs = {"monitor": "val_loss", **kwargs}
    torch_kwargs = {k: v for k, v in kwargs.items() if k != "monitor"}

    def make(opt):
        return pytest.importorskip("torch").optim.lr_scheduler.ReduceLROnPlateau(
            opt, **torch_kwargs
        )

    want = theirs(make, BASE_LR, EPOCHS, metrics)
    assert_same(ours(ReduceOnPlateau(**kwargs), BASE_LR, EPOCHS, metrics), want)


# --- state and config round trips ----------------------------------------------------------------


@pytest.mark.parametrize("split", [0, 5, 9, 12, 20])
def test_reduce_on_plateau_state_round_trip_continues_identically(split):
    kwargs = {"factor": 0.5, "patience": 1, "cooldown": 2, "min_lr": 1e-3}
    full = ReduceOnPlateau(**kwargs)
    want = ours(full, BASE_LR, EPOCHS, PLATEAU)

    first = ReduceOnPlateau(**kwargs)
    got = ours(first, BASE_LR, split, PLATEAU[:split])
    state = json.loads(json.dumps(first.state_dict(), allow_nan=False))
    resumed = from_config(json.loads(json.dumps(first.get_config())))
    resumed.load_state_dict(state)
    assert resumed.state_dict() == first.state_dict()
    for epoch in range(split, EPOCHS):
        got.append(resumed.lr(epoch, BASE_LR))
        resumed.update(epoch, {"val_loss": PLATEAU[epoch]})
    assert got == want


def test_reduce_on_plateau_state_keeps_counters_and_infinite_best():
    sched = ReduceOnPlateau(mode="max", patience=5, cooldown=4)
    assert sched.state_dict()["best"] == "-inf"  # no improvement yet; JSON has no -inf
    ours(sched, BASE_LR, 3, [0.5, 0.4, 0.4])
    state = sched.state_dict()
    assert state == {"best": 0.5, "num_bad_epochs": 2, "cooldown_counter": 0, "num_reductions": 0}
    other = ReduceOnPlateau(mode="max", patience=5, cooldown=4)
    other.load_state_dict(json.loads(json.dumps(state, allow_nan=False)))
    assert (other.best, other.num_bad_epochs, other.cooldown_counter) == (0.5, 2, 0)
    fresh = ReduceOnPlateau()
    fresh.load_state_dict(json.loads(json.dumps(fresh.state_dict(), allow_nan=False)))
    assert fresh.best == math.inf


SAMPLES = [
    Constant(),
    Step(step_size=4, gamma=0.5),
    Exponential(gamma=0.95),
    Cosine(total_epochs=20, warmup_epochs=3, min_lr=1e-4, warmup_start_factor=0.1),
    Cosine(total_epochs=20),
    OneCycle(total_epochs=20, max_lr=0.3, pct_start=0.25, anneal="linear"),
    OneCycle(total_epochs=20),
    ReduceOnPlateau(
        monitor="loss",
        mode="max",
        factor=0.5,
        patience=2,
        threshold=0.01,
        threshold_mode="abs",
        cooldown=1,
        min_lr=1e-4,
    ),
]


@pytest.mark.parametrize("sched", SAMPLES, ids=repr)
def test_config_round_trip(sched):
    config = json.loads(json.dumps(sched.get_config(), allow_nan=False))
    assert config["name"] in SCHEDULES
    rebuilt = from_config(config)
    assert type(rebuilt) is type(sched)
    assert rebuilt.get_config() == sched.get_config()
    assert repr(rebuilt) == repr(sched)
    assert ours(rebuilt, 0.1, 25) == ours(sched, 0.1, 25)


def test_repr_shows_config():
    assert repr(Step(step_size=10)) == "Step(step_size=10, gamma=0.1)"
    assert repr(Constant()) == "Constant()"
    assert repr(Cosine(20, warmup_epochs=1)) == (
        "Cosine(total_epochs=20, warmup_epochs=1, min_lr=0.0, warmup_start_factor=None)"
    )
    assert repr(ReduceOnPlateau(mode="max")).startswith(
        "ReduceOnPlateau(monitor='val_loss', mode='max'"
    )


def test_get_schedule():
    assert isinstance(get_schedule("constant"), Constant)
    sched = get_schedule("Cosine", total_epochs=10, warmup_epochs=2)
    assert sched.get_config()["warmup_epochs"] == 2
    assert isinstance(get_schedule("reduce-on-plateau", patience=3), ReduceOnPlateau)
    obj = Step(2)
    assert get_schedule(obj) is obj
    assert sorted(SCHEDULES) == [
        "constant",
        "cosine",
        "exponential",
        "onecycle",
        "reduce_on_plateau",
        "step",
    ]


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: Step(0), ValueError, "Step: expected step_size to be a positive integer, got 0."),
        (
            lambda: Step(2.5),
            TypeError,
            "Step: expected step_size to be a positive integer, got 2.5.",
        ),
        (
            lambda: Step(True),
            TypeError,
            "Step: expected step_size to be a positive integer, got True.",
        ),
        (lambda: Step(2, gamma=0), ValueError, "Step: expected gamma in (0.0, inf), got 0.0."),
        (
            lambda: Exponential("a"),
            TypeError,
            "Exponential: expected gamma to be a number, got 'a'.",
        ),
        (
            lambda: Exponential(-0.5),
            ValueError,
            "Exponential: expected gamma in (0.0, inf), got -0.5.",
        ),
        (
            lambda: Cosine(0),
            ValueError,
            "Cosine: expected total_epochs to be a positive integer, got 0.",
        ),
        (
            lambda: Cosine(10, warmup_epochs=10),
            ValueError,
            "Cosine: expected warmup_epochs < total_epochs (10), got 10.",
        ),
        (
            lambda: Cosine(10, warmup_epochs=-1),
            ValueError,
            "Cosine: expected warmup_epochs to be a non-negative integer, got -1.",
        ),
        (
            lambda: Cosine(10, min_lr=-1.0),
            ValueError,
            "Cosine: expected min_lr in [0.0, inf), got -1.0.",
        ),
        (
            lambda: Cosine(10, 2, warmup_start_factor=0.0),
            ValueError,
            "Cosine: expected warmup_start_factor in (0.0, 1.0], got 0.0.",
        ),
        (
            lambda: Cosine(10, 2, warmup_start_factor=1.5),
            ValueError,
            "Cosine: expected warmup_start_factor in (0.0, 1.0], got 1.5.",
        ),
        (
            lambda: OneCycle(10, anneal="cosine"),
            ValueError,
            "OneCycle: expected anneal 'cos' or 'linear', got 'cosine'.",
        ),
        (
            lambda: OneCycle(10, pct_start=1.5),
            ValueError,
            "OneCycle: expected pct_start in [0.0, 1.0], got 1.5.",
        ),
        (
            lambda: OneCycle(10, max_lr=0.0),
            ValueError,
            "OneCycle: expected max_lr in (0.0, inf), got 0.0.",
        ),
        (
            lambda: OneCycle(10, div_factor=-1),
            ValueError,
            "OneCycle: expected div_factor in (0.0, inf), got -1.0.",
        ),
        (
            lambda: OneCycle("10"),
            TypeError,
            "OneCycle: expected total_epochs to be a positive integer, got '10'.",
        ),
        (
            lambda: ReduceOnPlateau(mode="up"),
            ValueError,
            "ReduceOnPlateau: expected mode 'min' or 'max', got 'up'.",
        ),
        (
            lambda: ReduceOnPlateau(threshold_mode="pct"),
            ValueError,
            "ReduceOnPlateau: expected threshold_mode 'rel' or 'abs', got 'pct'.",
        ),
        (
            lambda: ReduceOnPlateau(factor=1.0),
            ValueError,
            "ReduceOnPlateau: expected factor in [0.0, 1.0), got 1.0.",
        ),
        (
            lambda: ReduceOnPlateau(patience=-1),
            ValueError,
            "ReduceOnPlateau: expected patience to be a non-negative integer, got -1.",
        ),
        (
            lambda: ReduceOnPlateau(cooldown=1.5),
            TypeError,
            "ReduceOnPlateau: expected cooldown to be a non-negative integer, got 1.5.",
        ),
        (
            lambda: ReduceOnPlateau(monitor=3),
            TypeError,
            "ReduceOnPlateau: expected monitor to be a history key (str), got 3.",
        ),
        (
            lambda: ReduceOnPlateau(monitor=""),
            ValueError,
            "ReduceOnPlateau: expected monitor to be a history key (str), got ''.",
        ),
        (
            lambda: ReduceOnPlateau(min_lr=float("nan")),
            ValueError,
            "ReduceOnPlateau: expected min_lr in [0.0, inf), got nan.",
        ),
        (
            lambda: Step(2).lr(-1, 0.1),
            ValueError,
            "Step: expected epoch to be a non-negative integer, got -1.",
        ),
        (
            lambda: get_schedule("foo"),
            ValueError,
            "schedules: unknown schedule 'foo'; expected one of 'constant', 'cosine', "
            "'exponential', 'onecycle', 'reduce_on_plateau', 'step'.",
        ),
        (
            lambda: get_schedule(5),
            TypeError,
            "schedules: expected a schedule name or an object with an lr(epoch, base_lr) "
            "method, got int.",
        ),
        (
            lambda: get_schedule("step", gamma=0.5),
            TypeError,
            "schedules: cannot build Step from the arguments {'gamma': 0.5}: "
            "missing a required argument: 'step_size'.",
        ),
        (
            lambda: get_schedule(Step(2), gamma=0.5),
            TypeError,
            "schedules: keyword arguments ['gamma'] apply only to a schedule name, "
            "got the object Step(step_size=2, gamma=0.1).",
        ),
        (
            lambda: from_config({"gamma": 0.5}),
            ValueError,
            "schedules: expected a config dict with a 'name' key, got {'gamma': 0.5}.",
        ),
        (lambda: from_config({"name": "warm"}), ValueError, "schedules: unknown schedule 'warm'"),
    ],
)
def test_errors(build, error, message):
    with pytest.raises(error, match=re.escape(message)):
        build()


def test_reduce_on_plateau_missing_monitor_names_key_and_available_ones():
    sched = ReduceOnPlateau(monitor="val_loss")
    with pytest.raises(ValueError, match=re.escape("'val_loss'")) as info:
        sched.update(3, {"loss": 0.5, "accuracy": 0.9})
    assert "['accuracy', 'loss']" in str(info.value)


def test_load_state_dict_errors():
    with pytest.raises(ValueError, match=re.escape("lacks the keys ['num_reductions']")):
        ReduceOnPlateau().load_state_dict({"best": 1.0, "num_bad_epochs": 0, "cooldown_counter": 0})
    with pytest.raises(TypeError, match="expected state to be a dict"):
        Step(2).load_state_dict([1, 2])
