"""gan: a small GAN library (configs, model/loss/dataset registries, trainer, checkpoints, metrics).

It knows nothing of any UI; the Gradio app in demo/ subscribes to the trainer's callbacks.
"""
from .config import ConfigError, ModelConfig, TrainConfig
from .trainer import Trainer, TrainingDiverged

__all__ = ["ConfigError", "ModelConfig", "TrainConfig", "Trainer", "TrainingDiverged"]
