"""Explore's "Your image" section (demo/tabs/explore_restore.py): restore a drawn or uploaded digit, then edit it."""
from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    "restore.intro": (
        "### Your image: restore it, then edit it\nDraw a digit or upload one, paint over the part that is missing "
        "(for inpaint), pick the task, press Restore. The sliders, truncation and class then start from the latent "
        "found, so they edit *your* digit; moving the seed goes back to G's own.",
        "### 你的图像：先修复，再编辑\n画一个数字或上传一张图，把缺失的部分涂上（用于图像修复），选好任务，点击“修复”。"
        "之后滑块、截断和类别都从找到的潜在向量出发，编辑的就是*你自己*的数字；改动随机种子则回到 G 自己的样本。"),
    "restore.caption": (
        "**Why this works.** G can only draw what it learnt: the set of its images is a prior over digits. Restoring "
        "searches that set for the image that, degraded the same way (masked, pooled to 7×7, or left noisy), best "
        "matches what you gave, so the missing or blurred parts come from what G knows digits look like. **When it "
        "fails:** a picture unlike anything in the training set (a letter, a face, a digit drawn far off-centre) "
        "comes back as the nearest digit G can draw, not as itself.",
        "**为什么可行。** G 只能画出它学到的东西：它能生成的全部图像，就是关于数字的先验。修复就是在这个集合里搜索："
        "找一张图，按同样的方式退化（遮住、缩小到 7×7、或加上噪声）后与你给的图最接近，于是缺失或模糊的部分由 G "
        "对“数字长什么样”的认识补上。**何时会失败：** 与训练集完全不像的图（字母、人脸、画得很偏的数字）"
        "会被还原成 G 能画出的最接近的数字，而不是它本来的样子。"),
    "restore.draw": ("Draw a digit", "画一个数字"),
    "restore.upload": ("Or upload one", "或上传一张"),
    "restore.mask": ("Paint where it is missing (the same place as on your image)",
                     "涂出缺失的区域（与你的图上位置相同）"),
    "restore.task": ("Task", "任务"),
    "restore.task.info": ("superres pools your image to 7×7 first, denoise adds noise (σ 0.5) first",
                          "superres（超分辨率）先把图缩小到 7×7，denoise（去噪）先加上噪声（σ 0.5）"),
    "restore.go": ("Restore", "修复"),
    "restore.given": ("What G was given", "交给 G 的输入"),
    "restore.restored": ("Restored", "修复结果"),
    "restore.projection": ("G's projection", "G 的投影"),
    "restore.no_image": ("give an image to restore", "请给出一张要修复的图像"),
    "restore.draw_first": ("draw a digit or upload an image first", "请先画一个数字或上传一张图像"),
}
