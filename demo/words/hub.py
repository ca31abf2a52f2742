"""The Hugging Face Hub panel's static texts (in the Checkpoints tab)."""
from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    "hub.intro": (
        "#### Hugging Face Hub\nExport your run in the Hub's conventions (safetensors, config.json and a model card), "
        "or load an export to explore: an uploaded export `.zip`, the name of one of your exports, or a Hub repo id "
        "such as `USER/NAME`. An export cannot resume training (it has no optimizer state).",
        "#### Hugging Face Hub\n按 Hub 的规范导出你的训练结果（safetensors、config.json 和模型卡），或者加载一个导出来探索："
        "上传的导出 `.zip`、你某个导出的名称，或形如 `USER/NAME` 的 Hub 仓库 id。导出不能继续训练（其中没有优化器状态）。"),
    "hub.export": ("Export (Hub format)", "导出（Hub 格式）"),
    "hub.source": ("Export name or Hub repo id", "导出名称或 Hub 仓库 id"),
    "hub.source.placeholder": ("USER/NAME or NAME-export.zip", "USER/NAME 或 NAME-export.zip"),
    "hub.load": ("Load export", "加载导出"),
    "hub.upload": ("Or upload an export (.zip)", "或上传一个导出（.zip）"),
    "hub.repo": ("Repo name on the Hub", "Hub 上的仓库名"),
    "hub.share": ("Share to Hub", "分享到 Hub"),
    "hub.file": ("Export", "导出文件"),
}
