"""The Translate tab's static texts (CycleGAN: two generators and cycle consistency)."""
from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    "translate.intro": (
        "CycleGAN learns two generators, G: A→B and F: B→A, from unpaired images of two domains, with a "
        "cycle-consistency loss F(G(a)) ≈ a that keeps the content while the style moves. Train `cyclegan` on "
        "`digits2colordigits`, then draw a digit, upload an image or pick a held-out one.",
        "CycleGAN 从两个域的非配对图像中学习两个生成器 G: A→B 和 F: B→A，并用循环一致性损失 F(G(a)) ≈ a "
        "保证风格改变时内容不变。在 `digits2colordigits` 上训练 `cyclegan`，然后手写一个数字、上传一张图片，"
        "或挑一张留出的测试图片。"),
    "translate.direction": ("Direction", "转换方向"),
    "translate.pick": ("Random held-out image", "随机挑一张留出图片"),
    "translate.seed": ("Held-out seed", "留出图片的种子"),
    "translate.draw": ("Draw a digit (pick the brush on the left)", "手写一个数字（先在左侧选择画笔）"),
    "translate.upload": ("Or upload an image", "或上传一张图片"),
    "translate.x": ("x", "输入 x"),
    "translate.y": ("translation", "转换结果"),
    "translate.rec": ("reconstruction", "重建结果"),
}
