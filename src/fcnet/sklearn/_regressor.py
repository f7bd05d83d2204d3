"""MLPRegressor: a scikit-learn regressor trained by fcnet."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import column_or_1d, validate_data

from fcnet._validation import check_choice
from fcnet.sklearn._base import BaseMLP, sample_weights

#: scikit-learn's loss names and fcnet's, to fcnet's
_LOSSES = {
    "squared_error": "mse",
    "mse": "mse",
    "absolute_error": "mae",
    "mae": "mae",
    "huber": "huber",
}


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor with scikit-learn's interface, trained by fcnet.

    The network: ``hidden_layer_sizes`` fully connected hidden layers, then a linear output
    layer with one unit per target (``y_hat = A W + b``). Training minimises the
    (sample-weighted) mean loss plus the L2 penalty; with r = y_hat - y, per sample::

        squared_error (mse):   1/2 sum_j r_j^2
        absolute_error (mae):  sum_j |r_j|
        huber:                 sum_j (r_j^2 / 2 if |r_j| <= 1 else |r_j| - 1/2)

    Shapes: X (m, n_features), y (m,) or (m, n_outputs), predictions likewise (float64).

    Parameters
    ----------
    loss : {"squared_error", "absolute_error", "huber"}, default "squared_error"
        Also fcnet's names ``mse``, ``mae``. ``squared_error`` is scikit-learn's (half the
        squared error); scikit-learn reports its value divided by n_outputs, fcnet does not (the
        gradients are the same). scikit-learn's ``poisson`` is not available.
    hidden_layer_sizes : tuple of int, default (100,)
        Width of each hidden layer; ``()`` gives linear regression.
    activation : str or tuple of str, default "relu"
        The hidden layers' f, one name for all or one per hidden layer: ``relu``, ``tanh``,
        ``sigmoid`` (also scikit-learn's ``logistic``), ``gelu``, ``elu``, ``leaky_relu``,
        ``softplus``, ``identity``.
    solver : {"adam", "sgd", "adamw", "rmsprop"}, default "adam"
        fcnet's optimizer (PyTorch's update equations). ``sgd`` takes scikit-learn's steps
        (momentum and Nesterov's included); ``adam`` adds ``epsilon`` to sqrt(v_hat) where
        scikit-learn adds it to sqrt(v), so scikit-learn's epsilon acts as
        epsilon / sqrt(1 - beta_2^t), larger in the first steps (the same steps once epsilon
        is small beside sqrt(v_hat)); ``adamw`` also decays every parameter (biases included)
        by lr * 0.01 a step, besides ``alpha``; ``rmsprop`` smooths with 0.99.
        scikit-learn's ``lbfgs`` is not available.
    alpha : float, default 1e-4
        L2 penalty on the weights (not the biases), as in scikit-learn, where a batch of b
        rows with weights w adds ``alpha / (2 sum w) ||W||^2`` to the batch's mean loss. fcnet's
        ``Dense(l2=...)`` adds ``l2 ||W||^2``, so every Dense layer gets
        ``l2 = alpha / (2 b w_mean)``, with b the batch size and w_mean the mean training
        weight (1 without weights): the same penalty for every full batch; scikit-learn penalises
        the last, smaller batch of an epoch more.
    batch_size : int or "auto", default "auto"
        Rows per mini-batch; "auto" is min(200, n_samples); clipped to n_samples.
    learning_rate_init : float, default 1e-3
        The optimizer's learning rate (constant: scikit-learn's ``learning_rate`` schedules
        and ``power_t`` are not available).
    max_iter : int, default 200
        Maximum number of epochs of ``fit``.
    shuffle : bool, default True
        Shuffle the rows every epoch.
    random_state : None, int or numpy.random.RandomState, default None
        Seeds a numpy Generator for the initial weights, the shuffles, the validation split and
        the dropout masks; an int gives the same fit every time.
    tol : float, default 1e-4
        An epoch improves when its loss is lower than the best by more than ``tol`` (or its
        validation R^2 higher, with ``early_stopping``).
    verbose : bool, default False
        Print one line per epoch (fcnet's, to stderr).
    warm_start : bool, default False
        Start ``fit`` from the previous network (its architecture is kept as it was).
    momentum : float, default 0.9
        Momentum of ``solver="sgd"``.
    nesterovs_momentum : bool, default True
        Nesterov's momentum for ``solver="sgd"`` (when momentum > 0).
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the rows (at least 2) and stop when the validation
        R^2 stops improving; the best epoch's parameters are kept (the last of equally good
        epochs, where scikit-learn keeps the first).
    validation_fraction : float, default 0.1
        Share of the rows held out for early stopping.
    beta_1, beta_2 : float, default 0.9, 0.999
        Adam's decay rates of the first and second moment estimates.
    epsilon : float, default 1e-8
        Adam's (and RMSprop's) term added to the denominator.
    n_iter_no_change : int, default 10
        Epochs without improvement (see ``tol``) before ``fit`` stops.
    dropout : float or tuple of float, default 0.0
        Dropout probability after each hidden layer (one for all or one per hidden layer).
    batch_norm : bool, default False
        Batch normalisation of every hidden layer's pre-activations.
    dtype : {"float32", "float64"}, default "float32"
        The network's float type; X and y are converted to it.
    clip_norm : float, optional
        Rescale the gradients when their global L2 norm exceeds it.
    callbacks : list, optional
        fcnet callbacks (``fcnet.callbacks``), deep-copied at every fit.

    Attributes
    ----------
    model_ : fcnet.Sequential
        The trained network (``fcnet.save``, ``model_.explain``, ``fcnet.check_gradients``).
    history_ : fcnet.History
        Per-epoch loss and learning rate.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined when X has string column names.
    n_outputs_ : int
        Number of targets.
    n_layers_ : int
        Number of layers counting the input: len(hidden_layer_sizes) + 2.
    n_iter_ : int
        Epochs run by the last ``fit``, or by all ``partial_fit`` calls together (scikit-learn
        counts 1 after each ``partial_fit``).
    t_ : int
        Training samples seen by the optimizer.
    loss_, loss_curve_, best_loss_ : float, list of float, float or None
        The last epoch's loss, every epoch's, the lowest (None with early stopping). The loss
        includes the penalty.
    validation_scores_, best_validation_score_ : list of float or None, float or None
        Validation R^2 at each epoch and the best of them (early stopping only).
    coefs_, intercepts_ : list of ndarray
        W (n_in, n_out) and b (n_out,) of each Dense layer: the live arrays of ``model_``.
    out_activation_ : str
        "identity".
    """

    def __init__(
        self,
        loss: str = "squared_error",
        hidden_layer_sizes: Any = (100,),
        activation: Any = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: Any = "auto",
        learning_rate_init: float = 0.001,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        dropout: Any = 0.0,
        batch_norm: bool = False,
        dtype: str = "float32",
        clip_norm: float | None = None,
        callbacks: Any = None,
    ) -> None:
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.dtype = dtype
        self.clip_norm = clip_norm
        self.callbacks = callbacks

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """Train a new network (or the previous one, with ``warm_start``) for up to max_iter
        epochs.

        Parameters
        ----------
        X : array-like (m, n_features)
        y : array-like (m,) or (m, n_outputs)
        sample_weight : array-like (m,), optional

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(BaseMLP._partial_fit_available)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """Train one epoch on (X, y), keeping the optimizer's state (e.g. Adam's moments).

        Parameters
        ----------
        X : array-like (m, n_features)
        y : array-like (m,) or (m, n_outputs)
            As many outputs as on the first call.
        sample_weight : array-like (m,), optional

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X: Any) -> np.ndarray:
        """y_hat (m,) for one output, else (m, n_outputs); float64."""
        outputs = self._outputs(X)
        return outputs[:, 0] if outputs.shape[1] == 1 else outputs

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # y may have several columns
        return tags

    # --- the parts of BaseMLP ---------------------------------------------------------------
    @property
    def _loss_name(self) -> str:  # type: ignore[override]
        return check_choice(type(self).__name__, "loss", self.loss, _LOSSES)

    def _check_data(self, X: Any, y: Any, reset: bool, dtype: np.dtype) -> tuple[Any, Any]:
        X, y = validate_data(
            self, X, y, reset=reset, dtype=dtype, order="C", multi_output=True, y_numeric=True
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _targets(
        self, y: Any, sample_weight: Any, job: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        who = job["who"]
        self._loss_name  # noqa: B018 (an unknown loss fails now, before anything changes)
        Y = np.asarray(y).reshape(len(y), -1)
        if not job["first_pass"] and Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"{who}: expected y with {self.n_outputs_} output(s), as in the first fit, "
                f"got {Y.shape[1]}."
            )
        weights = sample_weights(who, sample_weight, job["m"])
        self.n_outputs_ = Y.shape[1]
        return np.ascontiguousarray(Y, dtype=job["dtype"]), weights, None

    def _score_outputs(self, outputs: np.ndarray, Y: np.ndarray, w: np.ndarray | None) -> float:
        """Validation R^2 (weighted by w), averaged over the outputs, as sklearn's r2_score:
        1 - sum w (y - y_hat)^2 / sum w (y - mean_w y)^2, 1 for a perfect fit of a constant y."""
        Y = Y.astype(np.float64)
        w = np.ones(len(Y)) if w is None or not w.any() else w
        mean = w @ Y / w.sum()
        residual = w @ (Y - outputs) ** 2
        spread = w @ (Y - mean) ** 2
        scores = np.where(residual == 0, 1.0, 0.0)
        np.subtract(1.0, residual / np.where(spread > 0, spread, 1.0), out=scores, where=spread > 0)
        return float(scores.mean())
