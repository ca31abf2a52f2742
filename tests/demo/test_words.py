"""The catalogue (demo/words): every key has its English and its Chinese with the same placeholders, and no
user-facing string literal in demo/ is left outside it (a scan of every module, those added later included)."""
import ast
import re
import string
from pathlib import Path

from demo import words

DEMO = Path(__file__).resolve().parents[2] / "demo"
TEXT_KWARGS = {"label", "info", "placeholder", "title"}  # a component's words, translated in the browser
FIRST_ARG = {"Markdown", "Button", "Tab", "Accordion", "Error", "Warning", "Info", "refuse", "_refuse", "Exception"}
# literals that are names, not words: hidden API-only buttons, slider names, example values
NAMES = {"theory", "quality", "translate", "checkpoints", "mix", "PC{}", "my-gan"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_has_both_languages_with_the_same_placeholders():
    assert words.LANGS == ("en", "zh-CN")
    for key, (en, zh) in words.CATALOGUE.items():
        assert en.strip() and zh.strip(), key
        assert placeholders(en) == placeholders(zh), key
        if re.search(r"[a-z]{3,}", re.sub(r"\{\w+\}|`[^`]*`", "", en)):  # words, not only names or formulas
            assert CJK.search(zh), f"{key} is not translated: {zh!r}"


def test_the_catalogue_uses_the_terms_of_chinese_gan_lessons():
    zh = " ".join(pair[1] for pair in words.CATALOGUE.values())
    for term in ("生成器", "判别器", "损失", "对抗训练", "模式崩溃", "潜在空间", "纳什均衡", "截断", "风格混合",
                 "循环一致性", "检查点"):
        assert term in zh, term


def _literal_words(node: ast.AST) -> str | None:
    """The text of a str literal or f-string with words in it (its constant parts), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.JoinedStr):
        text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    else:
        return None
    return text if re.search(r"[A-Za-z]{2,}", text) and text not in NAMES else None


def user_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of each string literal with words passed as a component's label/info/placeholder/title, or as
    the text of a Markdown, Button, Tab, Accordion or a refusal (gr.Error, gr.Warning, gr.Info, refuse)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        args = [kw.value for kw in node.keywords if kw.arg in TEXT_KWARGS]
        if name in FIRST_ARG and node.args:
            args.append(node.args[0])
        for arg in args:
            text = _literal_words(arg)
            if text is not None:
                found.append((node.lineno, text))
    return found


def test_the_scan_finds_a_literal_label_and_a_literal_refusal():
    source = ('gr.Number(1, label="Seed A")\ngr.Number(1, label=L("explore.seed_a"))\n'
              'raise gr.Error(f"no run {x}")\nraise gr.Error(words.t("n.no_run"))\ngr.Button("theory")\n')
    assert user_literals(source) == [(1, "Seed A"), (3, "no run {}")]


def test_no_user_facing_literal_in_demo_is_left_outside_the_catalogue():
    modules = sorted(p for p in DEMO.rglob("*.py") if "words" not in p.relative_to(DEMO).parts)
    assert len(modules) > 20
    left = [f"{p.relative_to(DEMO.parent)}:{line}: {text!r}" for p in modules
            for line, text in user_literals(p.read_text(encoding="utf-8"))]
    assert not left, "key these in demo/words (docs/i18n.md):\n" + "\n".join(left)


def test_pick_reads_accept_language():
    assert words.pick("zh-CN,zh;q=0.9,en;q=0.8") == "zh-CN"
    assert words.pick("en-US,en;q=0.9,zh-CN;q=0.8") == "en"
    assert words.pick("fr-FR,zh-TW;q=0.5") == "zh-CN"
    assert words.pick("de") == words.pick(None) == "en"


def test_t_and_say_speak_the_language_asked_for():
    assert words.t("n.saved", "zh-CN", name="a.pt") == "已保存 `a.pt`。"
    assert words.t("n.saved", "en", name="a.pt") == "Saved `a.pt`."
    token = words.use("zh-CN")
    try:
        assert words.current() == "zh-CN" and CJK.search(words.t("tab.train"))
        said = words.say("The learning rate (lr) must be more than 0 (you gave -1)")
    finally:
        words._LANG.reset(token)
    assert said.startswith("学习率") and "-1" in said and not re.search(r"[a-z]{4,}", said)
    assert words.say("lr must be > 0, got -1", "en") == "lr must be > 0, got -1"


def test_library_messages_are_translated_whole(tmp_path):
    """Messages the library and the runs write, as they write them, come out in Chinese with no English left (the
    templates in demo/words/errors.py and charts.py follow the code's own words)."""
    from gan.errors import ConfigError, parse_number
    from gan.metrics.advice import collapse_warning, translation_warning

    from demo import form, present

    big = tmp_path / "big.zip"
    big.write_bytes(b"0" * 3000)
    messages = [collapse_warning([{"modes": 8, "n_modes": 8}] + [{"modes": 2, "n_modes": 8}] * 2, loss="bce", lr=1e-3),
                collapse_warning([{"classes_covered": 10, "n_classes": 10}, {"classes_covered": 3, "n_classes": 10}]),
                collapse_warning([{"precision": 0.8, "recall": 0.6}] + [{"precision": 0.9, "recall": 0.1}] * 8,
                                 loss="bce", lr=1e-3),
                translation_warning([{"label_kept_ab": 0.9}, {"label_kept_ab": 0.3, "cycle_aba": 0.1}]),
                "D loss", "modes captured (% of 8)"]
    for bad in (dict(lo=0, lo_open=True), dict(integer=True, lo=1)):
        try:
            parse_number("lr" if "lo_open" in bad else "batch_size", -1.5, **bad)
        except ConfigError as e:
            messages += [str(e), form.form_words(e)]
    try:
        present.check_upload(str(big), 1000)
    except ValueError as e:
        messages.append(str(e))
    assert len(messages) == 11 and all(messages)
    from gan.registry import DATASETS, LOSSES, MODELS

    names = {*LOSSES.names(), *MODELS.names(), *DATASETS.names(), "nats"}  # names stay as they are
    for message in messages:
        said = words.say(message, "zh-CN")
        left = [w for w in re.findall(r"[a-z][\w-]{3,}", said) if w not in names and "_" not in w]  # not params
        assert CJK.search(said) and not left, (message, said)
