"""The Theory tab's static texts: the minimax game, D*, JS divergence, the curves and the replay."""
from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    "theory.intro": (
        "G and D play **min_G max_D V(D,G) = E[log D(x)] + E[log(1 − D(G(z)))]**. For a fixed G the best D is "
        "**D\\*(x) = p_data(x) / (p_data(x) + p_g(x))**, and then V = −log 4 + 2·JS(p_data ‖ p_g): the game ends "
        "when p_g = p_data, where D\\* = 1/2 everywhere and V = −log 4 ≈ −1.386. Train one of the 1-D or 2-D "
        "datasets (gaussian1d, ring8, grid25, spiral) and watch it happen here; the pictures refresh every ~2 s. "
        "Too quick to follow (gaussian1d is over in seconds)? Train with **Speed** set to slow motion (Train tab), or "
        "scrub through the run's pictures with the replay below.",
        "G 和 D 进行极小极大博弈：**min_G max_D V(D,G) = E[log D(x)] + E[log(1 − D(G(z)))]**。固定 G 时，最优判别器为 "
        "**D\\*(x) = p_data(x) / (p_data(x) + p_g(x))**，此时 V = −log 4 + 2·JS(p_data ‖ p_g)：当 p_g = p_data 时博弈"
        "达到纳什均衡，D\\* 处处等于 1/2，V = −log 4 ≈ −1.386。训练一个一维或二维数据集（gaussian1d、ring8、grid25、"
        "spiral），就能在这里看到这一过程；图片大约每 2 秒刷新一次。太快看不清（gaussian1d 几秒就结束）？在训练页把"
        "**速度**设为慢动作，或者用下方的回放拖动查看本次训练保存的图片。"),
    "theory.now": ("#### The game now", "#### 当前的博弈"),
    "theory.over_time": ("#### The game over time", "#### 博弈随时间的变化"),
    "theory.modes": ("Mode coverage (the VEEGAN / PacGAN protocol)", "模式覆盖率（VEEGAN / PacGAN 评测方法）"),
    "theory.replay": ("Replay the game: scrub through the pictures this run kept", "回放博弈：拖动查看本次训练保存的图片"),
    "theory.replay.where": ("Where in the run (% of its kept pictures)", "训练进度位置（占已保存图片的百分比）"),
}
