"""fcnet.interop.to_torch / from_torch / to_state_dict against PyTorch itself."""

from __future__ import annotations

import numpy as np
import pytest

import fcnet
from fcnet import activations as act
from fcnet.interop import from_torch, to_state_dict, to_torch

torch = pytest.importorskip("torch")
nn = torch.nn

ACTIVATIONS = [
    "identity",
    "relu",
    "leaky_relu",
    "elu",
    "gelu",
    "sigmoid",
    "tanh",
    "softplus",
    "softmax",
]


def _model(activation, dtype="float32"):
    layers = [
        fcnet.Dense(5, 12, activation=activation, rng=0, dtype=dtype),
        fcnet.BatchNorm(12, momentum=0.3, eps=1e-3, dtype=dtype),
        fcnet.Dropout(0.25, dtype=dtype),
        fcnet.LayerNorm(12, eps=1e-4, dtype=dtype),
        act.LeakyReLU(0.05),
        fcnet.Dense(12, 3, rng=1, dtype=dtype),
    ]
    model = fcnet.Sequential(layers)
    rng = np.random.default_rng(2)
    X = rng.normal(size=(256, 5))
    model.fit(X, rng.integers(0, 3, 256), epochs=2, batch_size=32, rng=0, verbose=0)
    return model  # trained: running statistics and affine parameters are not their defaults


def _inputs(dtype="float32", rows=2000):
    return np.random.default_rng(5).normal(scale=2.0, size=(rows, 5)).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_to_torch_outputs_match(activation, dtype):
    model = _model(activation, dtype)
    module = to_torch(model)
    assert not module.training  # eval mode: Dropout off, BatchNorm on running statistics
    X = _inputs(dtype)
    with torch.inference_mode():
        Y = module.eval()(torch.from_numpy(X)).numpy()
    assert Y.dtype == np.dtype(dtype)
    expected = model.predict_output(X)
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(Y, expected, rtol=tol, atol=tol * np.abs(expected).max())


def test_state_dict_keys_layouts_and_strict_load():
    model = _model("gelu")
    module = to_torch(model)
    state = to_state_dict(model)
    assert list(state) == list(module.state_dict())
    assert list(state) == [
        "0.weight",
        "0.bias",
        "2.weight",
        "2.bias",
        "2.running_mean",
        "2.running_var",
        "2.num_batches_tracked",
        "4.weight",
        "4.bias",
        "6.weight",
        "6.bias",
    ]
    np.testing.assert_array_equal(state["0.weight"], model.layers[0].W.T)
    assert state["0.weight"].shape == (12, 5) and state["0.weight"].flags.c_contiguous
    np.testing.assert_array_equal(state["2.running_var"], model.layers[1].running_var)
    fresh = nn.Sequential(
        nn.Linear(5, 12),
        nn.GELU(),
        nn.BatchNorm1d(12),
        nn.Dropout(),
        nn.LayerNorm(12),
        nn.LeakyReLU(),
        nn.Linear(12, 3),
    )
    result = fresh.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert isinstance(module[2], nn.BatchNorm1d) and module[2].momentum == 0.3
    assert module[2].eps == 1e-3 and module[4].eps == 1e-4 and module[5].negative_slope == 0.05


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_is_bit_for_bit(dtype):
    model = _model("elu", dtype)
    back = from_torch(to_torch(model))
    assert back.get_config()["layers"] == model.get_config()["layers"]  # no task in a module
    assert back.dtype == np.dtype(dtype)
    for key, value in model.params().items():
        assert back.params()[key].dtype == value.dtype
        np.testing.assert_array_equal(back.params()[key], value)
    for mine, theirs in zip(model.layers, back.layers, strict=True):
        if isinstance(mine, fcnet.BatchNorm):
            np.testing.assert_array_equal(theirs.running_mean, mine.running_mean)
            np.testing.assert_array_equal(theirs.running_var, mine.running_var)
    X = _inputs(dtype)
    np.testing.assert_array_equal(back.predict_output(X), model.predict_output(X))


