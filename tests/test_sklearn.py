"""fcnet.sklearn: scikit-learn's own estimator checks, and the estimators at work in scikit-learn's
tools (pipelines, searches, cross-validation, pickling, dask-ml)."""

from __future__ import annotations

import copy
import inspect
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", minversion="1.6")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from fcnet.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

# scikit-learn's checks fit on tiny data sets, often for fewer epochs than convergence takes
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# Small and quick, yet each instance passes the checks' accuracy bars (0.83, 0.87, R^2 0.5)
# for every random_state of 0..19 (measured), not only for the checks' random_state=0
SMALL = dict(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=60, n_iter_no_change=5)
# early stopping ends a run n_iter_no_change + 1 epochs after the validation score stops rising
# (at once on the checks' tiny validation sets): smaller batches take more steps in that time
EARLY = dict(SMALL, hidden_layer_sizes=(32,), batch_size=16, learning_rate_init=0.03)
CHECKED = [
    MLPClassifier(),
    MLPClassifier(dtype="float64", **SMALL),
    MLPClassifier(early_stopping=True, **EARLY),
    MLPClassifier(class_weight="balanced", **SMALL),
    MLPRegressor(),
    MLPRegressor(dtype="float64", **SMALL),
    MLPRegressor(early_stopping=True, **EARLY),
]


def expected_failures(estimator):
    """The one check an estimator may fail, and why."""
    params = estimator.get_params()
    if params["dtype"] == "float64" and not params["early_stopping"]:
        return {}
    # Weights w_i equal repeated rows only in exact arithmetic on the same batches: a weighted
    # row and its w_i copies fall into different mini-batches (scikit-learn's SGDClassifier
    # fails this check for the same reason), the early-stopping split draws other rows, and
    # in float32 the sums of the batch gradients round differently.
    return {
        "check_sample_weight_equivalence_on_dense_data": (
            "mini-batch or float32 training: sample weights equal repeated rows only up to "
            "rounding and batch composition"
        )
    }


_STRICT = (
    {"xfail_strict": True}
    if "xfail_strict" in inspect.signature(parametrize_with_checks).parameters
    else {}
)


@parametrize_with_checks(CHECKED, expected_failed_checks=expected_failures, **_STRICT)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# --- the same numbers as scikit-learn's MLP ------------------------------------------------------
def _train_from_same_weights(ours, theirs, X, y, epochs, seed=0):
    """Fit both for ``epochs`` epochs from the same random weights, with fresh optimizers."""
    rng = np.random.default_rng(seed)
    ours.set_params(max_iter=1).fit(X, y)
    theirs.set_params(max_iter=1).fit(X, y)
    for W, b in zip(ours.coefs_, ours.intercepts_, strict=True):  # the live arrays of model_
        W[...] = rng.normal(scale=0.5, size=W.shape)
        b[...] = rng.normal(scale=0.1, size=b.shape)
    theirs.coefs_ = [W.copy() for W in ours.coefs_]
    theirs.intercepts_ = [b.copy() for b in ours.intercepts_]
    ours.set_params(warm_start=True, max_iter=epochs).fit(X, y)
    theirs.set_params(warm_start=True, max_iter=epochs).fit(X, y)
    return ours, theirs


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_same_training_as_sklearn(kind, solver):
    # alpha's conversion (l2 = alpha / (2 b)), the losses and the optimizers' updates: from the
    # same weights, 25 epochs of 3 mini-batches give scikit-learn's parameters. SGD with
    # Nesterov momentum to rounding; Adam to 1e-7 once epsilon (added to sqrt(v_hat) by fcnet,
    # to sqrt(v) by scikit-learn) is too small to matter.
    from sklearn import neural_network

    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 5))
    if kind == "classifier":
        y = rng.integers(0, 3, size=60)  # three classes: softmax in both
        ours_cls, theirs_cls = MLPClassifier, neural_network.MLPClassifier
    else:
        y = rng.normal(size=(60, 2))
        ours_cls, theirs_cls = MLPRegressor, neural_network.MLPRegressor
    common = dict(
        hidden_layer_sizes=(7, 4),
        solver=solver,
        alpha=0.3,
        batch_size=20,
        learning_rate_init=0.05,
        shuffle=False,
        tol=0.0,
        n_iter_no_change=1000,
        epsilon=1e-13,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours, theirs = _train_from_same_weights(
            ours_cls(dtype="float64", **common), theirs_cls(**common), X, y, epochs=25
        )
    tolerance = 1e-12 if solver == "sgd" else 1e-7
    for a, b in zip(
        ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=0, atol=tolerance)
    assert ours.n_iter_ == theirs.n_iter_ == 25
    if kind == "classifier":
        assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-7)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), atol=1e-6)


