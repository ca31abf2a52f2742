"""Refusals shown where the visitor looks. Gradio marks every output of an event that raised gr.Error with a red
"Error" badge, and over a control (the Dataset dropdown, the checkpoint list) that badge swallows clicks until its
small x is found. So an event that may refuse writes its controls through hidden relays (copied over on .success),
and its .failure() step puts the refusal's own words in the tab's notice (`notes.show`), which clears the badge
there. `notes.noted(fn)` remembers, per page session, the last refusal fn raised; the API is unchanged: gradio_client
still gets the error."""
from __future__ import annotations

import functools
import inspect
import threading
from collections import OrderedDict
from typing import Any, Callable, Iterator

import gradio as gr

from .. import words

PREFIX = words.t("refusal.prefix", "en")


class Notes:
    """The last refusal of each page session, for the .failure() step that shows it."""

    def __init__(self, most: int = 4096) -> None:
        self.most = most
        self._last: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _session(args: tuple, kwargs: dict) -> str:
        request = kwargs.get("request") or next((a for a in args if isinstance(a, gr.Request)), None)
        return getattr(request, "session_hash", None) or "local"

    def noted(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """fn, remembering the message of a gr.Error it raises for the session's .failure() step (re-raised); a
        generator (a streaming Train on ZeroGPU, demo/lend.py) stays one, its refusals noted as they come."""
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def streamed(*args: Any, **kwargs: Any) -> Iterator[Any]:
                try:
                    yield from fn(*args, **kwargs)
                except gr.Error as e:
                    self._remember(args, kwargs, e)
                    raise
            return streamed

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except gr.Error as e:
                self._remember(args, kwargs, e)
                raise
        return wrapper

    def _remember(self, args: tuple, kwargs: dict, e: gr.Error) -> None:
        with self._lock:
            self._last[self._session(args, kwargs)] = str(e.message)
            while len(self._last) > self.most:
                self._last.popitem(last=False)

    def show(self, request: gr.Request = None) -> str:
        """The session's last refusal, for the tab's notice (read once), in the request's language."""
        with self._lock:
            message = self._last.pop(getattr(request, "session_hash", None) or "local", None)
        return words.t("refusal.prefix") + (words.say(message) if message else words.t("refusal.corner"))


notes = Notes()

__all__ = ["Notes", "PREFIX", "notes"]
