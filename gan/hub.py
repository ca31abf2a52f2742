"""Sharing models in the Hugging Face Hub's conventions: export a checkpoint's sampling generator(s) as
`model.safetensors` + `config.json` + a `README.md` model card (with a sample grid beside it), load such a
folder or a Hub repo id back (`load_pretrained`), and push an export to the Hub.

This uses huggingface_hub's `PyTorchModelHubMixin` (the ecosystem's way: its save_pretrained / from_pretrained
/ push_to_hub, safetensors only) on a small wrapper, `ExportedGAN`, that holds a family's sampling nets by
role: one generator for the GAN families, both for CycleGAN, which a single-network mixin class could not.
Loading never unpickles anything: safetensors plus JSON, and the config is validated (an unknown model, or
weights that do not fit the config, are refused). An export holds no optimizer state, so it cannot resume
training; it samples, mixes and translates.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import torch
from huggingface_hub import ModelCard, ModelCardData, PyTorchModelHubMixin
from safetensors import SafetensorError
from torch import nn

from .checkpoint import load_sampler, load_state, model_config
from .config import ModelConfig, TrainConfig, from_dict
from .cyclegan.nets import match_channels, translate
from .data.pairs import load_held_out
from .errors import CheckpointError, ConfigError
from .family import build_nets, family_of
from .images import image_grid, picture, save_png
from .metrics.prdc import PLAIN_WORDS
from .train.budget import check_model_memory

EXPORT_FORMAT = "gan-lab-export-1"
CARD = """---
{{ card_data }}
---

# {{ title }}

A {{ model }} generator trained with GAN Lab Live on **{{ dataset }}** for {{ step }} steps,
exported in the Hub's conventions: `model.safetensors` (the sampling generator's weights{{ ema }}),
`config.json` (what rebuilds it) and this card.

![Samples from this generator](samples.png)

## Quality
{{ quality }}

## Use it
```python
import gan
G = gan.load_pretrained("{{ where }}")   # a folder or a Hub repo id; safetensors + JSON only
images = G.sample(16, seed=0)            # (16, C, H, W) in [-1, 1] (points: data coordinates)
```
or from the command line: `python -m gan sample --checkpoint {{ where }} --n 64 --out samples.png`.
An export holds no optimizer state: it samples{{ more }}, but does not resume training.

