"""The catalogue (demo/words) on the page: `L(key)` for static texts, which Gradio's frontend translates by the
browser's language (`I18N`, passed to launch), and `speak(demo)`, which answers each event in the language its
request asks for (Accept-Language): handlers' `words.t` then speaks it, and refusals (gr.Error) are translated."""
from __future__ import annotations

import hashlib
from typing import Any

import gradio as gr

from . import words

_EXTRA: dict[str, tuple[str, str]] = {}  # formatted static texts (a key with values), registered as the page is built
_TABLES = words.tables()
I18N = gr.I18n(**_TABLES)  # the same dicts: texts registered later are in it too


def L(key: str, **kw: Any) -> gr.i18n.I18nData:
    """A static text of the page by `key` (formatted with `kw`; a value given as a dict {lang: text} differs by
    language), translated in the browser."""
    if not kw:
        words.CATALOGUE[key]  # noqa: B018 - an unknown key fails here, when the page is built
        return I18N(key)
    # the frontend reads a key up to its first "}": a digest of the values, not the values themselves
    name = f"{key}|{hashlib.sha1(repr(sorted(kw.items())).encode()).hexdigest()[:10]}"
    if name not in _EXTRA:
        _EXTRA[name] = tuple(words.t(key, lang, **{k: v.get(lang, v.get("en")) if isinstance(v, dict) else v
                                                     for k, v in kw.items()}) for lang in words.LANGS)
        _TABLES["en"][name], _TABLES["zh-CN"][name] = _EXTRA[name]
    return I18N(name)


def advice(kind: str, loss: str | None) -> Any:
    """The library's chart caption ('caption') or loss help ('help') for `loss` as a static text of the page."""
    key = f"advice.{kind}.{loss}"
    return L(key) if key in words.CATALOGUE else words.advice(kind, loss, "en")


def lang_of(request: Any) -> str:
    """The language a request asks for: its Accept-Language header (the browser's language, or a client's header)."""
    headers = getattr(request, "headers", None)
    try:
        return words.pick(headers.get("accept-language") if headers is not None else None)
    except Exception:  # noqa: BLE001 - a request without readable headers is answered in English
        return "en"


def speak(demo: gr.Blocks) -> gr.Blocks:
    """Every event of `demo` answered in its request's language: the catalogue's `words.current()` is set for the
    handler (and the threads Gradio runs it in), and a refusal's message is translated (`words.say`)."""
    original = demo.process_api

    async def process_api(block_fn: Any, inputs: list[Any], state: Any, request: Any = None, *args: Any,
                          **kwargs: Any) -> Any:
        lang = lang_of(request)
        token = words.use(lang)
        try:
            return await original(block_fn, inputs, state, request, *args, **kwargs)
        except gr.Error as e:
            if lang != "en":
                e.message = words.say(e.message, lang)
                e.args = (e.message,)
            raise
        finally:
            words._LANG.reset(token)

    demo.process_api = process_api
    return demo


__all__ = ["I18N", "L", "advice", "lang_of", "speak"]
