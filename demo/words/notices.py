"""What the handlers answer: notices, status lines, captions and refusals of the tabs (spoken in the request's
language by `words.t`)."""
from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    # refusals shown in a tab's notice (demo/tabs/refusals.py)
    "refusal.prefix": ("**Not done:** ", "**未完成：** "),
    "refusal.corner": ("see the message in the corner of the page.", "请查看页面角落里的提示。"),
    # Train
    "n.slow": (" Slow motion: at most {pace} steps a second.", " 慢动作：每秒最多 {pace} 步。"),
    "n.stopped": ("Stopped at step {step}; checkpoint: `{ckpt}`.", "已在第 {step} 步停止；检查点：`{ckpt}`。"),
    "n.none": ("none", "无"),
    "n.on_cpu": (" on the CPU (slower; no GPU quota used)", "，在 CPU 上运行（较慢，不占用 GPU 配额）"),
    "n.resumed": ("Resumed `{run}` at step {step}{where}.", "已从第 {step} 步继续训练 `{run}`{where}。"),
    "n.reset": ("Reset: your run was stopped and cleared (its checkpoint stays in the Checkpoints tab).",
                "已重置：你的训练已停止并清除（它的检查点仍保留在检查点页）。"),
    "n.started": ("Started run `{run}`.", "已开始训练 `{run}`。"),
    "n.queued": ("Queued run `{run}`. {line}", "训练 `{run}` 已排队。{line}"),
    "n.unpacked": ("Unpacked {n} image(s) as dataset `{name}`", "已解压 {n} 张图片，作为数据集 `{name}`"),
    "n.skipped": ("; {n} other file(s) skipped", "；跳过了 {n} 个其他文件"),
    "n.refused_big": ("; refused as too large: {names}", "；以下文件过大被拒绝：{names}"),
    "n.press_train": (". Press **Train** to train on them.", "。点击 **训练** 即可用它们训练。"),
    "n.domain_in": ("Domain {have} is in; now upload domain {need}'s zip.", "域 {have} 已上传；现在请上传域 {need} 的 zip。"),
    "n.domain_prefix": ("domain {tag}: ", "域 {tag}："),
    "n.domain_few": ("domain {tag}: the zip has {n} image; a domain needs at least 2 (one is held out for the "
                     "Translate tab)",
                     "域 {tag}：zip 里只有 {n} 张图片；每个域至少需要 2 张（其中一张留给图像转换页）"),
    "n.pair_done": ("Unpacked both domains as dataset `{name}` (model cyclegan). Press **Train** to train on them; the "
                    "Translate tab then shows their translations.",
                    "两个域都已解压，作为数据集 `{name}`（模型 cyclegan）。点击 **训练** 开始训练；之后可在图像转换页查看转换结果。"),
    # Theory and the replays
    "n.replay_where": ("The replay position", "回放位置"),
    "n.no_frames": ("No {what} kept yet: train for a few seconds, then scrub.",
                    "还没有保存任何{what}：先训练几秒钟，再拖动查看。"),
    "n.frame": ("**Step {step}**: {what} {i} of the {n} this run keeps (spread evenly over the whole run; slide to go "
                "back in time).",
                "**第 {step} 步**：本次训练保存的 {n} 张{what}中的第 {i} 张（均匀分布在整个训练过程中；拖动滑块可回到过去）。"),
    "n.grid": ("grid", "样本网格"),
    "n.grids": ("grids", "样本网格"),
    "n.picture": ("picture", "图片"),
    "n.pictures": ("pictures", "图片"),
    # Explore
    "n.no_generator": ("No generator yet: press Train (or load a checkpoint) first.",
                       "还没有生成器：请先点击训练（或加载一个检查点）。"),
    "n.is_cyclegan": ("This run is a CycleGAN: it translates images (Translate tab) rather than sampling z.",
                      "当前训练的是 CycleGAN：它用来做图像转换（见图像转换页），不能从 z 采样。"),
    "n.need_stylegan": ("These views need a StyleGAN: train with model `stylegan` first.",
                        "这些视图需要 StyleGAN：请先用 `stylegan` 模型训练。"),
    # Checkpoints
    "n.no_run": ("No run yet.", "还没有训练。"),
    "n.nothing_to_save": ("You have no run to save: train or load one first.", "你还没有可保存的训练：请先训练或加载一个。"),
    "n.still_loading": ("Your run is still loading: save once its step shows.", "你的训练还在加载：等显示出步数后再保存。"),
    "n.could_not_save": ("could not save: {e}", "无法保存：{e}"),
    "n.saved": ("Saved `{name}`.", "已保存 `{name}`。"),
    "n.ask_delete": ("Delete `{name}` for good? It cannot be undone.", "要永久删除 `{name}` 吗？此操作无法撤销。"),
    "n.loaded_explore": ("Loaded `{label}` as `{run}` to explore only: {warning}.",
                         "已将 `{label}` 加载为 `{run}`，只能用于探索：{warning}。"),
    "n.loading": ("Loading `{label}` as `{run}`", "正在将 `{label}` 加载为 `{run}`"),
    "n.and_resuming": (" and resuming.", "，并继续训练。"),
    "n.explore_now": (": explore it now, or press Resume on the Train tab.", "：现在就可以探索，或在训练页点击继续。"),
    "n.deleted": ("Deleted `{name}`.", "已删除 `{name}`。"),
    # the status line (demo/present.py) and the live notes (demo/live.py)
    "s.idle": ("{dot} **idle**: no run yet. Pick settings and press **Train**. {busy}",
               "{dot} **空闲**：还没有训练。选好设置后点击 **训练**。{busy}"),
    "s.busy": ("({n}/{most} training slots in use)", "（训练名额已用 {n}/{most}）"),
    "s.yours": ("your run", "你的训练"),
    "s.other": ("watching another visitor's run", "正在观看其他访客的训练"),
    "s.step": ("step {n}", "第 {n} 步"),
    "s.epoch": ("epoch {n}", "第 {n} 轮"),
    "s.elapsed": ("{t} elapsed", "已用时 {t}"),
    "s.d_loss": ("D loss {v}", "判别器损失 {v}"),
    "s.g_loss": ("G loss {v}", "生成器损失 {v}"),
    "s.error": ("**Error:** {e}", "**错误：** {e}"),
    "s.warning": ("**Warning:** {e}", "**警告：** {e}"),
    "s.example": ("{dot} **example** `{name}` ({what}, trained {steps} steps): a shipped example, shown until you "
                  "train. Pick settings and press **Train** to train your own. {busy}",
                  "{dot} **示例** `{name}`（{what}，已训练 {steps} 步）：这是自带的示例，在你开始训练前展示。"
                  "选好设置后点击 **训练**，训练你自己的模型。{busy}"),
    "s.loss": ("{loss} loss", "{loss} 损失"),
    "state.idle": ("idle", "空闲"),
    "state.starting": ("starting", "启动中"),
    "state.loading": ("loading", "加载中"),
    "state.running": ("running", "训练中"),
    "state.queued": ("queued", "排队中"),
    "state.stopping": ("stopping", "停止中"),
    "state.stopped": ("stopped", "已停止"),
    "state.finished": ("finished", "已完成"),
    "state.error": ("error", "出错"),
    "live.example_theory": ("Showing the example **{name}** until you train or load a 1-D or 2-D run of your own.",
                            "在你训练或加载自己的一维/二维模型之前，这里先展示示例 **{name}**。"),
    "live.example": ("Showing the example **{name}** until you train or load a run of your own.",
                     "在你训练或加载自己的模型之前，这里先展示示例 **{name}**。"),
    "live.cyclegan": ("This run is a CycleGAN: its views are on the **Translate** tab.",
                      "当前训练的是 CycleGAN：它的视图在 **图像转换** 页。"),
    "live.no_cyclegan": ("No CycleGAN yet: train `cyclegan` on `digits2colordigits` (Train tab) and its translations "
                         "appear here.",
                         "还没有 CycleGAN：在训练页用 `digits2colordigits` 训练 `cyclegan`，转换结果就会显示在这里。"),
    "live.who_example": ("the example **{name}**", "示例 **{name}**"),
    "live.who_run": ("run `{run}`", "训练 `{run}`"),
    "live.translating_now": ("Translating with {who} ({data}, training now): each translation uses its latest "
                             "published weights.",
                             "正在用{who}做转换（{data}，训练进行中）：每次转换都使用最新发布的权重。"),
    "live.translating": ("Translating with {who} ({data}, step {step}).", "正在用{who}做转换（{data}，第 {step} 步）。"),
    "q.wait": ("*Quality metrics appear a few seconds after training starts.*", "*训练开始几秒后会显示质量指标。*"),
    "q.collapse": ("⚠️ **Possible mode collapse.** ", "⚠️ **可能出现了模式崩溃。** "),
    # the API's inputs (demo/inputs.py)
    "in.too_long": ("{name} is {n} characters long; at most {most} are accepted",
                    "{name} 有 {n} 个字符，最多只接受 {most} 个"),
    "in.not_file": ("{name} must be an uploaded file, got {got}", "{name} 必须是上传的文件，收到的是 {got}"),
    "in.limits": ("at most {side} px a side and {most} pixels are accepted", "每边最多 {side} 像素、总共最多 {most} 像素"),
    "in.declares": ("{name}: the image declares {n} pixels; {limits}", "{name}：这张图片声明有 {n} 像素；{limits}"),
    "in.size": ("{name}: the image is {w} x {h} px; {limits}", "{name}：图片大小为 {w} x {h} 像素；{limits}"),
    "in.unreadable": ("could not read the inputs of /{api}: expected {n} value(s) ({names}) of the types the API lists "
                      "({error})",
                      "无法读取 /{api} 的输入：需要 {n} 个值（{names}），类型须与 API 列出的一致（{error}）"),
    # the Hub panel (demo/tabs/hub.py)
    "n.hub_could_not_export": ("could not export: {e}", "无法导出：{e}"),
    "n.hub_no_export": ("no export named {name} among yours (export one first, or upload it)",
                      "你的导出中没有名为 {name} 的（请先导出一个，或上传它）"),
    "n.hub_give_id": ("give a Hub repo id (USER/NAME) or the name of one of your exports (NAME-export.zip)",
                    "请填写 Hub 仓库 id（USER/NAME）或你某个导出的名称（NAME-export.zip）"),
    "n.hub_not_loaded": ("{label} could not be loaded: {e}", "{label} 无法加载：{e}"),
    "n.hub_share_off": ("Sharing to the Hub is off on this server (the owner has not set HF_TOKEN).",
                      "此服务器未开启分享到 Hub（管理员没有设置 HF_TOKEN）。"),
    "n.hub_give_name": ("give the repo a name: letters, digits, '-', '_' or '.', at most 96 characters",
                      "请给仓库起个名字：字母、数字、'-'、'_' 或 '.'，最多 96 个字符"),
    "n.hub_could_not_share": ("could not share: {e}", "无法分享：{e}"),
    # the Translate tab (demo/tabs/translate.py)
    "tr.starting": ("Your CycleGAN is starting: its first weights arrive within a few seconds of training. Try again "
                    "then.", "你的 CycleGAN 正在启动：训练开始几秒后就会有第一批权重。请稍后再试。"),
    "tr.none": ("No CycleGAN yet: train model `cyclegan` on `digits2colordigits` (Train tab) first.",
                "还没有 CycleGAN：请先在训练页用 `digits2colordigits` 训练 `cyclegan` 模型。"),
    "tr.too_big": ("The image must be a picture of at most {side} px a side, got shape {shape}.",
                   "图片每边最多 {side} 像素，收到的形状是 {shape}。"),
    # the quality summary (demo/present.py quality_summary)
    "q.head": ("**Quality** at step {step}: ", "**质量**（第 {step} 步）："),
    "q.this_dataset": ("this dataset", "该数据集"),
    "q.space_classifier": ("a small classifier's features, trained on them", "在这些图像上训练的小分类器的特征空间"),
    "q.space_random": ("a fixed random projection of their pixels", "像素的一个固定随机投影"),
    "q.frechet": ("Fréchet distance {v} to the real images of {data} (in {space}; lower is better, and it compares "
                  "only runs on the same dataset)",
                  "与 {data} 真实图像的 Fréchet 距离为 {v}（在{space}中计算；越低越好，只能比较同一数据集上的训练）"),
    "q.pr": ("precision {p}, recall {r}{dc}", "精确率 {p}，召回率 {r}{dc}"),
    "q.dc": (", density {d}, coverage {c}", "，密度 {d}，覆盖率 {c}"),
    "q.pr_meaning": ("Precision: how many samples fall where real data lives; recall and coverage: how much of the "
                     "real data the samples reach. Mode collapse is high precision with low recall.",
                     "精确率：有多少样本落在真实数据所在的区域；召回率和覆盖率：样本覆盖了多少真实数据。"
                     "模式崩溃的表现是精确率高而召回率低。"),
    "q.classes": ("classes covered {n}/{k}", "覆盖类别 {n}/{k}"),
    "q.diversity": ("diversity {pct}% (how spread out the samples are, as a share of the real images' spread: about "
                    "100% is healthy, far below means they look alike)",
                    "多样性 {pct}%（样本的离散程度占真实图像离散程度的比例：100% 左右是健康的，远低于此说明样本彼此很像）"),
    "q.hq": (", high quality {pct}%", "，高质量样本 {pct}%"),
    "q.modes": ("modes {n}/{k}{hq}", "模式 {n}/{k}{hq}"),
    "q.samples": (" ({n} samples)", "（{n} 个样本）"),
    "q.kept": ("label kept {pct}%", "保留数字 {pct}%"),
    "q.domain": ("in the target domain {pct}%", "属于目标域 {pct}%"),
    # how a run shares the server (demo/present.py sharing_line)
    "sh.about": ("about {t}", "约 {t}"),
    "sh.unknown": ("unknown (the runs training now have no time limit)", "未知（正在训练的任务没有时间上限）"),
    "sh.waiting": ("⏳ **Waiting for a training slot:** number **{place}** of {n} in line; estimated wait {when}. The "
                   "run starts by itself when a slot frees; keep the page open.",
                   "⏳ **正在等待训练名额：** 排在 {n} 人中的第 **{place}** 位；预计等待{when}。有名额空出时训练会自动开始，"
                   "请保持页面打开。"),
    "sh.share": ("{n} runs share this server's CPU in turns; this one gets {share} of the training time",
                 "{n} 个训练轮流共享这台服务器的 CPU；本训练分到 {share} 的训练时间"),
    "sh.some": ("some", "一些"),
    "sh.turn": ("{n} visitor(s) wait for a slot: this run stops in {t} (saved) so that they can train; Resume queues "
                "it again", "有 {n} 位访客在等待名额：本训练将在 {t} 后停止（会保存），让他们也能训练；点击继续可重新排队"),
    "sh.gpu": ("ZeroGPU time used by this run: {s} s of its owner's quota", "本训练已用 ZeroGPU 时间：{s} 秒（计入其所有者的配额）"),
    "sh.gpu_left": ("; ZeroGPU says {s} s of quota are left", "；ZeroGPU 显示配额还剩 {s} 秒"),
    # the Hub panel's notices
    "n.hub_recent": ("Your export of {s} s ago, `{name}` (one export every {every} s: each is a copy the server keeps).",
                     "这是你 {s} 秒前的导出 `{name}`（每 {every} 秒只能导出一次：每个导出都是服务器保存的一份副本）。"),
    "n.hub_exported": ("Exported as `{name}` (model.safetensors, config.json, README.md, samples.png). Load it back by "
                       "that name, or upload the zip to a Hub model repo.",
                       "已导出为 `{name}`（model.safetensors、config.json、README.md、samples.png）。可以用这个名称重新加载，"
                       "或把 zip 上传到 Hub 的模型仓库。"),
    "n.hub_loaded": ("Loaded the export `{label}` ({model}, step {step}) as `{run}`: explore it now. {note}.",
                     "已将导出 `{label}`（{model}，第 {step} 步）加载为 `{run}`：现在就可以探索。{note}。"),
    "n.hub_shared": ("Shared to the Hub: [{repo}]({url}). Anyone can load it with `gan.load_pretrained`.",
                     "已分享到 Hub：[{repo}]({url})。任何人都可以用 `gan.load_pretrained` 加载它。"),
    # the Train form's notices (demo/form.py)
    "blank.note": (" Blank boxes took the dataset's defaults: {used}.", " 留空的框使用了数据集的默认值：{used}。"),
    "blank.sep": (", ", "，"),
    "blank.batch_size": ("batch size", "批大小"),
    "blank.lr": ("learning rate", "学习率"),
    "blank.z_dim": ("z dimensions", "z 的维度"),
    "blank.width": ("width", "网络宽度"),
    "crawl.default": (" The dataset's default batch is {batch}.", "该数据集的默认批大小是 {batch}。"),
    "crawl.huge": ("**This run will crawl:** its networks are very large for this machine, so each step takes long and "
                   "the grid and charts will barely move. Stop it and train with a smaller width or batch size to see "
                   "it learn.{smaller}",
                   "**这次训练会非常慢：** 对这台机器来说网络太大，每一步都很耗时，样本网格和图表几乎不会动。"
                   "请停止训练，换用更小的网络宽度或批大小，才能看到它学习的过程。{smaller}"),
    "crawl.slow": ("**This run will crawl:** at batch size {batch} one step takes about {s} s here (about {rate} steps a "
                   "second), so the grid and charts will barely move. Stop it and train with a smaller batch size to "
                   "see it learn.{smaller}",
                   "**这次训练会非常慢：** 批大小为 {batch} 时，这里每一步大约要 {s} 秒（约每秒 {rate} 步），"
                   "样本网格和图表几乎不会动。请停止训练，换用更小的批大小，才能看到它学习的过程。{smaller}"),
    "files.download": ("`{dataset}` reads the {files} files, which this server does not have yet: the run downloads them "
                       "first (a minute or so), then trains.",
                       "`{dataset}` 需要读取 {files} 数据文件，这台服务器上还没有：训练会先下载它们（大约一分钟），然后开始。"),
    "files.in_dir": ("in the server's data folder (the one GAN_DATA_DIR names)", "放到服务器的数据文件夹（GAN_DATA_DIR 指定的那个）里"),
    "files.set_dir": ("in a folder and start the app with GAN_DATA_DIR set to that folder",
                      "放到一个文件夹里，并在启动应用时把 GAN_DATA_DIR 设为该文件夹"),
    "files.missing": ("`{dataset}` needs the {files} files, which are not on this server, and this server cannot "
                      "download them (no internet). Put {idx} {where}; or train `{instead}`, which is built in.",
                      "`{dataset}` 需要 {files} 数据文件，这台服务器上没有，而且无法下载（没有联网）。请把 {idx} {where}；"
                      "或者改用内置的 `{instead}` 训练。"),
}
