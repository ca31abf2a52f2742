"""Templates of the messages that come from the library and the form's refusals (gan.errors, gan.config, the
Train form's words, the plain-words advice): `say` matches their English, {names} being any text, and answers in
Chinese. Keep each English exactly as the code writes it."""
from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    # the Train form's boxes, as demo/form.py names them in refusals
    "err.f.batch_size": ("The batch size (batch_size)", "批大小（batch_size）"),
    "err.f.lr": ("The learning rate (lr)", "学习率（lr）"),
    "err.f.seed": ("The seed", "随机种子"),
    "err.f.z_dim": ("The z dimensions (z_dim)", "z 的维度（z_dim）"),
    "err.f.width": ("The width", "网络宽度"),
    "err.f.r1": ("The R1 γ (r1)", "R1 γ（r1）"),
    "err.f.r2": ("The R2 γ (r2)", "R2 γ（r2）"),
    "err.f.pac": ("The PacGAN packing (pac)", "PacGAN 打包数（pac）"),
    "err.f.speed": ("The speed", "速度"),
    # comparisons, as demo/form.py form_words words them, then as gan.errors raises them
    "err.more": ("{what} must be more than {lo} (you gave {got})", "{what}必须大于 {lo}（你填的是 {got}）"),
    "err.least": ("{what} must be at least {lo} (you gave {got})", "{what}不能小于 {lo}（你填的是 {got}）"),
    "err.most": ("{what} must be at most {hi} (you gave {got})", "{what}不能大于 {hi}（你填的是 {got}）"),
    "err.number": ("{what} must be a number (you gave {got})", "{what}必须是一个数（你填的是 {got}）"),
    "err.whole": ("{what} must be a whole number (you gave {got})", "{what}必须是整数（你填的是 {got}）"),
    "err.finite": ("{what} must be a finite number (you gave {got})", "{what}必须是有限的数（你填的是 {got}）"),
    "err.gt": ("{what} must be > {lo}, got {got}", "{what} 必须大于 {lo}，收到的是 {got}"),
    "err.ge": ("{what} must be >= {lo}, got {got}", "{what} 不能小于 {lo}，收到的是 {got}"),
    "err.le": ("{what} must be <= {hi}, got {got}", "{what} 不能大于 {hi}，收到的是 {got}"),
    "err.num": ("{what} must be a number, got {got}", "{what} 必须是一个数，收到的是 {got}"),
    "err.int": ("{what} must be a whole number, got {got}", "{what} 必须是整数，收到的是 {got}"),
    "err.fin": ("{what} must be a finite number, got {got}", "{what} 必须是有限的数，收到的是 {got}"),
    "err.unknown": ("unknown {kind} {value}; choose from {choices}", "未知的 {kind} {value}；可选的有：{choices}"),
    "err.cannot_train": ("model {model} cannot train {name}, which is {kind}: {rest}",
                         "模型 {model} 不能训练 {name}（它是{kind}）：{rest}"),
    # the plain-words advice (gan/metrics/advice.py)
    "adv.classes": ("Only {n} of {k} classes appear: the generator is collapsing onto a few kinds of image "
                    "(mode collapse).",
                    "{k} 个类别中只出现了 {n} 个：生成器开始只生成少数几种图像（模式崩溃）。"),
    "adv.modes": ("Only {n} of {k} modes are covered: the generator is collapsing onto a few modes (mode collapse).",
                  "{k} 个模式中只覆盖了 {n} 个：生成器开始只生成少数几个模式附近的样本（模式崩溃）。"),
    "adv.alike": ("The samples look alike: their spread is {pct} of the real images'. The generator is collapsing "
                  "(mode collapse).",
                  "生成的样本彼此很像：它们的离散程度只有真实图像的 {pct}。生成器正在发生模式崩溃。"),
    "adv.pr": ("The samples look real (precision {p}: that share falls where real data lives) but reach little of "
               "the real data (recall {r}): the generator is collapsing onto a few kinds of image (mode collapse is "
               "high precision with low recall).",
               "样本看起来很真实（精确率 {p}：这部分样本落在真实数据所在的区域），却只覆盖了很少的真实数据（召回率 {r}）："
               "生成器开始只生成少数几种图像（模式崩溃的表现就是精确率高而召回率低）。"),
    "adv.try_lr": ("Try loss {a} or {b}, or lower the learning rate (e.g. {lr}).",
                   "试试换成 {a} 或 {b} 损失，或者降低学习率（例如 {lr}）。"),
    "adv.try_half": ("Try loss {a} or {b}, or lower the learning rate (e.g. halve it).",
                     "试试换成 {a} 或 {b} 损失，或者降低学习率（例如减半）。"),
    "adv.kept": ("Translations {d} have stopped keeping their content: the digit survives in {now} of them, down "
                 "from {peak}.",
                 "{d} 方向的转换不再保留内容：只有 {now} 的结果还保留着数字，最高时为 {peak}。"),
    "adv.hidden": ("The reconstructions are still close (cycle L1 {l1}), so the content is being hidden in patterns "
                   "too faint to see rather than drawn.",
                   "重建结果依然很接近（循环 L1 为 {l1}），说明内容被藏进了肉眼看不见的微弱图案里，而不是真正画出来。"),
    "adv.same": ("Translations {d} all look alike (their spread is {pct} of real images'): the generator is "
                 "collapsing to one output whatever its input.",
                 "{d} 方向的转换结果全都一样（离散程度只有真实图像的 {pct}）：无论输入什么，生成器都只给出同一个结果。"),
    "adv.fix_cycle": ("Load an earlier checkpoint, or train again with a higher identity weight or a lower learning "
                      "rate.", "加载更早的检查点，或用更大的恒等损失权重、更低的学习率重新训练。"),
    # a loaded export's run note (demo/tabs/hub.py EXPORT_NOTE), shown in status lines and notices
    "err.export_note": ("explore only: an export holds the generator's weights but no discriminator or optimizer state, "
                        "so it cannot resume training; load a full checkpoint (.pt) to train further",
                        "只能用于探索：导出只包含生成器的权重，没有判别器和优化器状态，所以不能继续训练；要继续训练，请加载完整的检查点（.pt）"),
    # the runs' refusals (demo/runs: manager.py, storage.py, run.py), as they raise them
    "err.nothing_to_resume": ("nothing to resume: start a run or load a checkpoint first",
                              "没有可以继续的训练：请先开始训练或加载一个检查点"),
    "err.no_run_to_stop": ("you have no run to stop", "你没有可以停止的训练"),
    "err.not_yours": ("this run belongs to another visitor: you can watch it but not stop it",
                      "这是其他访客的训练：你可以观看，但不能停止它"),
    "err.already": ("you already have a run training: stop it first", "你已经有一个训练在进行：请先停止它"),
    "err.in_queue": ("you are already in the queue for a training slot: your run starts by itself",
                     "你已经在排队等待训练名额：轮到你时训练会自动开始"),
    "err.daily": ("You have used this server's {m} minutes of training for today (it refills at midnight UTC). Your "
                  "checkpoints stay: explore them, or download one to train further on your own machine.",
                  "你今天已经用完了这台服务器的 {m} 分钟训练时间（UTC 午夜重置）。你的检查点都还在：可以探索它们，"
                  "或者下载一个到自己的电脑上继续训练。"),
    "err.read_only": ("examples are read-only", "示例是只读的"),
    "err.no_ckpt": ("no checkpoint named {name} among yours or the examples (list them with the /checkpoints endpoint)",
                    "你的检查点和示例中都没有名为 {name} 的（可以用 /checkpoints 接口列出它们）"),
    "err.not_training": ("this run is not training now", "这个训练现在没有在进行"),
    "err.stopped": ("Training stopped: {e}.{kept} Try a lower learning rate or another loss.",
                    "训练已停止：{e}。{kept}试试降低学习率或换一个损失函数。"),
    # uploads, files and quotas (demo/present.py, demo/runs/storage.py, demo/tabs/explore_pictures.py)
    "err.no_file": ("no file was uploaded", "没有上传文件"),
    "err.empty_file": ("the uploaded file is empty", "上传的文件是空的"),
    "err.too_big": ("the uploaded file is {size} MiB; the limit is {most} MiB", "上传的文件有 {size} MiB；上限是 {most} MiB"),
    "err.no_frames": ("no time-lapse frames yet: train for a few seconds first", "还没有延时帧：请先训练几秒钟"),
    "err.no_generator": ("no generator yet: press Train (or load a checkpoint) first",
                         "还没有生成器：请先点击训练（或加载一个检查点）"),
    "err.quota_mine": ("your disk quota ({mb} MB for checkpoints, uploads and downloads) is full: delete a checkpoint "
                       "or an upload, or download and start afresh",
                       "你的磁盘配额（检查点、上传和下载共 {mb} MB）已满：请删除一个检查点或上传，或者下载后重新开始"),
    "err.quota_server": ("this server's disk quota ({mb} MB) is full; try again later",
                         "这台服务器的磁盘配额（{mb} MB）已满；请稍后再试"),
    "err.could_not_save": ("could not save a checkpoint: {e}", "无法保存检查点：{e}"),
}

WORDS["err.export_note_cap"] = (WORDS["err.export_note"][0].capitalize(), WORDS["err.export_note"][1])
