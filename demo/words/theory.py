"""The Theory tab's static texts: the minimax game, D*, JS divergence, the curves and the replay."""
from __future__ import annotations

from gan.theory.state import CAPTIONS

_ZH_CAPTIONS = {
    1: ("蓝色：真实分布的密度 p_data；橙色：生成器的密度 p_g（对其样本做核密度估计）；绿色：学到的判别器 D(x)；虚线：最优判别器 "
        "D*(x) = p_data / (p_data + p_g)。两个密度相等的地方 D* 为 1/2；随着 G 的学习，p_g 逐渐移到 p_data 上，D 和 D* 也都"
        "逐渐变平，趋于 1/2。"),
    2: ("背景：学到的判别器 D(x)，蓝色表示 D 判为“真”，橙色表示判为“假”，白色为 1/2。蓝点是真实样本，红点是生成样本；箭头表示 D "
        "把生成样本推向哪里（D 的 logit 的梯度）；灰线是 z 的正方形网格经过 G 后的像（取 z 的前两维，其余为 0）：看 G 如何把"
        "它的输入空间（潜在空间）折叠到数据上。"),
    "value": ("绿色：用学到的 D 计算的 V(D, G) = E[log D(x)] + E[log(1 - D(G(z)))]。紫色：用最优判别器 D* 计算的 V，它等于 "
              "-log 4 + 2 JS(p_data || p_g)（JS 散度读右侧坐标轴）。D* 是最好的判别器，所以绿线总在紫线之下（除去估计噪声）；"
              "当且仅当 p_g = p_data 时两者都恰好达到 -log 4 ≈ -1.386，即纳什均衡。"),
    "js": "p_data 与 p_g 之间的 JS 散度（Jensen-Shannon），由样本估计（单位：nats）：两者完全不重叠时为 log 2 ≈ 0.693，相等时为 0。",
    "modes": ("捕获的模式数（2,500 个样本中至少有一个落在某个模式 3 个标准差以内，就算捕获了它）以及高质量样本的比例，按 "
              "VEEGAN / PacGAN 的评测方法计算。模式崩溃表现为模式数下降而质量依然很高。"),
}

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
    "th.note": (
        " This run uses the **{loss}** loss, so D learns a score rather than the probability in V: the heatmap and "
        "the green V read it through a sigmoid. D* and V(D*, G) = −log 4 + 2·JS are the bce game's: V(D, G) stays "
        "below V(D*, G) for any D, but this D is not trying to reach it.",
        " 本次训练使用 **{loss}** 损失，所以判别器学到的是一个分数，而不是 V 中的概率：热力图和绿色的 V 都经过 sigmoid "
        "换算。D* 和 V(D*, G) = −log 4 + 2·JS 属于 bce 的博弈：对任何 D，V(D, G) 都低于 V(D*, G)，只是这个判别器并不以它为目标。"),
    "th.first": ("**{dataset}**: computing the first snapshot ...", "**{dataset}**：正在计算第一个快照……"),
    "th.mean_d": ("mean D(x) = {real}, D(G(z)) = {fake}", "D(x) 均值 = {real}，D(G(z)) = {fake}"),
    "th.js": ("JS ≈ {js} nats (log 2 = 0.693 at most)", "JS 散度 ≈ {js} nats（最大为 log 2 = 0.693）"),
    "th.modes_hq": ("modes {m}/{n}, high quality {hq}%", "模式 {m}/{n}，高质量样本 {hq}%"),
    "th.no_run": ("No run yet. Train one of the 1-D or 2-D datasets ({sets}) and the game appears here.",
                      "还没有训练。训练一个一维或二维数据集（{sets}），博弈过程就会显示在这里。"),
    "th.starting": ("Starting the run ...", "训练正在启动……"),
    "th.absent": (
        "The Theory view applies to the 1-D and 2-D datasets ({sets}): only there are p_data, p_g, D* and JS "
        "computable exactly. This run trains **{dataset}**: its quality metrics and mode-collapse warning are on "
        "the Train tab.",
        "理论视图只适用于一维和二维数据集（{sets}）：只有在这些数据上，p_data、p_g、D* 和 JS 散度才能精确计算。本次训练使用的是 "
        "**{dataset}**：它的质量指标和模式崩溃警告在训练页。"),
    "th.sets": ("gaussian1d, ring8, grid25 and spiral", "gaussian1d、ring8、grid25 和 spiral"),
}
WORDS.update({f"th.cap.{k}": (CAPTIONS[k], zh) for k, zh in _ZH_CAPTIONS.items()})
