"""Preprocessing fitted on the training data and saved with the model."""

from fcnet.preprocessing.scalers import (
    MinMaxScaler,
    StandardScaler,
    make_scaler,
    scaler_from_config,
)

__all__ = ["MinMaxScaler", "StandardScaler", "make_scaler", "scaler_from_config"]