## Training config
```json
{{ train_config }}
```
"""


class ExportedGAN(nn.Module, PyTorchModelHubMixin, library_name="gan-lab-live", tags=["gan", "pytorch"],
                  model_card_template=CARD):
    """A family's sampling nets by role, rebuilt from a model config; calling it runs the main generator."""

    def __init__(self, model_config: dict[str, Any], export_format: str = EXPORT_FORMAT,
                 train_config: dict[str, Any] | None = None, step: int = 0,
                 metrics: dict[str, float] | None = None, ema: bool = True) -> None:
        super().__init__()
        if export_format != EXPORT_FORMAT:
            raise CheckpointError(f"not an export of this library (format {str(export_format)[:40]!r}, expected "
                                  f"{EXPORT_FORMAT!r})")
        try:
            self.model_config: ModelConfig = from_dict(ModelConfig, dict(model_config))
        except (ConfigError, TypeError, ValueError) as e:
            raise CheckpointError(f"config.json has a model config this library cannot use: {e}") from None
        try:  # validated as /train validates it: a loss or dataset name from outside never becomes a path
            if train_config is not None:
                from_dict(TrainConfig, dict(train_config))
        except (ConfigError, TypeError, ValueError) as e:
            raise CheckpointError(f"config.json has a train config this library cannot use: {e}") from None
        self.family = family_of(self.model_config.model)
        check_model_memory(self.model_config, what="the export's model")
        nets = build_nets(self.model_config)
        self.nets = nn.ModuleDict({role: nets[role] for role in self.family.generators})
        self.train_config, self.step, self.metrics, self.ema = dict(train_config or {}), int(step), dict(metrics or {}), ema
        self.eval().requires_grad_(False)

    @classmethod
    def _from_pretrained(cls, *, model_id: str, revision: str | None, cache_dir: Any, force_download: bool,
                         local_files_only: bool, token: Any, map_location: str = "cpu", strict: bool = True,
                         proxies: Any = None, resume_download: Any = None, **model_kwargs: Any) -> "ExportedGAN":
        """The mixin's loader narrowed: model.safetensors only (its pytorch_model.bin fallback unpickles), every
        weight present (strict), and nothing printed (the CLI's stdout is JSON). huggingface_hub < 1.0 also
        passes proxies and resume_download, which are not the model's."""
        from huggingface_hub import constants, hf_hub_download
        from safetensors.torch import load_model

        if "model_config" not in model_kwargs:  # huggingface_hub < 1.0 goes on without config.json: say why
            if not os.path.isdir(model_id):
                hf_hub_download(repo_id=model_id, filename=constants.CONFIG_NAME, revision=revision,
                                cache_dir=cache_dir, token=token, local_files_only=local_files_only)
            raise CheckpointError(f"{os.path.basename(str(model_id).rstrip('/'))!r} is not an export: it needs "
                                  f"model.safetensors and config.json")
        model = cls(**model_kwargs)
        file = os.path.join(model_id, constants.SAFETENSORS_SINGLE_FILE) if os.path.isdir(model_id) else \
            hf_hub_download(repo_id=model_id, filename=constants.SAFETENSORS_SINGLE_FILE, revision=revision,
                            cache_dir=cache_dir, force_download=force_download, token=token,
                            local_files_only=local_files_only)
        load_model(model, file, strict=True, device=map_location)
        return model.eval()

    def forward(self, *args: Any, **kw: Any) -> torch.Tensor:
        return self.nets[self.family.generators[0]](*args, **kw)

    def sample(self, n: int, *, seed: int = 0, **kw: Any) -> torch.Tensor:
        """n samples, as `python -m gan sample` draws them (images in [-1, 1], points in data coordinates; a
        CycleGAN's are A->B translations of its pair set's held-out A images)."""
        if self.model_config.data_shape_b and kw.get("data") is None:
            kw["data"] = held_out_of(self.train_config)
        return self.family.sample(dict(self.nets), n, seed=seed, **kw)

    def generate_model_card(self, *args: Any, **kwargs: Any) -> ModelCard:
        """The card for this export: its dataset, model, step, quality figures and training config."""
        dataset = str(self.train_config.get("dataset", "unknown"))
        public = dataset if ":" not in dataset else "own images"
        data = ModelCardData(library_name="gan-lab-live", tags=["gan", "pytorch", "gan-lab-live",
                                                                   self.model_config.model],
                             datasets=[public] if ":" not in dataset else None, pipeline_tag="unconditional-image-generation"
                             if len(self.model_config.data_shape) == 3 and not self.model_config.data_shape_b else None)
        quality = "\n".join(f"- {k}: {v:.4g}" for k, v in sorted(self.metrics.items())) or \
            "- no quality figures were stored with this checkpoint (train with the CLI to score it)"
        if "precision" in self.metrics and "recall" in self.metrics:
            quality += f"\n\n{PLAIN_WORDS[0].upper()}{PLAIN_WORDS[1:]} (k-NN balls, k = 3; density/coverage k = 5)"
        return ModelCard.from_template(
            data, template_str=CARD, title=f"{self.model_config.model} on {public}", model=self.model_config.model,
            dataset=public, step=f"{self.step:,}", quality=quality,
            ema=" (their exponential moving average)" if self.ema else "", where=kwargs.get("where", "DIR_OR_REPO"),
            more=", mixes styles" if self.model_config.model == "stylegan" else (
                ", translates" if self.model_config.data_shape_b else ""),
            train_config=json.dumps(self.train_config, indent=2, sort_keys=True, default=str))