# --- where scikit-learn's estimators work ------------------------------------------------------
def _blobs(n=150, seed=0):
    """Three separable Gaussian blobs in 4-D, shuffled: X float64 (n, 4), y int (n,)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    X = 2.0 * np.eye(3, 4)[y] + 0.5 * rng.normal(size=(n, 4))
    return X, y


QUICK = dict(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=40, random_state=0)


@pytest.fixture(scope="module")
def table():
    """A pandas table with numbers on other scales, a categorical, a text column; string labels."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    n = 240
    code = rng.integers(0, 3, size=n)
    colour = np.array(["red", "green", "blue"])[(code + (rng.random(n) < 0.2)) % 3]
    words = np.array(["cheap offer", "meeting notes", "breakfast menu"])[code]
    frame = pd.DataFrame(
        {
            "size": 100.0 + 40.0 * code + 30.0 * rng.normal(size=n),
            "age": 1000.0 * rng.normal(size=n),
            "colour": pd.Categorical(colour),
            "text": np.char.add(words, rng.choice([" today", " later"], n)),
        }
    )
    return frame, np.array(["ham", "spam", "eggs"])[code]


@pytest.fixture(scope="module")
def pipeline(table):
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame, labels = table
    features = ColumnTransformer(
        [
            ("numbers", StandardScaler(), ["size", "age"]),
            ("colour", OneHotEncoder(), ["colour"]),
            ("text", TfidfVectorizer(), "text"),
        ],
        sparse_threshold=0,  # dense features: fcnet refuses sparse input
    )
    return make_pipeline(features, MLPClassifier(**QUICK)).fit(frame[:180], labels[:180])


def test_pipeline_with_column_transformer_and_string_labels(table, pipeline):
    frame, labels = table
    clf = pipeline[-1]
    assert clf.classes_.tolist() == ["eggs", "ham", "spam"]
    assert clf.n_features_in_ == 2 + 3 + 8  # two numbers, three colours, eight words
    predicted = pipeline.predict(frame[180:])
    assert predicted.dtype.kind == "U" and set(predicted) <= set(labels)
    assert pipeline.score(frame[180:], labels[180:]) > 0.95
    proba = pipeline.predict_proba(frame[180:])
    assert proba.shape == (60, 3) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert (clf.classes_[proba.argmax(axis=1)] == predicted).all()


def test_pickled_pipeline_predicts_the_same(table, pipeline):
    import pickle

    frame, _ = table
    restored = pickle.loads(pickle.dumps(pipeline))
    np.testing.assert_array_equal(restored.predict_proba(frame), pipeline.predict_proba(frame))
    np.testing.assert_array_equal(restored.predict(frame), pipeline.predict(frame))


def test_grid_search_in_one_and_in_two_processes():
    from sklearn.model_selection import GridSearchCV

    X, y = _blobs()
    grid = {"hidden_layer_sizes": [(4,), (16,)], "learning_rate_init": [1e-3, 1e-2]}
    results = []
    for n_jobs in (1, 2):
        search = GridSearchCV(MLPClassifier(max_iter=30, random_state=0), grid, cv=3, n_jobs=n_jobs)
        search.fit(X, y)
        results.append(search.cv_results_["mean_test_score"])
        assert len(search.cv_results_["params"]) == 4
        assert search.best_params_["learning_rate_init"] == 1e-2
        assert search.best_score_ > 0.95
    np.testing.assert_array_equal(results[0], results[1])  # seeded: the same in workers