def test_state_dict_with_architecture_keeps_everything():
    model = _model("tanh")
    model.preprocessing = fcnet.preprocessing.StandardScaler().fit(_inputs("float64"))
    model.classes = np.array(["a", "b", "c"])
    state = to_torch(model).state_dict()
    for architecture in (model.get_config(), model, fcnet.io.json.dumps(model.get_config())):
        back = from_torch(state, architecture=architecture)
        assert back.get_config() == model.get_config()
        X = _inputs()
        np.testing.assert_array_equal(back.predict_proba(X), model.predict_proba(X))
    assert from_torch(to_torch(model), architecture=model).get_config() == model.get_config()
    numpy_state = {k: v.numpy() for k, v in state.items() if "num_batches" not in k}
    back = from_torch(numpy_state, architecture=model)
    np.testing.assert_array_equal(back.params()["0.W"], model.params()["0.W"])
    with pytest.raises(ValueError, match="holds no activations"):
        from_torch(state)
    with pytest.raises(ValueError, match=r"missing \['0.bias'\]"):
        from_torch({k: v for k, v in state.items() if k != "0.bias"}, architecture=model)
    bad = dict(state, **{"0.weight": torch.zeros(5, 12)})
    with pytest.raises(ValueError, match=r"'0.weight' has shape \(5, 12\).*\(12, 5\)"):
        from_torch(bad, architecture=model)


def test_batch_norm_momentum_convention_matches_torch_in_training():
    rng = np.random.default_rng(0)
    X = rng.normal(loc=2.0, scale=3.0, size=(64, 4))
    layer = fcnet.BatchNorm(4, momentum=0.2, eps=1e-3, dtype="float64")
    module = to_torch(fcnet.Sequential([layer]))[0].train()
    for _ in range(3):
        A = layer.forward(X, training=True)
        with torch.no_grad():
            T = module(torch.from_numpy(X)).numpy()
        np.testing.assert_allclose(A, T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.running_mean, module.running_mean.numpy(), rtol=1e-13)
    np.testing.assert_allclose(layer.running_var, module.running_var.numpy(), rtol=1e-13)


def test_from_torch_reads_torch_made_modules():
    torch.manual_seed(0)
    module = nn.Sequential(
        nn.Linear(5, 8, bias=False),
        nn.Softplus(),
        nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Identity()),
        nn.BatchNorm1d(8, affine=False),
        nn.ELU(alpha=0.7),
        nn.LayerNorm(8, elementwise_affine=False),
        nn.Linear(8, 2),
        nn.Softmax(dim=1),
    ).eval()
    module[3].running_mean.normal_()
    module[3].running_var.uniform_(0.5, 2.0)
    model = from_torch(module)
    assert [type(layer).__name__ for layer in model.layers] == [
        "Dense",
        "Dense",
        "BatchNorm",
        "ELU",
        "LayerNorm",
        "Dense",
    ]
    X = _inputs()
    with torch.inference_mode():
        expected = module(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(model.predict_output(X), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("module", "error", "pattern"),
    [
        (nn.GELU(approximate="tanh"), ValueError, "approximate='tanh'"),
        (nn.Softplus(beta=2), ValueError, "beta=1"),
        (nn.Conv1d(1, 1, 3), TypeError, r"module 1 \(Conv1d.*no fcnet equivalent"),
        (nn.SiLU(), TypeError, r"module 1 \(SiLU\(\)\) has no fcnet equivalent"),
        (nn.BatchNorm1d(4, momentum=None), ValueError, "momentum=None"),
        (nn.BatchNorm1d(4, track_running_stats=False), ValueError, "no running statistics"),
        (nn.Softmax(dim=0), ValueError, "dim=1 or -1"),
        (nn.LeakyReLU(1.5), ValueError, r"slope in \[0, 1\)"),
    ],
)
def test_unsupported_modules_are_refused_by_name(module, error, pattern):
    with pytest.raises(error, match=pattern):
        from_torch(nn.Sequential(nn.Linear(4, 4), module))


def test_refusals_of_types():
    with pytest.raises(TypeError, match="float32 or float64"):
        from_torch(nn.Sequential(nn.Linear(4, 4).half()))
    with pytest.raises(TypeError, match="expected a torch.nn.Module or a state dict"):
        from_torch([nn.Linear(4, 4)])

    class Twice(act.Activation):
        def apply(self, Z, out):
            return np.multiply(Z, 2, out=out)

    with pytest.raises(TypeError, match=r"layer 0 \(Dense\) has activation Twice"):
        to_torch(fcnet.Sequential([fcnet.Dense(2, 2, activation=Twice(), rng=0)]))
    with pytest.raises(TypeError, match=r"to_state_dict: layer 1 \(Twice\) has no PyTorch"):
        to_state_dict(fcnet.Sequential([fcnet.Dense(2, 2, rng=0), Twice()]))
