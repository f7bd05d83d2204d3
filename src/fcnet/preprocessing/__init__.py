"""Preprocessing fitted on the training data and saved with the model: feature scalers, and
:class:`TabularEncoder` for tables as they come (text, missing values)."""

from fcnet.preprocessing.config import PREPROCESSORS, scaler_from_config
from fcnet.preprocessing.scalers import (
    MinMaxScaler,
    StandardScaler,
    make_scaler,
)
from fcnet.preprocessing.tabular import TabularEncoder

__all__ = [
    "PREPROCESSORS",
    "MinMaxScaler",
    "StandardScaler",
    "TabularEncoder",
    "make_scaler",
    "scaler_from_config",
]
