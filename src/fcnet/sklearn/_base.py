"""What MLPClassifier and MLPRegressor share: checking the data, building the network, training
it with :meth:`fcnet.Sequential.fit`, scikit-learn's stopping rule, the fitted attributes.

One epoch of ``fit`` is one pass of fcnet's training loop over the training rows in mini-batches
(shuffled each epoch when ``shuffle``). After each epoch, as in scikit-learn's MLP::

    without early_stopping:  no_improvement += 1 if loss_epoch > best_loss - tol, else 0
    with early_stopping:     no_improvement += 1 if score_val < best_score + tol, else 0
    stop when no_improvement > n_iter_no_change

and with early stopping the parameters of the epoch with the best validation score are put back
when training ends (of several epochs with that score, the last: scikit-learn keeps the first,
but on the few rows of a validation set accuracy often stays flat for many epochs while training
goes on improving the model).
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse import issparse
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from fcnet.data import split_rows
from fcnet.layers import Dense
from fcnet.losses import check_sample_weight
from fcnet.sklearn._params import (
    Settings,
    build_network,
    generator_from,
    make_optimizer,
    read_settings,
)


class _Monitor:
    """An fcnet callback applying scikit-learn's stopping rule (see the module docstring).

    ``score(model)`` gives the validation score of the model as it is (None: no early
    stopping). ``stop=False`` (partial_fit) records and counts but never stops.
    """

    def __init__(
        self,
        *,
        tol: float,
        patience: int,
        count: int,
        best_loss: float,
        best_score: float,
        score: Any,
        stop: bool,
    ) -> None:
        self.tol, self.patience, self.count = tol, patience, count
        self.best_loss, self.best_score = best_loss, best_score
        self.score, self.stop = score, stop
        self.losses: list[float] = []
        self.scores: list[float] = []
        self.converged = False
        self.best: dict[str, np.ndarray] | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, float], model: Any) -> bool:
        """Record the epoch's loss (and validation score); True once patience has run out."""
        loss = float(logs["loss"])
        self.losses.append(loss)
        if self.score is not None:
            score = float(self.score(model))
            self.scores.append(score)
            self.count = self.count + 1 if score < self.best_score + self.tol else 0
            if score >= self.best_score:  # a tie goes to the later, longer trained epoch
                self.best_score = score
                self.best = {k: v.copy() for k, v in _arrays(model).items()}
        else:
            self.count = self.count + 1 if loss > self.best_loss - self.tol else 0
            self.best_loss = min(self.best_loss, loss)
        if self.count > self.patience:
            self.converged = True
            return self.stop
        return False

    def on_train_end(self, model: Any) -> None:
        """Put back the parameters of the best epoch (early stopping)."""
        if self.best is not None:
            for key, value in _arrays(model).items():
                np.copyto(value, self.best[key])


def _arrays(model: Any) -> dict[str, np.ndarray]:
    """Every array that training changes: the parameters and the layers' running statistics."""
    arrays = dict(model.params())
    for i, layer in enumerate(model.layers):
        state = getattr(layer, "state", None)
        if callable(state):
            arrays.update({f"{i}.{name}": value for name, value in state().items()})
    return arrays


@dataclass
class _Job:
    """One call's training data, checked: rows to train on and rows to validate on."""

    settings: Settings
    X: np.ndarray
    Y: np.ndarray
    weights: np.ndarray | None
    validation: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None
    incremental: bool
    first_pass: bool
    who: str


