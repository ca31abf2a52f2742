"""gan: a small GAN library (configs, model/loss/dataset/family registries, trainer, checkpoints, metrics).

It knows nothing of any UI; the Gradio app in demo/ subscribes to the trainer's callbacks. Importing the
package fills the registries with the built-in entries (the provider modules below register themselves).
"""
from . import imagesets, stacked, toysets  # noqa: F401 - register the built-in datasets
from . import cyclegan_family, pairsets  # noqa: F401 - register the pair sets and the cyclegan model
from . import stylegan_family  # noqa: F401 - register the stylegan model and family
from .config import ConfigError, ModelConfig, TrainConfig
from .datasets import DatasetSpec, register_dataset
from .hub import load_pretrained
from .trainer import Trainer, TrainingDiverged

__all__ = ["ConfigError", "DatasetSpec", "ModelConfig", "TrainConfig", "Trainer", "TrainingDiverged",
           "load_pretrained", "register_dataset"]
