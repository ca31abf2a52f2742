"""gan: a small GAN library (configs, model/loss/dataset/family registries, trainer, checkpoints, metrics).

It knows nothing of any UI; the Gradio app in demo/ subscribes to the trainer's callbacks. Importing the
package fills the registries with the built-in entries (the provider modules below register themselves).
"""
# the modules that register the built-in entries, in the order the page lists them
from .data import images as _images, stacked as _stacked, toy as _toy  # noqa: F401, I001
from .classic import family as _classic  # noqa: F401
from .cyclegan import family as _cyclegan  # noqa: F401
from .data import pairs as _pairs  # noqa: F401
from .stylegan import family as _stylegan  # noqa: F401
from .config import ConfigError, ModelConfig, TrainConfig
from .data.spec import DatasetSpec, register_dataset
from .hub import load_pretrained
from .train.trainer import Trainer, TrainingDiverged

__all__ = ["ConfigError", "DatasetSpec", "ModelConfig", "TrainConfig", "Trainer", "TrainingDiverged",
           "load_pretrained", "register_dataset"]
