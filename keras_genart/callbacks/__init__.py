"""Callbacks that work for every keras_genart model."""

from keras_genart.callbacks.evaluation import BestModelCheckpoint, EvaluationCallback
from keras_genart.callbacks.image_grid import ImageGridCallback
from keras_genart.callbacks.summaries import EpochSummaries, SummaryWriter, read_events
from keras_genart.callbacks.safety import (
    NonFiniteLossError,
    NonFiniteLossGuard,
    ResumableCheckpoint,
    read_checkpoint_state,
    save_model_atomically,
)

__all__ = ["BestModelCheckpoint", "EpochSummaries", "EvaluationCallback", "ImageGridCallback",
           "NonFiniteLossError", "NonFiniteLossGuard", "ResumableCheckpoint", "SummaryWriter",
           "read_checkpoint_state", "read_events", "save_model_atomically"]
