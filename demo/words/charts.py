"""The charts' legends (their series names, from the model families' `charts` and demo/present.py's quality
frames): `say` translates them, each English exactly as the code names the series."""
from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    "legend.d_loss": ("D loss", "判别器损失"),
    "legend.g_loss": ("G loss", "生成器损失"),
    "legend.d_real": ("mean D(x) (real)", "D(x) 均值（真实）"),
    "legend.d_fake": ("mean D(G(z)) (fake)", "D(G(z)) 均值（生成）"),
    "legend.cycle": ("cycle L1 (A→B→A + B→A→B)", "循环一致性 L1（A→B→A + B→A→B）"),
    "legend.identity": ("identity L1 (G(b) - b + F(a) - a)", "恒等 L1（G(b) - b + F(a) - a）"),
    "legend.classes": ("classes covered (%)", "覆盖类别（%）"),
    "legend.modes": ("modes captured (%)", "捕获模式（%）"),
    "legend.modes_of": ("modes captured (% of {k})", "捕获模式（占 {k} 个的 %）"),
    "legend.hq": ("high-quality samples (%)", "高质量样本（%）"),
    "legend.diversity": ("diversity (% of real)", "多样性（占真实的 %）"),
    "legend.kept": ("label kept {d} (%)", "保留数字 {d}（%）"),
    "legend.domain": ("in the target domain {d} (%)", "属于目标域 {d}（%）"),
    "legend.frechet": ("Fréchet distance (lower is better)", "Fréchet 距离（越低越好）"),
    "legend.js": ("JS(p_data ‖ p_g), nats", "JS 散度 JS(p_data ‖ p_g)，nats"),
    "legend.cycle_aba": ("cycle L1 A→B→A", "循环 L1 A→B→A"),
    "legend.cycle_bab": ("cycle L1 B→A→B", "循环 L1 B→A→B"),
    "legend.mode_kl": ("KL(modes ‖ uniform), nats", "KL(模式 ‖ 均匀分布)，nats"),
}