def test_cross_val_score():
    from sklearn.model_selection import cross_val_score

    X, y = _blobs()
    assert cross_val_score(MLPClassifier(**QUICK), X, y, cv=3).min() > 0.95
    target = X @ np.array([1.0, -2.0, 0.5, 3.0])
    scores = cross_val_score(MLPRegressor(**QUICK), X, target, cv=3)  # R^2
    assert scores.min() > 0.9


def test_dask_ml_incremental_over_blocks_sorted_by_class():
    pytest.importorskip("dask_ml")
    import dask.array as da
    from dask_ml.wrappers import Incremental

    X, y = _blobs(n=160)
    order = np.argsort(y, kind="stable")
    X, y = X[order], y[order]  # blocks of 40 rows: most hold one class only
    dX, dy = da.from_array(X, chunks=(40, 4)), da.from_array(y, chunks=40)
    classes = np.unique(y)
    inc = Incremental(MLPClassifier(**QUICK), shuffle_blocks=False)
    inc.fit(dX, dy, classes=classes)
    # Incremental calls partial_fit block after block: the same as doing so by hand
    by_hand = MLPClassifier(**QUICK)
    for start in range(0, 160, 40):
        by_hand.partial_fit(X[start : start + 40], y[start : start + 40], classes=classes)
    fitted = inc.estimator_
    assert fitted.n_iter_ == 4 and fitted.t_ == 160
    for a, b in zip(fitted.coefs_, by_hand.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    predicted = inc.predict(dX).compute()
    np.testing.assert_array_equal(predicted, by_hand.predict(X))
    # shuffled blocks, a few passes: it learns
    inc = Incremental(MLPClassifier(**dict(QUICK, learning_rate_init=0.05)), random_state=0)
    for _ in range(5):
        inc.partial_fit(dX, dy, classes=classes)
    assert inc.score(dX, dy) > 0.9


# --- partial_fit ---------------------------------------------------------------------------------
def _state(est):
    """Everything partial_fit may change: the attributes and the parameters' values."""
    attributes = {k: copy.deepcopy(v) for k, v in vars(est).items() if k != "model_"}
    params = {}
    if hasattr(est, "model_"):
        params = {k: v.copy() for k, v in est.model_.params().items()}
    return attributes, params


def _assert_same_state(before, after):
    assert before[0].keys() == after[0].keys()
    for key in before[0]:
        if key == "_rng":
            assert before[0][key].bit_generator.state == after[0][key].bit_generator.state
        elif key == "_optimizer":
            assert before[0][key].t == after[0][key].t
        else:
            np.testing.assert_equal(after[0][key], before[0][key], err_msg=key)
    for key in before[1]:
        np.testing.assert_array_equal(after[1][key], before[1][key])


def test_partial_fit_keeps_the_optimizer_state():
    X, y = _blobs(n=90)
    options = dict(QUICK, batch_size=30, shuffle=False)
    clf = MLPClassifier(**options).partial_fit(X, y, classes=[0, 1, 2])
    optimizer = clf._optimizer
    assert optimizer.t == 3  # Adam's step count: 3 batches
    moments = {k: v["m"].copy() for k, v in optimizer.state.items()}
    clf.partial_fit(X, y)
    assert clf._optimizer is optimizer and optimizer.t == 6
    assert all(not np.array_equal(optimizer.state[k]["m"], m) for k, m in moments.items())
    # two epochs of partial_fit are two epochs of fit, which keeps one optimizer throughout
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = MLPClassifier(**dict(options, max_iter=2)).fit(X, y)
    for a, b in zip(clf.coefs_ + clf.intercepts_, fitted.coefs_ + fitted.intercepts_, strict=True):
        np.testing.assert_array_equal(a, b)
    assert clf.n_iter_ == fitted.n_iter_ == 2 and clf.t_ == fitted.t_ == 180
    assert clf.loss_curve_ == fitted.loss_curve_


def test_partial_fit_takes_one_class_batches_once_the_classes_are_known():
    X, y = _blobs(n=150)
    clf = MLPClassifier(**QUICK)
    for _ in range(20):
        for c in (0, 1, 2):  # every batch holds one class
            clf.partial_fit(X[y == c], y[y == c], classes=[0, 1, 2] if c == 0 else None)
    assert clf.classes_.tolist() == [0, 1, 2] and clf.n_iter_ == 60
    assert clf.predict_proba(X).shape == (150, 3)
    assert clf.score(X, y) > 0.9
    # classes learned by an earlier fit
    fitted = MLPClassifier(**QUICK).fit(X, y)
    fitted.partial_fit(X[y == 2], y[y == 2])
    assert fitted.classes_.tolist() == [0, 1, 2]


def test_partial_fit_without_classes_on_the_first_call():
    X, y = _blobs(n=30)
    clf = MLPClassifier(**QUICK)
    before = _state(clf)
    with pytest.raises(ValueError, match="classes must be given on the first call"):
        clf.partial_fit(X, y)
    _assert_same_state(before, _state(clf))
    assert not hasattr(clf, "n_features_in_")


def test_partial_fit_with_a_label_outside_the_classes():
    X, y = _blobs(n=30)
    bad = y.copy()
    bad[7] = 5
    first = MLPClassifier(**QUICK)
    with pytest.raises(ValueError, match=r"label 5 at row 7 is not one of .*\[0, 1, 2\]"):
        first.partial_fit(X, bad, classes=[0, 1, 2])
    assert not hasattr(first, "model_") and not hasattr(first, "classes_")
    clf = MLPClassifier(**QUICK).partial_fit(X, y, classes=[0, 1, 2])
    before = _state(clf)
    with pytest.raises(ValueError, match="label 5 at row 7"):
        clf.partial_fit(X, bad)
    with pytest.raises(ValueError, match=r"classes=\[0, 1\] differs from the classes"):
        clf.partial_fit(X, y, classes=[0, 1])
    _assert_same_state(before, _state(clf))


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_partial_fit_with_another_width(cls):
    X, y = _blobs(n=30)
    extra = {"classes": [0, 1, 2]} if cls is MLPClassifier else {}
    est = cls(**QUICK).partial_fit(X, y, **extra)
    before = _state(est)
    with pytest.raises(ValueError, match=f"X has 3 features, but {cls.__name__} is expecting 4"):
        est.partial_fit(X[:, :3], y)
    _assert_same_state(before, _state(est))
    if cls is MLPRegressor:
        with pytest.raises(ValueError, match=r"expected y with 1 output\(s\), as in the first fit"):
            est.partial_fit(X, np.stack([y, y], axis=1))
        _assert_same_state(before, _state(est))


def test_partial_fit_is_not_there_with_early_stopping():
    clf = MLPClassifier(early_stopping=True)
    assert not hasattr(clf, "partial_fit")
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'") as error:
        clf.partial_fit  # noqa: B018
    assert "not available with early_stopping=True" in str(error.value.__cause__)


# --- the fitted estimator -------------------------------------------------------------------------
def test_model_is_a_working_fcnet_sequential(tmp_path):
    import fcnet

    X, y = _blobs(n=60)
    labels = np.array(["a", "b", "c"])[y]
    clf = MLPClassifier(**QUICK).fit(X, labels)
    model = clf.model_
    assert isinstance(model, fcnet.Sequential)
    np.testing.assert_array_equal(model.predict(X), clf.predict(X))  # model_ knows the labels
    path = tmp_path / "clf.safetensors"
    fcnet.save(model, path)
    loaded = fcnet.load(path)
    np.testing.assert_array_equal(loaded.predict_output(X), model.predict_output(X))
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    report = fcnet.check_gradients(model, "cross_entropy", X[:4], y[:4])
    assert report.ok
    assert "SoftmaxCrossEntropy" in model.explain(X[:2], labels[:2], loss="cross_entropy")


def test_fitted_attributes():
    X, y = _blobs(n=90)
    options = dict(hidden_layer_sizes=(8, 5), learning_rate_init=0.01, tol=1e-3, max_iter=300)
    clf = MLPClassifier(**options, random_state=0).fit(X, y)
    assert [W.shape for W in clf.coefs_] == [(4, 8), (8, 5), (5, 3)]
    assert [b.shape for b in clf.intercepts_] == [(8,), (5,), (3,)]
    assert clf.coefs_[0] is clf.model_.layers[0].W  # the live arrays
    assert clf.n_layers_ == 4 and clf.n_outputs_ == 3 and clf.out_activation_ == "softmax"
    assert 1 <= clf.n_iter_ < 300  # the loss stopped improving by tol before max_iter
    assert clf.loss_curve_ == clf.history_.history["loss"] and len(clf.loss_curve_) == clf.n_iter_
    assert clf.loss_ == clf.loss_curve_[-1] and clf.best_loss_ == min(clf.loss_curve_)
    assert clf.t_ == 90 * clf.n_iter_
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None
    # scikit-learn's rule, replayed: stop once n_iter_no_change + 1 epochs in a row did not
    # improve on the best loss by tol
    count, best = 0, np.inf
    for epoch, loss in enumerate(clf.loss_curve_, start=1):
        count = count + 1 if loss > best - clf.tol else 0
        best = min(best, loss)
        assert (count > clf.n_iter_no_change) == (epoch == clf.n_iter_)

    early = MLPRegressor(early_stopping=True, **dict(QUICK, max_iter=300)).fit(X, X @ np.ones(4))
    assert early.best_loss_ is None and len(early.validation_scores_) == early.n_iter_
    assert early.best_validation_score_ == max(early.validation_scores_) > 0.5
    assert early.out_activation_ == "identity" and early.n_outputs_ == 1
    assert early.t_ == early.n_iter_ * 81  # 9 of the 90 rows validate


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_early_stopping_keeps_the_best_epoch(cls):
    X, y = _blobs(n=150)
    if cls is MLPRegressor:
        y = X @ np.array([1.0, -1.0, 2.0, 0.0]) + 0.3 * np.random.default_rng(1).normal(size=150)
    est = cls(early_stopping=True, **QUICK).fit(X, y)
    scores = est.validation_scores_
    assert est.n_iter_ > est.n_iter_no_change + 1  # it stopped, the best epoch is behind
    best = len(scores) - 1 - int(np.argmax(scores[::-1]))  # the last of the best
    assert scores[best] == est.best_validation_score_ == max(scores)
    if cls is MLPClassifier:
        assert scores.count(max(scores)) > 1  # accuracy on 15 rows: ties, the later one kept
    # the parameters kept are those of that epoch: refit that many epochs and compare
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        again = cls(early_stopping=True, **dict(QUICK, max_iter=best + 1)).fit(X, y)
    np.testing.assert_array_equal(est.predict(X), again.predict(X))
    for a, b in zip(est.coefs_, again.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)


def test_hidden_layers_options_build_the_network():
    from fcnet.activations import Sigmoid, Tanh
    from fcnet.layers import BatchNorm, Dense, Dropout

    X, y = _blobs(n=90)
    clf = MLPClassifier(
        hidden_layer_sizes=(12, 6),
        activation=("tanh", "logistic"),
        dropout=(0.2, 0.0),
        batch_norm=True,
        dtype="float64",
        **{k: v for k, v in QUICK.items() if k != "hidden_layer_sizes"},
    ).fit(X, y)
    kinds = [type(layer) for layer in clf.model_.layers]
    assert kinds == [Dense, BatchNorm, Tanh, Dropout, Dense, BatchNorm, Sigmoid, Dense]
    assert clf.model_.dtype == np.float64 and clf.coefs_[0].dtype == np.float64
    assert clf.predict_proba(X).dtype == np.float64
    assert clf.score(X, y) > 0.9
    plain = MLPClassifier(**QUICK).fit(X, y)
    assert plain.model_.dtype == np.float32 and len(plain.model_.layers) == 2


@pytest.mark.parametrize("solver", ["sgd", "adam", "adamw", "rmsprop"])
def test_every_solver_learns(solver):
    X, y = _blobs(n=90)
    clf = MLPClassifier(solver=solver, clip_norm=5.0, **dict(QUICK, learning_rate_init=0.05))
    assert clf.fit(X, y).score(X, y) > 0.9


def test_random_state():
    X, y = _blobs(n=60)
    options = dict(QUICK, dropout=0.1)
    a = MLPClassifier(**options).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, MLPClassifier(**options).fit(X, y).predict_proba(X))
    state = np.random.RandomState(3)
    options["random_state"] = state
    clf = MLPClassifier(**options)
    b, c = clf.fit(X, y).predict_proba(X), clf.fit(X, y).predict_proba(X)
    assert not np.array_equal(b, c)  # a RandomState is drawn from, as in scikit-learn
    options["random_state"] = np.random.RandomState(3)
    np.testing.assert_array_equal(b, MLPClassifier(**options).fit(X, y).predict_proba(X))


