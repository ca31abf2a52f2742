"""The page: who is asking (the visitor), which run a view shows, how a refusal reads, and the handler objects of
its tabs (`page.train`, `.explore`, `.theory`, `.translate`, `.files`) and of its live outputs (`page.live`)."""
from __future__ import annotations

import hashlib
import hmac
import re
import threading
import uuid
from collections import Counter, OrderedDict
from typing import Any

import gradio as gr

from gan.errors import CheckpointError, ConfigError, DatasetError

from .live import Live
from .runs.manager import NotOwner, RunBusy, RunManager
from .tabs.checkpoints import Files
from .tabs.explore import Explore
from .tabs.theory import Theory
from .tabs.train import Train
from .tabs.translate import Translate

MAX_SESSIONS = 20_000  # sessions remembered at once; only those with no live page are ever forgotten
REFUSALS = (ConfigError, DatasetError, CheckpointError, RunBusy, NotOwner, LookupError, ValueError, OSError,
            TimeoutError, RuntimeError)


def refuse(e: BaseException | str, storage: Any, duration: float = 8) -> gr.Error:
    """A gr.Error for the page, with server paths cut out."""
    return gr.Error(storage.public(str(e)), duration=duration)


class Page:
    """Everything the page calls, bound to one RunManager. Refusals raise gr.Error, which shows as a toast on the
    page and as an error in gradio_client; their text never carries a server path.

    A visitor is the id the page keeps in the browser (a gr.BrowserState sent once, at page load), so a reload
    still reaches the visitor's run and checkpoints; gradio_client users are their session. The browser keeps the
    id signed with the server's key (`key`, never served), so knowing someone's id is not being them. The tabs' handlers
    (demo/tabs/) reach the visitor, `subject`, `refuse` and REFUSALS through the page they are bound to."""

    REFUSALS = REFUSALS  # what a handler turns into a gr.Error (`refuse`) rather than a crash

    def __init__(self, manager: RunManager, *, key: str | None = None) -> None:
        self.manager = manager
        self.key = (key or uuid.uuid4().hex).encode()  # signs the visitor ids browsers keep (demo/app.py _secret)
        self.storage = manager.storage
        self._visitors: OrderedDict[str, str] = OrderedDict()  # session -> visitor
        self._open: Counter[str] = Counter()  # visitor -> open pages
        self._lock = threading.Lock()
        self.live = Live(self)  # the live outputs and the page's live streams (demo/live.py)
        self.files = Files(self)  # the Checkpoints tab's
        self.explore = Explore(self)  # and the Train tab's Sample
        self.translate = Translate(self)
        self.train = Train(self)
        self.theory = Theory(self)

    # ---- who is asking ---------------------------------------------------------------------------------
    def visitor(self, request: gr.Request | None) -> str:
        session = getattr(request, "session_hash", None) or "local"
        return self._visitors.get(session, session)

    def sign(self, vid: str) -> str:
        """The token a browser keeps for visitor `vid`: the id and the server's signature of it."""
        return f"{vid}.{hmac.new(self.key, vid.encode(), hashlib.sha256).hexdigest()[:32]}"

    def verified(self, token: Any) -> str | None:
        """The visitor id a browser's token stands for, or None unless this server signed it."""
        m = re.fullmatch(r"([0-9a-f]{32})\.([0-9a-f]{32})", token) if isinstance(token, str) else None
        return m.group(1) if m and hmac.compare_digest(self.sign(m.group(1)), token) else None

    def hello(self, stored: Any, request: gr.Request = None) -> str:
        """Page load: the visitor whose signed token the browser keeps (a new one on a first visit, or for a
        token this server did not sign) now stands for this session; returns the token to keep."""
        vid = self.verified(stored) or uuid.uuid4().hex
        session = getattr(request, "session_hash", None) or "local"
        with self._lock:
            self._visitors[session] = vid
            self._visitors.move_to_end(session)
            self._open[vid] += 1
            self._forget_closed_sessions()
        return self.sign(vid)

    def _forget_closed_sessions(self) -> None:
        """Past MAX_SESSIONS, forget the oldest sessions whose page has no live stream (a page that never said
        goodbye); a page still open keeps its visitor however many pages opened after it."""
        extra = len(self._visitors) - MAX_SESSIONS
        if extra <= 0:
            return
        live = self.live.sessions()
        for session in [s for s in self._visitors if s not in live][:extra]:
            vid = self._visitors.pop(session)
            if self._open[vid] > 1:
                self._open[vid] -= 1
            else:
                self._open.pop(vid, None)

    def bye(self, request: gr.Request = None) -> None:
        """Page closed (Gradio's unload): when the visitor's last page is gone, their run stops and saves."""
        vid = self.visitor(request)
        with self._lock:
            self._open[vid] -= 1
            last = self._open[vid] <= 0
            if last:
                del self._open[vid]
            session = getattr(request, "session_hash", None) or "local"
            self._visitors.pop(session, None)
        self.live.closed(session)
        if last:
            self.manager.session_ended(vid)

    # ---- what the handlers share ----------------------------------------------------------------------
    def refuse(self, e: BaseException | str, duration: float = 8) -> gr.Error:
        """A gr.Error for the page, with server paths cut out."""
        return refuse(e, self.storage, duration)

    def subject(self, run: Any, view: str) -> Any:
        """The run a view shows: the watched one when it suits the view, else the view's shipped example."""
        snap = run.snapshot() if run is not None else None
        # a run suits once it has published its nets (until then, e.g. a CycleGAN's first seconds, the example shows)
        suits = snap is not None and snap.sampler is not None
        if view == "translate":
            suits = suits and snap.offers("translate")
        return run if suits else (self.manager.example(view) or run)


__all__ = ["Page", "REFUSALS", "refuse"]
