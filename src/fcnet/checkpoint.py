"""Checkpoints; they live in :mod:`fcnet.train.checkpoint`. The names are kept here."""

from fcnet.train.checkpoint import CHECKPOINT_KIND, CheckpointMixin

__all__ = ["CHECKPOINT_KIND", "CheckpointMixin"]