def export(checkpoint: str | os.PathLike, out: str | os.PathLike, *, where: str | None = None) -> Path:
    """Write a checkpoint's sampling generator(s) to `out` in the Hub's conventions; returns the folder."""
    state = load_state(str(checkpoint))
    mc = model_config(state)
    nets = load_sampler(state)
    has_ema = all(state.get(f"{role}_ema") is not None for role in nets)
    cfg = dict(state["train_config"])
    cfg.pop("data_dir", None)  # a path on the machine that trained it: nobody else's business
    cfg["dataset"] = public_dataset(str(cfg.get("dataset", "")))
    model = ExportedGAN(mc.to_dict(), train_config=cfg, step=int(state["step"]),
                        metrics={k: float(v) for k, v in dict(state.get("metrics") or {}).items()}, ema=has_ema)
    for role, net in nets.items():
        model.nets[role].load_state_dict(net.state_dict())
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "README.md").unlink(missing_ok=True)  # the mixin keeps an existing card; this export writes its own
    if mc.data_shape_b:  # CycleGAN: held-out A images, their translations to B and the way back, as rows
        x = held_out_of(state["train_config"])["a"][0][:10].float()
        y, rec = translate(dict(model.nets), x, "a2b")
        save_png(image_grid(torch.cat([match_channels(t, 3) for t in (x, y, rec)]), nrow=len(x)), str(out / "samples.png"))
    else:
        x = model.sample(64 if len(mc.data_shape) == 3 else 1000, seed=0)
        save_png(picture(x, nrow=10 if mc.n_classes == 10 else None) if x.dim() == 4 else picture(x),
                 str(out / "samples.png"))
    model.save_pretrained(out, model_card_kwargs={"where": where or str(out)})
    return out


def public_dataset(name: str) -> str:
    """A dataset name fit to publish: a built-in name as is; for a folder, zip or pair of the user's own images
    (`folder:PATH`, `pair:PATH|PATH`), only the prefix and the folder's last name, never the path."""
    if ":" not in name:
        return name
    prefix, rest = name.split(":", 1)
    last = [os.path.basename(p.rstrip("/\\")) for p in rest.split("|")]
    return f"{prefix}:" + "|".join(x for x in last if x) if any(last) else prefix


def held_out_of(train_config: dict[str, Any]) -> Any:
    """The held-out images {"a": (x, y), "b": (x, y)} of the pair set a CycleGAN was trained on."""
    tc = train_config
    return load_held_out(str(tc["dataset"]), data_dir=tc.get("data_dir"), seed=int(tc.get("seed", 0)),
                         image_size=tc.get("image_size"))


def load_pretrained(source: str | os.PathLike, **hub_kw: Any) -> ExportedGAN:
    """A ready generator from an exported folder or a Hub repo id (safetensors + JSON only; never pickle).
    Errors say what is wrong in one line: offline, no such repo, not an export, or a tampered config."""
    try:
        return ExportedGAN.from_pretrained(str(source), **hub_kw)
    except (CheckpointError, ConfigError):
        raise
    except (OSError, ValueError, RuntimeError, KeyError, TypeError, SafetensorError) as e:
        raise CheckpointError(_hub_reason(source, e)) from None


def load_from_hub(repo: str, *, max_bytes: int, config_max_bytes: int = 1 << 20, revision: str | None = None,
                  token: str | None = None) -> ExportedGAN:
    """An export from the Hub repo `repo` only (never a local folder that happens to have that name), each file's
    size asked of the Hub before it is downloaded: a config.json over `config_max_bytes` or weights over
    `max_bytes` are refused unread. What a server loads for its visitors."""
    from huggingface_hub import constants, get_hf_file_metadata, hf_hub_download, hf_hub_url

    try:
        with tempfile.TemporaryDirectory(prefix="gan-hub-") as tmp:
            files = ((constants.CONFIG_NAME, config_max_bytes), (constants.SAFETENSORS_SINGLE_FILE, max_bytes))
            for name, cap in files:
                size = get_hf_file_metadata(hf_hub_url(repo, name, revision=revision), token=token).size
                if size is None or size > cap:
                    told = "of unknown size" if size is None else f"{size:,} bytes"
                    raise CheckpointError(f"{repo}'s {name} is {told}; this server loads at most {cap:,} bytes")
                hf_hub_download(repo, name, revision=revision, token=token, local_dir=tmp)
            return load_pretrained(tmp)
    except (CheckpointError, ConfigError):
        raise
    except Exception as e:  # noqa: BLE001 - offline, no such repo, refused: one line, the same for any local name
        raise CheckpointError(_hub_reason(repo, e, local=False)) from None


