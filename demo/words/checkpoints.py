"""The Checkpoints tab's static texts: the list, its buttons, the current run's files and uploads."""
from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    "ckpt.intro": (
        "Checkpoints hold configs, weights, optimizer states, step, RNG and history; they load with "
        "`torch.load(weights_only=True)`, so a file carrying code is refused. Runs auto-save every few hundred steps "
        "and when stopped. You see your own checkpoints and the shipped examples.",
        "检查点保存了配置、权重、优化器状态、步数、随机数状态和训练历史；加载时使用 "
        "`torch.load(weights_only=True)`，所以夹带代码的文件会被拒绝。训练每隔几百步以及停止时会自动保存。"
        "这里列出你自己的检查点和自带的示例。"),
    "ckpt.table": ("Your checkpoints and the examples: click a row to pick it", "你的检查点和示例：点击一行即可选中"),
    "ckpt.choice": ("Checkpoint", "检查点"),
    "ckpt.refresh": ("Refresh list", "刷新列表"),
    "ckpt.load": ("Load", "加载"),
    "ckpt.load_resume": ("Load and resume", "加载并继续训练"),
    "ckpt.delete": ("Delete", "删除"),
    "ckpt.stop": ("Stop my run", "停止我的训练"),
    "ckpt.yes": ("Yes, delete it", "确定删除"),
    "ckpt.no": ("Cancel", "取消"),
    "ckpt.current": ("#### Your current run", "#### 你当前的训练"),
    "ckpt.save": ("Save now", "立即保存"),
    "ckpt.download": ("Download current", "下载当前检查点"),
    "ckpt.gif": ("Export time-lapse GIF", "导出延时 GIF"),
    "ckpt.file": ("Checkpoint", "检查点"),
    "ckpt.gif_file": ("Time-lapse GIF", "延时 GIF"),
    "ckpt.gif_view": ("Time-lapse", "延时动画"),
    "ckpt.upload": ("Upload a checkpoint (.pt, at most {mb} MiB)", "上传检查点（.pt，最大 {mb} MiB）"),
}
