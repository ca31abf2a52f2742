"""The Train tab's static texts: the form, its buttons and accordions, the charts and their captions."""
from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    "train.dataset": ("Dataset", "数据集"),
    "train.dataset.info": (
        "built in; the *mnist* sets read MNIST's files (GAN_DATA_DIR, or a download when online); your own images: "
        "a zip below",
        "内置数据集；*mnist* 系列读取 MNIST 数据文件（GAN_DATA_DIR，联网时也可自动下载）；想用自己的图片：在下方上传 zip"),
    "train.model": ("Model", "模型"),
    "train.model.info": ("auto: the dataset's default; {models}", "auto：使用数据集的默认模型；{models}"),
    "train.model.for": ("{name} for {kinds}", "{name} 适用于{kinds}"),
    "train.model.or": (" or ", "或"),
    "train.model.sep": (", ", "；"),
    "kind.points": ("points", "点集"),
    "kind.image": ("image", "图像"),
    "kind.pair": ("pair", "成对的两个图像域"),
    "train.loss": ("Loss", "损失函数"),
    "train.loss.info": ("default: the dataset's; see 'How to read the losses' below",
                        "默认使用数据集推荐的损失；参见下方“如何解读损失”"),
    "train.speed": ("Speed", "速度"),
    "train.speed.info": ("slow motion: watch a fast game (gaussian1d) unfold",
                         "慢动作：看清一场很快结束的博弈（如 gaussian1d）如何展开"),
    "train.batch_size": ("Batch size", "批大小"),
    "train.lr": ("Learning rate", "学习率"),
    "train.seed": ("Seed", "随机种子"),
    "train.z_dim": ("z dimensions", "z 的维度"),
    "train.width": ("Width", "网络宽度"),
    "train.width.info": ("hidden units / base channels", "隐藏单元数 / 基础通道数"),
    "train.penalties": ("Penalties and packing: R1, R2, PacGAN (filled in with the dataset's and model's defaults)",
                        "正则惩罚与打包：R1、R2、PacGAN（已填入数据集和模型的默认值）"),
    "train.r1": ("R1 γ", "R1 γ"),
    "train.r1.info": ("zero-centred penalty on D's gradient at real data", "在真实数据处对判别器梯度施加的零中心惩罚"),
    "train.r2": ("R2 γ", "R2 γ"),
    "train.r2.info": ("the same at generated data (R3GAN: rpgan + R1 + R2)",
                      "同样的惩罚，施加在生成数据处（R3GAN = rpgan + R1 + R2）"),
    "train.pac": ("PacGAN packing", "PacGAN 打包数"),
    "train.pac.info": ("D judges packs of N samples (1: off)", "判别器每次判断 N 个样本组成的一包（1 表示关闭）"),
    "train.train": ("Train", "训练"),
    "train.stop": ("Stop", "停止"),
    "train.resume": ("Resume", "继续"),
    "train.reset": ("Reset", "重置"),
    "train.resume_cpu": ("Continue on CPU", "改用 CPU 继续"),
    "train.status_idle": ("**idle**", "**空闲**"),
    "train.upload": ("Your own images: upload a zip", "用你自己的图片：上传一个 zip"),
    "train.upload.file": ("Upload a zip of images (PNG/JPEG, at most {mb} MiB); it becomes the dataset",
                          "上传图片 zip（PNG/JPEG，最大 {mb} MiB），它会成为训练用的数据集"),
    "train.pair": ("Your own pair of domains (CycleGAN): a zip per domain",
                   "你自己的两个图像域（CycleGAN）：每个域一个 zip"),
    "train.pair.file": ("Domain {tag}: a zip of images (at most {mb} MiB)", "域 {tag}：图片 zip（最大 {mb} MiB）"),
    "train.grid": ("Fixed-noise samples (same z every time)", "固定噪声生成的样本（每次用同一组 z）"),
    "train.losses": ("Losses", "损失"),
    "train.d_outputs": ("Discriminator outputs", "判别器输出"),
    "train.coverage": ("Coverage and quality", "覆盖率与质量"),
    "train.distance": ("Distance to the data", "与真实数据的距离"),
    "train.collapse": (
        "*Mode collapse* shows here, not in the losses: the generator keeps making good-looking samples of only a "
        "few kinds, so coverage falls while quality stays high. Image sets are scored every few seconds on 500 "
        "samples (precision and recall on 2,000) by a small classifier trained once on the dataset; the 2-D "
        "mixtures by the VEEGAN / PacGAN protocol (2,500 samples).",
        "*模式崩溃* 要在这里看，而不是看损失：生成器只会反复生成少数几类“看起来不错”的样本，于是覆盖率下降，质量却依然很高。"
        "图像数据集每隔几秒用 500 个样本打一次分（精确率和召回率用 2,000 个），评分器是在该数据集上训练过一次的小分类器；二维混合分布则按 "
        "VEEGAN / PacGAN 的评测方法打分（2,500 个样本）。"),
    "train.loss_help": ("How to read the losses", "如何解读损失"),
    "train.replay": ("Replay the run: scrub through its time-lapse", "回放训练：拖动查看延时记录"),
    "train.replay.where": ("Where in the run (% of its kept frames)", "训练进度位置（占已保存帧的百分比）"),
    "train.replay.grid": ("The grid then", "当时的样本网格"),
    "train.how_many": ("How many", "数量"),
    "train.sample_seed": ("Sample seed", "采样种子"),
    "train.sample": ("Sample", "采样"),
    "train.samples_png": ("Samples PNG", "样本 PNG"),
    "train.fresh": ("Fresh samples", "新采样的样本"),
    "train.status_json": ("Status as JSON (the /status endpoint)", "JSON 格式的状态（/status 接口）"),
    "train.refresh": ("Refresh", "刷新"),
    "train.status": ("status", "状态"),
    # the Speed box's choices (their values, demo/form.py SPEEDS, are what the API takes)
    "speed.full": ("full speed", "全速"),
    "speed.50": ("slow motion: 50 steps a second", "慢动作：每秒 50 步"),
    "speed.10": ("slower: 10 steps a second", "更慢：每秒 10 步"),
    # the synthetic dataset download (demo/tabs/train_dataset.py)
    "syn.title": ("Download a synthetic dataset", "下载合成数据集"),
    "syn.intro": ("Samples of the generator as a dataset you can take away: a zip of PNGs with one folder per class "
                  "(torchvision's `ImageFolder`) and a README, or an `.npz` (`x` in [-1, 1], `y` the classes). A "
                  "class-conditional generator draws the classes in equal numbers.",
                  "把生成器的样本做成一个可以带走的数据集：一个 PNG 压缩包（每个类别一个文件夹，即 torchvision 的 "
                  "`ImageFolder` 格式，附一份 README），或一个 `.npz` 文件（`x` 取值在 [-1, 1]，`y` 是类别）。"
                  "类别条件生成器会为每个类别生成相同数量的样本。"),
    "syn.n": ("How many (at most {max})", "数量（最多 {max}）"),
    "syn.classes": ("Which classes (e.g. 0,3,7; empty: all)", "哪些类别（例如 0,3,7；留空表示全部）"),
    "syn.format": ("Format", "格式"),
    "syn.seed": ("Seed", "随机种子"),
    "syn.make": ("Make the dataset", "生成数据集"),
    "syn.file": ("Synthetic dataset", "合成数据集"),
    "syn.points": ("A synthetic dataset needs an image run (this one makes points).",
                   "合成数据集需要一个图像训练（这个训练生成的是点）。"),
    "syn.generating": ("generating", "正在生成"),
    "syn.writing": ("writing PNGs", "正在写入 PNG"),
}