def test_callbacks_are_copied_for_each_fit():
    import fcnet

    X, y = _blobs(n=60)
    stop = fcnet.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)
    clf = MLPClassifier(**dict(QUICK, max_iter=50), callbacks=[stop]).fit(X, y)
    assert clf.n_iter_ == 2  # the copy stopped training: no epoch improved by 10
    assert stop.best_epoch == -1 and stop.stopped_epoch is None  # the original is untouched
    assert clf.get_params()["callbacks"][0] is stop


def test_class_weight():
    from sklearn.utils.class_weight import compute_sample_weight

    X, y = _blobs(n=90)
    labels = np.array(["x", "y", "z"])[y]
    balanced = MLPClassifier(class_weight="balanced", **QUICK).fit(X, labels)
    weighted = MLPClassifier(**QUICK).fit(X, labels, compute_sample_weight("balanced", labels))
    np.testing.assert_array_equal(balanced.predict_proba(X), weighted.predict_proba(X))
    # a dict is keyed by the labels themselves; a heavy class takes over
    heavy = MLPClassifier(class_weight={"z": 1000.0, "x": 0.001}, **QUICK).fit(X, labels)
    assert np.mean(heavy.predict(X) == "z") > np.mean(labels == "z") + 0.2
    with pytest.raises(ValueError, match=r"labels that are not classes: \['w'\]"):
        MLPClassifier(class_weight={"w": 2.0}).fit(X, labels)
    clf = MLPClassifier(class_weight="balanced", **QUICK)
    for c in "xyz":  # balanced over the samples seen so far
        clf.partial_fit(X[labels == c], labels[labels == c], classes=["x", "y", "z"])
    np.testing.assert_array_equal(clf._class_counts, np.bincount(y))


