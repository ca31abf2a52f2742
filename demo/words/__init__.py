"""Every user-facing string of the app, keyed once with its English and its Simplified Chinese (one module per
area). `t(key, **kw)` speaks the current request's language; `say(text)` translates a library message (ConfigError,
...) by the catalogue's templates. No Gradio here: demo/runs may use it too; demo/speak.py ties it to the page."""
from __future__ import annotations

import contextvars
import re
from typing import Any, Iterator

from . import advice, app, charts, checkpoints, errors, explore, hub, notices, restore, theory, train, translate

LANGS = ("en", "zh-CN")
MODULES = (app, train, explore, restore, theory, translate, checkpoints, hub, notices, advice, charts, errors)
SAID = (errors, charts)  # the modules whose English texts are templates of messages from the library, or legends


def _merge() -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for module in MODULES:
        for key, pair in module.WORDS.items():
            if key in out:
                raise KeyError(f"the key {key!r} is in two catalogue modules")
            out[key] = pair
    return out


CATALOGUE = _merge()
_LANG: contextvars.ContextVar[str] = contextvars.ContextVar("gan_lab_lang", default="en")


def pick(accept_language: str | None) -> str:
    """The language of LANGS an Accept-Language header asks for first ('zh', 'zh-CN', 'zh-Hans'... -> 'zh-CN');
    'en' when it asks for none of them, or for English first."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(str(accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        m = re.search(r"q=([0-9.]+)", params)
        if m:
            try:
                q = float(m.group(1))
            except ValueError:
                q = 0.0
        ranked.append((-q, i, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return "en"


def current() -> str:
    """The language of the request being answered ('en' outside one)."""
    return _LANG.get()


def use(lang: str) -> contextvars.Token:
    """Answer in `lang` from here on (in this context: one request's handler); returns the token to reset."""
    return _LANG.set(lang if lang in LANGS else "en")


def t(key: str, lang: str | None = None, **kw: Any) -> str:
    """The text of `key` in `lang` (the current request's by default), formatted with `kw`."""
    en, zh = CATALOGUE[key]
    text = zh if (lang or current()) == "zh-CN" else en
    return text.format(**kw) if kw else text


def tables(extra: dict[str, tuple[str, str]] | None = None) -> dict[str, dict[str, str]]:
    """{lang: {key: text}} of the whole catalogue (and `extra`), for Gradio's I18n."""
    items = {**CATALOGUE, **(extra or {})}
    return {"en": {k: v[0] for k, v in items.items()}, "zh-CN": {k: v[1] for k, v in items.items()}}


def _pattern(template: str) -> re.Pattern:
    """A template's English as a regex: each {name} matches a short run of text (named group)."""
    parts = re.split(r"\{(\w+)\}", template)
    out = []
    for i, part in enumerate(parts):
        out.append(f"(?P<{part}>.+?)" if i % 2 else re.escape(part))
    if parts and parts[-1] == "" and len(parts) > 1:  # ends with a placeholder: take it to the sentence's end
        out[-2] = f"(?P<{parts[-2]}>[^;]+?)"
        out.append(r"(?=$|; |\. )")
    return re.compile("".join(out))


def _templates() -> Iterator[tuple[re.Pattern, str]]:
    said = [(k, v) for m in SAID for k, v in m.WORDS.items()]
    for _, (en, zh) in sorted(said, key=lambda kv: -len(kv[1][0])):  # the longest first
        yield _pattern(en), zh


TEMPLATES = list(_templates())


def say(text: Any, lang: str | None = None) -> str:
    """A message from the library (or the form) in `lang`: every template the English matches is replaced by its
    translation; English stays English, and what no template matches stays as it is."""
    out = str(text)
    if (lang or current()) != "zh-CN" or not out:
        return out
    for pattern, zh in TEMPLATES:
        out = pattern.sub(lambda m, zh=zh: zh.format(**m.groupdict()), out)
    return out




def advice(kind: str, loss: str | None, lang: str | None = None) -> str:
    """The library's chart caption (`kind` 'caption') or loss help ('help') for `loss`, in `lang`."""
    from gan.metrics.advice import chart_caption, loss_help

    key = f"advice.{kind}.{loss}"
    if key in CATALOGUE:
        return t(key, lang)
    return chart_caption(loss) if kind == "caption" else loss_help(loss)


__all__ = ["CATALOGUE", "LANGS", "MODULES", "advice", "current", "pick", "say", "t", "tables", "use"]