class BaseMLP(BaseEstimator):
    """The shared machinery; see :class:`MLPClassifier` and :class:`MLPRegressor`."""

    _loss_name = "mse"  # fcnet's loss; the regressor reads its ``loss`` parameter instead
    _out_activation = "identity"

    # --- what the subclasses provide --------------------------------------------------------
    def _check_data(self, X: Any, y: Any, reset: bool, dtype: np.dtype) -> tuple[Any, Any]:
        raise NotImplementedError

    def _targets(
        self, y: Any, sample_weight: Any, job: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """(targets Y (m, n_out) in the model's dtype, weights or None, strata or None)."""
        raise NotImplementedError

    def _score_outputs(self, outputs: np.ndarray, Y: np.ndarray, w: np.ndarray | None) -> float:
        raise NotImplementedError

    def _model_classes(self) -> Any:
        return None

    # --- fit --------------------------------------------------------------------------------
    def _fit(
        self, X: Any, y: Any, sample_weight: Any, *, incremental: bool, classes: Any = None
    ) -> BaseMLP:
        """Check everything, then train; on any error the estimator is left as it was."""
        who = f"{type(self).__name__}.{'partial_fit' if incremental else 'fit'}"
        saved = dict(self.__dict__)
        try:
            job = self._prepare(X, y, sample_weight, incremental, classes, who)
            self._train(job)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise
        return self

    def _prepare(
        self, X: Any, y: Any, sample_weight: Any, incremental: bool, classes: Any, who: str
    ) -> _Job:
        settings = read_settings(self, who)
        if incremental and self.early_stopping:
            raise ValueError(f"{who}: partial_fit does not support early_stopping=True.")
        first_pass = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        dtype = settings.dtype if first_pass else self.model_.dtype
        refuse_sparse(who, X)
        X, y = self._check_data(X, y, first_pass, dtype)
        context = {"who": who, "first_pass": first_pass, "incremental": incremental}
        context.update(classes=classes, dtype=dtype, m=len(X))
        Y, weights, strata = self._targets(y, sample_weight, context)
        if first_pass:
            self._rng = generator_from(self.random_state)
            self.model_ = build_network(settings, X.shape[1], Y.shape[1], self._rng)
        elif not incremental:  # warm_start: the same network, a fresh optimizer and stream
            self._rng = generator_from(self.random_state)
        if first_pass or not incremental:
            self._optimizer = make_optimizer(settings)
        validation = None
        if self.early_stopping:
            train, held = _validation_rows(len(X), settings.validation_fraction, strata, who, self)
            validation = (X[held], Y[held], None if weights is None else weights[held])
            X, Y, weights = X[train], Y[train], None if weights is None else weights[train]
        return _Job(settings, X, Y, weights, validation, incremental, first_pass, who)

    def _train(self, job: _Job) -> None:
        settings, model, n = job.settings, self.model_, len(job.X)
        if settings.batch_norm and n < 2:
            raise ValueError(
                f"{job.who}: batch_norm=True needs at least 2 training samples, got {n} sample(s)."
            )
        batch = min(200 if settings.batch_size is None else settings.batch_size, n)
        mean_weight = 1.0 if job.weights is None else float(job.weights.mean())
        if mean_weight <= 0:
            raise ValueError(f"{job.who}: every training sample has weight zero.")
        # scikit-learn adds alpha / (2 sum_batch w) ||W||^2 to a batch's (weighted mean) loss;
        # Dense adds l2 ||W||^2: the same for a batch of the usual size and mean weight
        for layer in model.layers:
            if isinstance(layer, Dense):
                layer.l2 = settings.alpha / (2.0 * batch * mean_weight)
        score = None
        if job.validation is not None:
            Xv, Yv, wv = job.validation

            def score(net: Any) -> float:
                return self._score_outputs(net.predict_output(Xv), Yv, wv)

        # partial_fit carries the count on from call to call; each fit starts it afresh
        carry = job.incremental and not job.first_pass and self.best_loss_ is not None
        monitor = _Monitor(
            tol=settings.tol,
            patience=settings.n_iter_no_change,
            count=self._no_improvement_count if carry else 0,
            best_loss=self.best_loss_ if carry else np.inf,
            best_score=-np.inf,
            score=score,
            stop=not job.incremental,
        )
        callbacks = [monitor, *copy.deepcopy(list(self.callbacks or []))]
        model.classes = None  # fit gets codes; labels are the estimator's business
        try:
            history = model.fit(
                job.X,
                job.Y,
                loss=self._loss_name,
                optimizer=self._optimizer,
                epochs=1 if job.incremental else settings.max_iter,
                batch_size=batch,
                sample_weight=job.weights,
                clip_norm=settings.clip_norm,
                callbacks=callbacks,
                shuffle=self.shuffle,
                rng=self._rng,
                verbose=settings.verbose,
            )
        finally:
            model.classes = self._model_classes()
        self._record(job, history, monitor, n)

    def _record(self, job: _Job, history: Any, monitor: _Monitor, n: int) -> None:
        """Set the fitted attributes from one call's History and monitor."""
        epochs = len(monitor.losses)
        keep = not job.first_pass  # warm_start and partial_fit extend the curves
        if keep and job.incremental:  # one History over every partial_fit call
            keys = list(history.history)
            for values in zip(*history.history.values(), strict=True):
                logs = dict(zip(keys, values, strict=True))
                self.history_.append(len(self.history_.epoch), logs)
        else:
            self.history_ = history
        self.n_iter_ = (self.n_iter_ if keep and job.incremental else 0) + epochs
        self.t_ = (self.t_ if keep else 0) + n * epochs
        self.loss_curve_ = (self.loss_curve_ if keep else []) + monitor.losses
        if monitor.losses:
            self.loss_ = monitor.losses[-1]
        self._no_improvement_count = monitor.count
        if self.early_stopping:
            previous = self.validation_scores_ if keep and self.validation_scores_ else []
            self.validation_scores_ = previous + monitor.scores
            self.best_validation_score_ = monitor.best_score
            self.best_loss_ = None
        else:
            self.validation_scores_ = self.best_validation_score_ = None
            self.best_loss_ = monitor.best_loss
        dense = [layer for layer in self.model_.layers if isinstance(layer, Dense)]
        self.coefs_ = [layer.W for layer in dense]  # the live arrays of model_
        self.intercepts_ = [layer.b for layer in dense]
        self.n_layers_ = len(dense) + 1
        self.out_activation_ = self._out_activation
        stopped = monitor.converged or history.stopped_early or history.interrupted
        if not job.incremental and not stopped:
            warnings.warn(
                f"{job.who}: the optimizer reached max_iter={job.settings.max_iter} epochs "
                "and has not converged yet.",
                ConvergenceWarning,
                stacklevel=5,  # the caller of fit
            )

    # --- prediction -------------------------------------------------------------------------
    def _outputs(self, X: Any) -> np.ndarray:
        """The network's output for X, as float64 (m, n_out)."""
        check_is_fitted(self, "model_")
        refuse_sparse(f"{type(self).__name__}.predict", X)
        X = validate_data(self, X, reset=False, dtype=self.model_.dtype, order="C")
        return self.model_.predict_output(X).astype(np.float64)

    def _partial_fit_available(self) -> bool:
        if self.early_stopping:
            raise AttributeError(
                f"{type(self).__name__}: partial_fit is not available with early_stopping=True "
                "(a single epoch has no validation rule to stop by); set early_stopping=False."
            )
        return True

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False  # dense math: sparse input is refused with a TypeError
        return tags


def _validation_rows(
    n: int, fraction: float, strata: np.ndarray | None, who: str, est: Any
) -> tuple[np.ndarray, np.ndarray]:
    """(training rows, validation rows) for early stopping: ``fraction`` of the rows, at least 2,
    stratified by class for a classifier (every class with 2 rows or more on both sides)."""
    if n < 3:
        raise ValueError(
            f"{who}: early_stopping=True needs at least 3 samples (2 held out to validate), "
            f"got {n} sample(s)."
        )
    train, held = split_rows(n, max(fraction, 2.0 / n), est._rng, labels=strata)
    if len(held) < 2 or len(train) < 1:
        raise ValueError(
            f"{who}: validation_fraction={fraction} leaves {len(train)} training and "
            f"{len(held)} validation samples of {n}; early stopping needs at least 2 to validate."
        )
    return train, held


def refuse_sparse(who: str, X: Any) -> None:
    """A TypeError for a sparse X, saying how to get dense features."""
    if issparse(X):
        raise TypeError(
            f"{who}: expected dense X, got a sparse {type(X).__name__}; fcnet computes with "
            "dense arrays. Convert it (X.toarray()) or build dense features, e.g. "
            "ColumnTransformer(..., sparse_threshold=0) or OneHotEncoder(sparse_output=False)."
        )


def sample_weights(who: str, sample_weight: Any, m: int) -> np.ndarray | None:
    """Per-sample weights as float64 (m,), checked (finite, >= 0, not all zero), or None."""
    return None if sample_weight is None else check_sample_weight(who, sample_weight, m)
