"""fcnet against an independent implementation: PyTorch (CPU), in float64, to 1e-10.

Skipped cleanly when torch is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest

import fcnet
from fcnet import losses, optimizers

torch = pytest.importorskip("torch")
F = torch.nn.functional

TORCH_ACTIVATIONS = {
    "identity": lambda z: z,
    "relu": F.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, 0.01),
    "elu": lambda z: F.elu(z, 1.0),
    "gelu": F.gelu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softplus": F.softplus,
    "softmax": lambda z: F.softmax(z, dim=1),
}

SIZES = [5, 8, 6, 3]
M = 7


def _build(activation, seed):
    layers = [
        fcnet.Dense(
            a,
            b,
            activation=activation if i < len(SIZES) - 2 else "identity",
            rng=seed + i,
            dtype="float64",
        )
        for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:], strict=True))
    ]
    for layer in layers:
        layer.b[...] = np.random.default_rng(seed + 100).normal(scale=0.1, size=layer.b.shape)
    return fcnet.Sequential(layers)


def _torch_forward(model, X, activation):
    weights = []
    A = X
    for i, layer in enumerate(model.layers):
        W = torch.tensor(layer.W.T.copy(), requires_grad=True)  # torch's weight is W^T
        b = torch.tensor(layer.b.copy(), requires_grad=True)
        weights.append((W, b))
        Z = F.linear(A, W, b)
        A = TORCH_ACTIVATIONS[activation](Z) if i < len(model.layers) - 1 else Z
    return A, weights


def _torch_loss(name, out, y):
    m = out.shape[0]
    if name == "mse":
        return 0.5 * ((out - y) ** 2).sum() / m
    if name == "mae":
        return (out - y).abs().sum() / m
    if name == "huber":
        return F.huber_loss(out, y, reduction="sum", delta=1.0) / m
    if name == "cross_entropy":
        return F.cross_entropy(out, y)
    return F.binary_cross_entropy_with_logits(out, y, reduction="sum") / m


def _targets(name, rng):
    if name == "cross_entropy":
        return rng.integers(0, SIZES[-1], size=M)
    if name == "binary_cross_entropy":
        return rng.integers(0, 2, size=(M, SIZES[-1])).astype(np.float64)
    return rng.normal(size=(M, SIZES[-1]))


@pytest.mark.parametrize("activation", sorted(TORCH_ACTIVATIONS))
@pytest.mark.parametrize(
    "loss_name", ["mse", "mae", "huber", "cross_entropy", "binary_cross_entropy"]
)
def test_network_outputs_loss_and_gradients_equal_torch(activation, loss_name):
    rng = np.random.default_rng(hash((activation, loss_name)) % 2**32)
    model = _build(activation, seed=int(rng.integers(1000)))
    X = rng.normal(size=(M, SIZES[0]))
    y = _targets(loss_name, rng)
    loss = losses.get_loss(loss_name)

    out = model.forward(X)
    value = loss.forward(out, y)
    dX = model.backward(loss.backward())

    Xt = torch.tensor(X, requires_grad=True)
    out_t, weights = _torch_forward(model, Xt, activation)
    yt = torch.tensor(y)
    value_t = _torch_loss(loss_name, out_t, yt)
    value_t.backward()

    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert value == pytest.approx(value_t.item(), rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(dX, Xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for layer, (W, b) in zip(model.layers, weights, strict=True):
        np.testing.assert_allclose(layer.dW, W.grad.numpy().T, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(layer.db, b.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_weighted_cross_entropy_equals_torch():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(9, 4))
    y = rng.integers(0, 4, size=9)
    w = rng.random(9) + 0.1
    loss = losses.SoftmaxCrossEntropy()
    value = loss.forward(Z, y, w)
    Zt = torch.tensor(Z, requires_grad=True)
    per = F.cross_entropy(Zt, torch.tensor(y), reduction="none")
    value_t = (per * torch.tensor(w)).sum() / w.sum()
    value_t.backward()
    assert value == pytest.approx(value_t.item(), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), Zt.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_probability_targets_equal_torch():
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(5, 3))
    P = rng.random((5, 3))
    P /= P.sum(axis=1, keepdims=True)
    loss = losses.SoftmaxCrossEntropy()
    value = loss.forward(Z, P)
    Zt = torch.tensor(Z, requires_grad=True)
    value_t = F.cross_entropy(Zt, torch.tensor(P))
    value_t.backward()
    assert value == pytest.approx(value_t.item(), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), Zt.grad.numpy(), rtol=1e-10, atol=1e-14)


OPTIMIZER_CASES = [
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.1, "momentum": 0.9}),
    ("sgd", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.001}),
    ("adam", {"lr": 0.01}),
    ("adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01}),
    ("adamw", {"lr": 0.01}),
    ("adamw", {"lr": 0.02, "weight_decay": 0.1}),
    ("rmsprop", {"lr": 0.01}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.01}),
]

TORCH_OPTIMIZERS = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
}


@pytest.mark.parametrize(("name", "kwargs"), OPTIMIZER_CASES)
def test_optimizer_parameters_equal_torch_after_several_steps(name, kwargs):
    rng = np.random.default_rng(3)
    params = {"W": rng.normal(size=(4, 3)), "b": rng.normal(size=3)}
    tensors = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    ours = optimizers.OPTIMIZERS[name](**kwargs)
    theirs = TORCH_OPTIMIZERS[name](list(tensors.values()), **kwargs)
    for _ in range(6):
        grads = {k: rng.normal(size=v.shape) for k, v in params.items()}
        ours.step(params, grads)
        for k, t in tensors.items():
            t.grad = torch.tensor(grads[k])
        theirs.step()
    for k in params:
        np.testing.assert_allclose(params[k], tensors[k].detach().numpy(), rtol=1e-10, atol=1e-12)


def test_training_steps_equal_torch_end_to_end():
    """Several SGD-with-momentum steps of a whole network, fcnet's fit vs a torch loop."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(32, 5))
    y = rng.integers(0, 3, size=32)
    model = fcnet.Sequential(
        [
            fcnet.Dense(5, 8, "tanh", rng=0, dtype="float64"),
            fcnet.Dense(8, 3, rng=1, dtype="float64"),
        ]
    )
    torch_params = [
        torch.tensor(model.layers[0].W.T.copy(), requires_grad=True),
        torch.tensor(model.layers[0].b.copy(), requires_grad=True),
        torch.tensor(model.layers[1].W.T.copy(), requires_grad=True),
        torch.tensor(model.layers[1].b.copy(), requires_grad=True),
    ]
    opt_t = torch.optim.SGD(torch_params, lr=0.1, momentum=0.9)
    model.fit(
        X,
        y,
        loss="cross_entropy",
        optimizer=optimizers.SGD(0.1, momentum=0.9),
        epochs=3,
        batch_size=32,
        shuffle=False,
        rng=0,
    )
    Xt, yt = torch.tensor(X), torch.tensor(y)
    for _ in range(3):
        opt_t.zero_grad()
        hidden = torch.tanh(F.linear(Xt, torch_params[0], torch_params[1]))
        F.cross_entropy(F.linear(hidden, torch_params[2], torch_params[3]), yt).backward()
        opt_t.step()
    np.testing.assert_allclose(model.layers[0].W, torch_params[0].detach().numpy().T, rtol=1e-10)
    np.testing.assert_allclose(
        model.layers[1].b, torch_params[3].detach().numpy(), rtol=1e-10, atol=1e-13
    )