@pytest.mark.parametrize(
    ("cls", "params", "error", "message"),
    [
        (MLPClassifier, {"hidden_layer_sizes": (4, 0)}, ValueError, "hidden_layer_sizes"),
        (MLPClassifier, {"hidden_layer_sizes": "4"}, TypeError, "hidden_layer_sizes"),
        (MLPClassifier, {"activation": "softmax"}, ValueError, "unknown activation"),
        (MLPClassifier, {"activation": ("relu", "tanh")}, ValueError, "each of the 1 hidden"),
        (MLPClassifier, {"solver": "lbfgs"}, ValueError, "unknown solver 'lbfgs'"),
        (MLPClassifier, {"batch_size": 0}, ValueError, "batch_size"),
        (MLPClassifier, {"batch_size": "all"}, ValueError, "batch_size 'auto'"),
        (MLPClassifier, {"dropout": 1.0}, ValueError, "dropout"),
        (MLPClassifier, {"dtype": "float16"}, ValueError, "dtype 'float32' or 'float64'"),
        (MLPClassifier, {"early_stopping": 1}, TypeError, "early_stopping to be True or False"),
        (MLPClassifier, {"class_weight": [1.0, 2.0]}, TypeError, "class_weight"),
        (MLPClassifier, {"class_weight": "even"}, ValueError, "class_weight"),
        (MLPClassifier, {"class_weight": {0: -1.0}}, ValueError, "finite and >= 0"),
        (MLPClassifier, {"random_state": "seed"}, ValueError, "seed"),
        (MLPClassifier, {"callbacks": "stop"}, TypeError, "callbacks as a list"),
        (MLPRegressor, {"loss": "poisson"}, ValueError, "unknown loss 'poisson'"),
        (MLPRegressor, {"validation_fraction": 1.0}, ValueError, "validation_fraction"),
        (MLPRegressor, {"learning_rate_init": 0}, ValueError, "learning_rate_init"),
    ],
)
def test_bad_hyperparameters_fail_in_fit(cls, params, error, message):
    X, y = _blobs(n=30)
    est = cls(**params)  # __init__ stores, it never checks
    with pytest.raises(error, match=message):
        est.fit(X, y)
    assert not hasattr(est, "model_")


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_bad_input(cls):
    from scipy import sparse

    X, y = _blobs(n=30)
    with pytest.raises(TypeError, match="expected dense X, got a sparse csr_matrix"):
        cls().fit(sparse.csr_matrix(X), y)
    fitted = cls(**QUICK).fit(X, y)
    with pytest.raises(TypeError, match="sparse_threshold=0"):
        fitted.predict(sparse.csr_matrix(X))
    for bad in (np.nan, np.inf):
        Xb = X.copy()
        Xb[3, 1] = bad
        with pytest.raises(ValueError, match="Input X contains"):
            cls().fit(Xb, y)
        with pytest.raises(ValueError, match="Input X contains"):
            fitted.predict(Xb)
    with pytest.raises(ValueError, match="Complex data not supported"):
        cls().fit(X + 1j, y)
    with pytest.raises(ValueError, match="0 sample"):
        cls().fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="Expected 2D array"):
        fitted.predict(X[0])
    with pytest.raises(ValueError, match="weight"):
        cls().fit(X, y, sample_weight=np.zeros(30))
    with pytest.raises(ValueError, match=r"sample_weight of shape \(30,\)"):
        cls().fit(X, y, sample_weight=np.ones(29))


