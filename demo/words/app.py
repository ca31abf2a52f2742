"""The page's own words: its title, the introduction, the tab names."""
from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    "app.title": ("GAN Lab Live: train and explore a GAN in your browser",
                  "GAN Lab Live：在浏览器里训练和探索 GAN"),
    "app.intro": (
        "A generator G turns noise z into samples; a discriminator D outputs the probability that its input is real. "
        "They play min_G max_D E[log D(x)] + E[log(1 - D(G(z)))]. Press **Train** and watch the fixed-noise grid "
        "improve; with the bce loss, D(x) and D(G(z)) both drift toward 1/2 as G catches up (the caption under the "
        "charts says how to read the run's own loss).",
        "生成器 G 把噪声 z 变成样本；判别器 D 输出它的输入是真实样本的概率。两者进行一场极小极大博弈："
        "min_G max_D E[log D(x)] + E[log(1 - D(G(z)))]。点击 **训练**，看固定噪声生成的样本网格一点点变好；"
        "使用 bce 损失时，随着 G 追上来，D(x) 和 D(G(z)) 都会向 1/2 靠拢（图表下方的说明会告诉你如何解读本次训练所用的损失）。"),
    "app.header": ("", ""),  # the title and the introduction as one Markdown block, filled in below
    "tab.train": ("Train", "训练"),
    "tab.explore": ("Explore", "探索"),
    "tab.theory": ("Theory", "理论"),
    "tab.translate": ("Translate", "图像转换"),
    "tab.checkpoints": ("Checkpoints", "检查点"),
}
WORDS["app.header"] = tuple(f"# {title}\n{intro}" for title, intro in zip(WORDS["app.title"], WORDS["app.intro"]))
