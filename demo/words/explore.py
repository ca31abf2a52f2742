"""The Explore tab's static texts: latent sliders, interpolation, and StyleGAN's style mixing and noise views."""
from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    "explore.intro": (
        "Everything here reads the latest published copy of G, so it works while training runs: the pictures redraw "
        "by themselves as the run publishes. Principal directions are found GANSpace-style: for the classic models, "
        "PCA of G's first-layer features mapped back to z by least squares; for StyleGAN, PCA of the intermediate "
        "latent w.",
        "这里的所有视图都使用生成器 G 最新发布的副本，所以训练进行时也能使用：训练每发布一次，图片就会自动重绘。"
        "主方向按 GANSpace 的思路求得：经典模型对 G 第一层的特征做 PCA，再用最小二乘映射回 z；"
        "StyleGAN 则对中间潜在向量 w 做 PCA。"),
    "explore.seed": ("Seed", "随机种子"),
    "explore.random": ("Random seed", "随机换一个种子"),
    "explore.class": ("Class", "类别"),
    "explore.class.info": ("for class-conditional models", "用于类别条件模型"),
    "explore.axes": ("Slider axes", "滑块方向"),
    "explore.axes.info": ("principal directions of G (of w for StyleGAN), or raw z dimensions",
                          "G 的主方向（StyleGAN 为 w 的主方向），或 z 的原始维度"),
    "explore.layers": ("Layers", "作用层"),
    "explore.layers.info": ("StyleGAN: which style inputs the sliders move", "StyleGAN：滑块改变哪些层的风格输入"),
    "explore.psi": ("Truncation ψ", "截断 ψ"),
    "explore.psi.info": ("pulls the latent toward its mean (w's running average for StyleGAN)",
                         "把潜在向量拉向均值（StyleGAN 为 w 的滑动平均）"),
    "explore.recompute": ("Recompute directions", "重新计算主方向"),
    "explore.image": ("G(z)", "G(z)"),
    "explore.slerp": ("### Interpolation (slerp)", "### 插值（球面插值 slerp）"),
    "explore.interpolate": ("Interpolate", "插值"),
    "explore.strip": ("A → B along the great circle", "沿大圆从 A 到 B"),
    "explore.seed_a": ("Seed A", "种子 A"),
    "explore.seed_b": ("Seed B", "种子 B"),
    "explore.steps": ("Steps", "步数"),
    "explore.mixing": (
        "### Style mixing\nEach cell takes the coarse styles (the first K style inputs: shape, pose) of its row's seed "
        "and the rest (stroke, texture) from its column's seed.",
        "### 风格混合\n每个格子的粗粒度风格（前 K 个风格输入：形状、姿态）取自所在行的种子，"
        "其余风格（笔画、纹理）取自所在列的种子。"),
    "explore.rows": ("Row seeds", "行种子"),
    "explore.cols": ("Column seeds", "列种子"),
    "explore.cross": ("Crossover K (coarse style inputs from the row)", "交叉点 K（取自行种子的粗粒度风格输入数）"),
    "explore.cross.info": ("set to the model's default when it arrives: every style below full resolution",
                           "模型载入时设为它的默认值：低于全分辨率的所有风格层"),
    "explore.each": ("Each seed its own class", "每个种子各用自己的类别"),
    "explore.each.info": ("class-conditional models: seed s draws class s mod the classes, so the grid spans classes; "
                          "off: all take the Class slider's",
                          "类别条件模型：种子 s 取类别 s mod 类别数，网格因此覆盖多个类别；关闭时全部使用“类别”滑块的值"),
    "explore.mix": ("Mix", "混合"),
    "explore.mix.grid": ("Rows keep their coarse styles, columns give the rest", "行保留粗粒度风格，列提供其余风格"),
    "explore.noise": (
        "### Stochastic variation\nOne w, several draws of the per-layer noise: what noise controls (the spread image "
        "is bright where noise changes the pixels).",
        "### 随机变化\n同一个 w，多次抽取逐层噪声：看看噪声控制了什么（离散度图中越亮的地方，噪声对像素的改变越大）。"),
    "explore.draws": ("Noise draws", "噪声抽取次数"),
    "explore.vary": ("Vary the noise", "改变噪声"),
    "explore.same_w": ("Same w, different noise", "同一个 w，不同的噪声"),
    "explore.spread": ("Per-pixel spread", "逐像素离散度"),
    "explore.zw": (
        "### Interpolation: slerp in Z against lerp in W\nW is the space the styles live in: paths through it change "
        "the image more evenly than paths through Z.",
        "### 插值：Z 空间的 slerp 对比 W 空间的 lerp\nW 是风格所在的潜在空间：沿 W 中的路径移动，"
        "图像的变化比沿 Z 中的路径更均匀。"),
    "explore.zw.go": ("Interpolate in Z and W", "在 Z 和 W 中插值"),
    "explore.in_z": ("slerp in Z", "Z 中的 slerp"),
    "explore.in_w": ("lerp in W", "W 中的 lerp"),
    # the radio buttons' choices (their values are what the API takes)
    "axes.principal": ("principal", "主方向"),
    "axes.raw": ("raw", "原始 z 维度"),
    "layers.all": ("all", "全部"),
    "layers.coarse": ("coarse", "粗粒度"),
    "layers.middle": ("middle", "中间"),
    "layers.fine": ("fine", "细粒度"),
}
