"""MLPClassifier: a scikit-learn classifier trained by fcnet."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import validate_data

from fcnet.data import encode_with_classes
from fcnet.sklearn._base import BaseMLP, sample_weights


class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multi-layer perceptron classifier with scikit-learn's interface, trained by fcnet.

    The network: ``hidden_layer_sizes`` fully connected hidden layers, then one output per class
    (k logits z). The class probabilities are the softmax of the logits and training minimises
    the (sample- and class-weighted) mean cross-entropy plus the L2 penalty::

        p_c = exp(z_c) / sum_j exp(z_j)
        L   = sum_i w_i (-log p_{i, y_i}) / sum_i w_i   +   l2 sum_layers ||W||^2

    Shapes: X (m, n_features), logits and probabilities (m, k) with k = len(classes_) (also 2
    for two classes: two softmax outputs, where scikit-learn uses one logistic output).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (100,)
        Width of each hidden layer; ``()`` gives multinomial logistic regression.
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
        validation accuracy higher, with ``early_stopping``).
    verbose : bool, default False
        Print one line per epoch (fcnet's, to stderr).
    warm_start : bool, default False
        Start ``fit`` from the previous network (its architecture is kept as it was).
    momentum : float, default 0.9
        Momentum of ``solver="sgd"``.
    nesterovs_momentum : bool, default True
        Nesterov's momentum for ``solver="sgd"`` (when momentum > 0).
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the rows (stratified) and stop when the validation
        accuracy stops improving; the best epoch's parameters are kept (the last of equally good
        epochs, where scikit-learn keeps the first). At least 2 rows (and one of every class with
        two or more rows) are held out.
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
    class_weight : None, "balanced" or dict, default None
        Weight of each class, keyed by the labels as in ``y``; "balanced" is
        n_samples / (k * count of the class). Multiplies ``sample_weight``.
    dtype : {"float32", "float64"}, default "float32"
        The network's float type; X is converted to it.
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
    classes_ : ndarray (k,)
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined when X has string column names.
    n_outputs_ : int
        Output units: k, also 2 for two classes.
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
        Validation accuracy at each epoch and the best of them (early stopping only).
    coefs_, intercepts_ : list of ndarray
        W (n_in, n_out) and b (n_out,) of each Dense layer: the live arrays of ``model_``.
    out_activation_ : str
        "softmax".
    """

    _loss_name = "cross_entropy"
    _out_activation = "softmax"

    def __init__(
        self,
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
        class_weight: Any = None,
        dtype: str = "float32",
        clip_norm: float | None = None,
        callbacks: Any = None,
    ) -> None:
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
        self.class_weight = class_weight
        self.dtype = dtype
        self.clip_norm = clip_norm
        self.callbacks = callbacks

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPClassifier:
        """Train a new network (or the previous one, with ``warm_start``) for up to max_iter
        epochs.

        Parameters
        ----------
        X : array-like (m, n_features)
        y : array-like (m,)
            Class labels (any sortable type, at least two classes).
        sample_weight : array-like (m,), optional

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(BaseMLP._partial_fit_available)
    def partial_fit(
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> MLPClassifier:
        """Train one epoch on (X, y), keeping the optimizer's state (e.g. Adam's moments).

        Parameters
        ----------
        X : array-like (m, n_features)
        y : array-like (m,)
            Labels, each one of ``classes``; a batch may hold a single class.
        classes : array-like, optional
            Every label y may ever hold; required on the first call.
        sample_weight : array-like (m,), optional

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """log p (m, k), float64: the log-softmax of the logits, ``z - logsumexp(z)``."""
        Z = self._outputs(X)
        Z -= Z.max(axis=1, keepdims=True)
        Z -= np.log(np.exp(Z).sum(axis=1, keepdims=True))
        return Z

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities p (m, k), float64, columns in the order of ``classes_``."""
        return np.exp(self.predict_log_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row, ``classes_[argmax z]`` (m,)."""
        outputs = self._outputs(X)  # checks that the estimator is fitted
        return self.classes_[outputs.argmax(axis=1)]

    # --- the parts of BaseMLP ---------------------------------------------------------------
    def _check_data(self, X: Any, y: Any, reset: bool, dtype: np.dtype) -> tuple[Any, Any]:
        X, y = validate_data(self, X, y, reset=reset, dtype=dtype, order="C")
        check_classification_targets(y)
        return X, y

    def _targets(
        self, y: Any, sample_weight: Any, job: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        who, classes = job["who"], job["classes"]
        if job["incremental"] and job["first_pass"]:
            if classes is None:
                raise ValueError(
                    f"{who}: classes must be given on the first call: every label y may ever "
                    "hold, e.g. classes=np.unique(y_all); got classes=None."
                )
            known = unique_labels(classes)
        elif job["incremental"]:
            known = self.classes_
            if classes is not None and not np.array_equal(unique_labels(classes), known):
                raise ValueError(
                    f"{who}: classes={unique_labels(classes).tolist()} differs from the classes "
                    f"of the first call, {known.tolist()}."
                )
        elif job["first_pass"]:
            known = unique_labels(y)
        else:
            known = self.classes_
            if set(unique_labels(y).tolist()) != set(known.tolist()):
                raise ValueError(
                    f"{who}: warm_start=True needs y with the classes of the previous fit, "
                    f"{known.tolist()}; got {unique_labels(y).tolist()}."
                )
        if len(known) < 2:
            raise ValueError(
                f"{who}: y holds one class only ({_label(known[0])!r}); a classifier needs at "
                "least two classes."
            )
        codes = encode_with_classes(y, known, who)
        weights = sample_weights(who, sample_weight, job["m"])
        counts = np.bincount(codes, weights=weights, minlength=len(known))  # weighted, as sklearn
        if job["incremental"] and not job["first_pass"]:
            counts = counts + self._class_counts  # a new array: an error leaves the old one
        per_class = self._class_weights(known, counts, who)
        if per_class is not None:
            weights = per_class[codes] if weights is None else weights * per_class[codes]
        if not job["incremental"]:
            present = np.unique(codes if weights is None else codes[weights > 0])
            if len(present) < 2:
                raise ValueError(
                    f"{who}: the samples of weight above zero hold one class only "
                    f"({_label(known[present[0]])!r}); a classifier needs at least two classes."
                )
        self._class_counts = counts
        self.classes_ = known
        self.n_outputs_ = len(known)
        Y = np.zeros((len(codes), len(known)), dtype=job["dtype"])
        Y[np.arange(len(codes)), codes] = 1  # one-hot rows: fcnet accepts a one-class batch
        return Y, weights, codes

    def _class_weights(
        self, classes: np.ndarray, counts: np.ndarray, who: str
    ) -> np.ndarray | None:
        """The weight of each class (k,) from ``class_weight``, or None.

        "balanced" is n / (k n_c) over the samples seen (n_c: the weight of class c's samples,
        their number without sample weights): those of this ``fit``, or of every
        ``partial_fit`` call so far (a class not seen yet gets 1). A dict is keyed by the labels
        as in y; a class it leaves out gets 1.
        """
        class_weight = self.class_weight
        if class_weight is None:
            return None
        if isinstance(class_weight, str):
            if class_weight != "balanced":
                raise ValueError(
                    f"{who}: expected class_weight None, 'balanced' or a dict, "
                    f"got {class_weight!r}."
                )
            seen = counts > 0
            weights = np.ones(len(counts))
            weights[seen] = counts.sum() / (len(counts) * counts[seen])
            return weights
        if not isinstance(class_weight, Mapping):
            raise TypeError(
                f"{who}: expected class_weight None, 'balanced' or a dict, "
                f"got {type(class_weight).__name__}."
            )
        unknown = [label for label in class_weight if label not in set(classes.tolist())]
        if unknown:
            raise ValueError(
                f"{who}: class_weight names labels that are not classes: {unknown}; "
                f"the classes are {classes.tolist()}."
            )
        weights = np.array([class_weight.get(c, 1.0) for c in classes.tolist()], dtype=float)
        if not (np.isfinite(weights).all() and (weights >= 0).all()):
            raise ValueError(
                f"{who}: expected class weights that are finite and >= 0, got {class_weight!r}."
            )
        return weights

    def _score_outputs(self, outputs: np.ndarray, Y: np.ndarray, w: np.ndarray | None) -> float:
        """Validation accuracy (weighted by w)."""
        hits = outputs.argmax(axis=1) == Y.argmax(axis=1)
        if w is None or not w.any():
            return float(hits.mean())
        return float(np.dot(hits, w) / w.sum())

    def _model_classes(self) -> Any:
        return self.classes_


def _label(value: Any) -> Any:
    """A label as Python writes it (1, 'spam'), not as numpy's scalar types (np.int64(1))."""
    return value.item() if isinstance(value, np.generic) else value