def _hub_reason(source: Any, e: BaseException, *, local: bool = True) -> str:
    text = f"{type(e).__name__}: {e}".splitlines()[0][:200]
    if local and os.path.isdir(str(source)):
        if not (Path(source) / "model.safetensors").is_file() or not (Path(source) / "config.json").is_file():
            return f"{Path(source).name!r} is not an export: it needs model.safetensors and config.json"
        return f"{Path(source).name!r} could not be loaded: its config.json does not fit its weights ({text})"
    if "offline" in text.lower() or "connect" in text.lower() or "resolve" in text.lower():
        return f"cannot reach the Hugging Face Hub to fetch {str(source)!r} (offline?): {text}"
    return f"could not load {str(source)!r} from the Hugging Face Hub: {text}"


def push(checkpoint: str | os.PathLike, repo: str, *, token: str | None = None, private: bool = False) -> str:
    """Export a checkpoint and upload it to the Hub repo `repo` (USER/NAME); returns the repo's URL.
    The token comes from `token`, HF_TOKEN or the usual `hf auth login`; without one, a clear error."""
    from huggingface_hub import HfApi, get_token

    token = token or os.environ.get("HF_TOKEN") or get_token()
    if not token:
        raise CheckpointError("no Hugging Face token: set HF_TOKEN or run `hf auth login`, then push again")
    if "/" not in repo or len(repo.split("/")) != 2 or not all(repo.split("/")):
        raise ConfigError(f"--repo must be USER/NAME, got {repo!r}")
    with tempfile.TemporaryDirectory(prefix="gan-export-") as tmp:
        folder = export(checkpoint, tmp, where=repo)
        api = HfApi(token=token)
        try:
            api.create_repo(repo, exist_ok=True, private=private)
            api.upload_folder(repo_id=repo, folder_path=str(folder), commit_message="Upload a GAN Lab Live export")
        except Exception as e:  # noqa: BLE001 - offline, refused token, no rights: one line for the user
            raise CheckpointError(_hub_reason(repo, e).replace("fetch", "push to")) from None
    return f"https://huggingface.co/{repo}"


def sampler_state(model: ExportedGAN) -> dict[str, Any]:
    """A checkpoint-like state of an export, for what needs one to explore (gan.checkpoint.load_sampler, the
    app's explore-only runs): configs, step, metrics, an empty history and the sampling weights; no
    discriminator, optimizer or RNG state, so nothing can resume from it."""
    from .train.history import History

    out: dict[str, Any] = {"model_config": model.model_config.to_dict(), "train_config": dict(model.train_config),
                           "step": model.step, "metrics": dict(model.metrics), "history": History().state_dict(),
                           "export": True}
    for role, net in model.nets.items():
        out[role], out[f"{role}_ema"] = {k: v.detach().clone() for k, v in net.state_dict().items()}, None
    return out


def open_model(source: str | os.PathLike) -> tuple[dict[str, nn.Module], ModelConfig, dict[str, Any]]:
    """(sampling nets by role, model config, meta) from a checkpoint file, an exported folder or a Hub repo id:
    what `sample`, `mix` and `translate` accept. meta holds the train config and step."""
    path = Path(source)
    repo_like = re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", str(source)) and not str(source).endswith(".pt")
    if not path.is_dir() and not (repo_like and not path.exists()):
        state = load_state(str(path))  # a checkpoint file (or a clear "does not exist")
        return load_sampler(state), model_config(state), {"train_config": dict(state["train_config"]),
                                                          "step": int(state["step"]), "export": False}
    model = load_pretrained(source)
    return dict(model.nets), model.model_config, {"train_config": model.train_config, "step": model.step,
                                                  "export": True}


__all__ = ["EXPORT_FORMAT", "ExportedGAN", "export", "held_out_of", "load_from_hub", "load_pretrained", "open_model",
           "push", "sampler_state"]