def test_one_class_and_one_sample():
    X, y = _blobs(n=30)
    with pytest.raises(ValueError, match="one class only"):
        MLPClassifier().fit(X, np.zeros(30))
    with pytest.raises(ValueError, match=r"weight above zero hold one class only \(1\)"):
        MLPClassifier().fit(X, y % 2, sample_weight=(y % 2).astype(float))
    single = MLPRegressor(**QUICK).fit(X[:1], y[:1])  # one sample: one batch of one row
    assert single.predict(X).shape == (30,)
    with pytest.raises(ValueError, match=r"got 1 sample\(s\)"):
        MLPRegressor(early_stopping=True).fit(X[:1], y[:1])
    with pytest.raises(ValueError, match=r"at least 2 training samples, got 1 sample"):
        MLPRegressor(batch_norm=True).fit(X[:1], y[:1])


def test_importing_fcnet_does_not_import_sklearn():
    import subprocess
    import sys

    code = "import sys, fcnet; fcnet.Sequential; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_two_classes_have_two_probability_columns():
    X, y = _blobs(n=60)
    labels = np.where(y == 0, "no", "yes")
    clf = MLPClassifier(**QUICK).fit(X, labels)
    proba = clf.predict_proba(X)
    assert clf.n_outputs_ == 2 and proba.shape == (60, 2) and proba.dtype == np.float64
    np.testing.assert_allclose(np.log(proba), clf.predict_log_proba(X), rtol=1e-12)
    assert clf.score(X, labels) > 0.95
