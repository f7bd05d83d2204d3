"""scikit-learn estimators over fcnet: :class:`MLPClassifier` and :class:`MLPRegressor`.

They pass scikit-learn's common estimator checks and work wherever scikit-learn's estimators do
(pipelines, grid searches, cross-validation, pickling, dask-ml's ``Incremental``). Needs
scikit-learn >= 1.6 (the ``sklearn`` extra); ``import fcnet`` does not import this package::

    from fcnet.sklearn import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(64,), random_state=0).fit(X, y)
    clf.predict_proba(X_test)
    clf.model_          # the trained fcnet.Sequential
"""

from fcnet.sklearn._classifier import MLPClassifier
from fcnet.sklearn._regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
