"""scikit-learn's fitted multi-layer perceptrons as fcnet models: :func:`from_sklearn`."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from fcnet.layers import Dense

#: scikit-learn's hidden activations -> fcnet's
_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}


def from_sklearn(estimator: Any, *, dtype: Any = None) -> Any:
    """An fcnet ``Sequential`` computing what a fitted scikit-learn MLP computes.

    ``sklearn.neural_network.MLPClassifier`` and ``MLPRegressor`` store ``coefs_[l]`` as
    ``(n_in, n_out)``, fcnet's layout of ``W``, and ``intercepts_[l]`` as ``b``. Each layer
    becomes a Dense with the hidden activation (``logistic`` is sigmoid); the last one is
    linear and the output function becomes the model's ``task``:

    * ``softmax`` (a multi-class classifier): ``task = "classification"``, ``classes`` from
      ``classes_``; ``predict_proba`` is the softmax of the logits, as scikit-learn's;
    * ``logistic`` with one output (two classes): ``task = "binary"``, ``classes`` the two
      labels; ``predict_proba`` gives ``p`` (m, 1), scikit-learn's second column;
    * ``logistic`` with k outputs (multi-label): ``task = "binary"``, no classes;
    * ``identity`` (a regressor): ``task = "regression"``; ``predict`` gives (m, n_outputs).

    An estimator with a ``model_`` attribute that is an fcnet ``Sequential`` (fcnet's own
    estimators) gives a deep copy of that model.

    Parameters
    ----------
    estimator : MLPClassifier, MLPRegressor, or an estimator with ``model_``
    dtype : "float32" or "float64", optional
        Default: the dtype of ``coefs_`` (float64, unless fitted on float32 data).

    Returns
    -------
    fcnet.Sequential

    Raises
    ------
    TypeError
        For anything else.
    RuntimeError
        For an estimator that is not fitted.
    """
    from fcnet.network import Sequential

    model = getattr(estimator, "model_", None)
    if isinstance(model, Sequential):
        return copy.deepcopy(model)
    if not _is_sklearn_mlp(estimator):
        raise TypeError(
            "from_sklearn: expected scikit-learn's MLPClassifier or MLPRegressor (or an "
            f"estimator with an fcnet model_), got {type(estimator).__name__}."
        )
    name = type(estimator).__name__
    if not hasattr(estimator, "coefs_"):
        raise RuntimeError(f"from_sklearn: the {name} is not fitted; call fit first.")
    coefs, intercepts = list(estimator.coefs_), list(estimator.intercepts_)
    dtype = np.dtype(coefs[0].dtype if dtype is None else dtype)
    hidden = _ACTIVATIONS.get(estimator.activation)
    if hidden is None:
        raise ValueError(
            f"from_sklearn: {name} has activation {estimator.activation!r}; expected one of "
            f"{', '.join(sorted(_ACTIVATIONS))}."
        )
    layers = []
    for i, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        last = i == len(coefs) - 1
        layer = Dense(*W.shape, activation="identity" if last else hidden, rng=0, dtype=dtype)
        layer.W[...] = W
        layer.b[...] = b
        layers.append(layer)
    model = Sequential(layers)
    output = estimator.out_activation_
    n_out = coefs[-1].shape[1]
    if output == "softmax":
        model.task, model.classes = "classification", np.asarray(estimator.classes_)
    elif output == "logistic":
        model.task = "binary"
        if n_out == 1:
            model.classes = np.asarray(estimator.classes_)
    elif output == "identity":
        model.task = "regression"
    else:
        raise ValueError(
            f"from_sklearn: {name} has output activation {output!r}; expected softmax, "
            "logistic or identity."
        )
    return model


def _is_sklearn_mlp(estimator: Any) -> bool:
    try:
        from sklearn.neural_network import MLPClassifier, MLPRegressor
    except ImportError:  # then it cannot be one of scikit-learn's
        return False
    return isinstance(estimator, MLPClassifier | MLPRegressor)
