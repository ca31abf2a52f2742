"""A page's live view of the snapshots: one tick that turns them into every live output, and the page's live
streams (one per group of outputs that change together, started at page load) that send a group only when it
changed. Everything here reads published snapshots; nothing touches a training thread's nets.

What a message costs the server is mostly Gradio walking over its values (twice to look for files, once to add
root URLs), so the Train tab's stream sends values that are already what the browser takes: chart rows as one
pre-serialized JSON fragment (one leaf instead of ~2,000) and the grid inline as a PNG data URL (no file to copy,
check and serve per viewer). bench/bench_viewers.py measures it.
"""
from __future__ import annotations

import asyncio
import base64
import inspect
import logging
import math
import threading
import time
import traceback
from collections import Counter, OrderedDict
from typing import Any, AsyncIterator

import gradio as gr

from gan import settings

from . import present, words

try:  # pre-serialized JSON that Gradio's orjson writes as is (orjson >= 3.9.9, a Gradio dependency)
    from orjson import Fragment, dumps
except ImportError:  # pragma: no cover - an older orjson: charts go as plain lists (slower, same look)
    Fragment = None

FAST, IDLE = 0.5, 2.0  # how often a page's live stream looks at the snapshots: a run is active / none is
TRAIN_OUTPUTS = ("status_line", "loss_plot", "d_plot", "grid", "q_warning", "q_summary", "q_cov", "q_dist",
                 "charts_cap", "sample_image", "sample_file")
THEORY_OUTPUTS = ("t_status", "t_main", "t_main_cap", "t_curves", "t_curves_cap", "t_modes", "t_modes_cap")
MODEL_OUTPUTS = ("x_class", "x_layers", "x_classic", "x_style", "x_note", "tr_note")
TICK_OUTPUTS = (*TRAIN_OUTPUTS, *THEORY_OUTPUTS, *MODEL_OUTPUTS)
CHARTS = ("loss_plot", "d_plot", "q_cov", "q_dist")  # the Train tab's LinePlots (hidden when empty: Live._cleared)
HIDDEN = "hidden"  # a chart's way out of sight: kept in the page (visible=False would remove it; see Live._cleared)
# Two live streams per page. A message costs the server a few ms of Gradio's own work whatever it carries, and
# Gradio builds a new component, config and all, for every gr.skip() in it, so: the Train tab (status, grid,
# charts and quality) goes as one message at most every LIVE_EVERY seconds of steady training (a new state, run
# or slot at once), with what the page already shows in place of a skip (Live.resend); Theory and Explore, whose
# outputs are mostly visibility updates, go in their own stream when they change.
LIVE_GROUPS = {"train": TRAIN_OUTPUTS, "views": (*THEORY_OUTPUTS, *MODEL_OUTPUTS)}
LIVE_EVERY = {"train": 2.0, "views": 0.5}
RAW_GROUPS = ("train",)  # streams wired with postprocess=False: they send what the browser takes (Live.wire)
TOO_MANY_PAGES = ("**This page does not update live:** the server has as many pages open as it serves live "
                  "(GAN_MAX_PAGES). Everything else works; reload later for live updates.")
MAX_LIVE_S = 12 * 3600.0  # a page's live stream ends after this long (a reload starts a new one)
# A page that is gone without saying so (no heartbeat, so Gradio's unload never fires) stops reading its messages:
# each stream sends at least every KEEPALIVE_S, and ends once UNREAD_MAX or more of its session's messages have lain
# unread for GONE_S (a page that is loading, or slow for a while, reads them again well before).
KEEPALIVE_S, UNREAD_MAX, GONE_S = 20.0, 5, 45.0
PAGES_PER_CLIENT = 0.25  # the share of GAN_MAX_PAGES one client address may hold (a class behind one NAT: 25)
log = logging.getLogger("gan.demo")


def _client(request: Any) -> str:
    """The address a request came from: the first X-Forwarded-For hop behind a proxy (a Space), else the peer."""
    headers = getattr(request, "headers", None) or {}
    try:
        forwarded = headers.get("x-forwarded-for", "")
    except Exception:  # noqa: BLE001
        forwarded = ""
    if forwarded:
        return forwarded.split(",")[0].strip()
    return str(getattr(getattr(request, "client", None), "host", "") or "local")


def _is_skip(value: Any) -> bool:
    return isinstance(value, dict) and value == gr.skip()


class Live:
    """The live outputs of every page of one app (demo.page.Page owns it as `page.live`)."""

    def __init__(self, page: Any) -> None:
        self.page, self.manager, self.storage = page, page.manager, page.storage
        self.plots: dict[str, Any] = {}  # name -> the LinePlot component (set by the layout), for payloads
        self._closed: set[str] = set()  # sessions whose page closed: their live streams end
        self._streams: Counter[str] = Counter()  # session -> its live streams running now
        self._clients: Counter[str] = Counter()  # client address -> its live streams running now
        self.blocks: Any = None  # the app (demo/app.py sets it): its queue says whether a page reads its messages
        self._memo: OrderedDict[tuple, Any] = OrderedDict()  # (run, part, version, language, name) -> payload
        self._lock = threading.Lock()

    def closed(self, session: str) -> None:
        """The page of `session` closed (Gradio's unload): its live streams end."""
        with self._lock:
            self._closed.add(session)

    def tick(self, seen: dict | None, request: gr.Request = None, names: tuple = TICK_OUTPUTS) -> tuple:
        """Every live output of the page (TICK_OUTPUTS), each only when its part of a snapshot changed since this
        page last saw it (gr.skip() otherwise; outputs not in `names` are not looked at), and the page's new
        `seen`. The Train tab follows the watched run; the Theory and Explore tabs fall back on the shipped
        examples until the visitor has a run of their own."""
        seen, need = dict(seen or {}), set(names)
        owner = self.page.visitor(request)
        self.manager.seen(owner)
        run = self.manager.watched(owner)
        out = {name: gr.skip() for name in TICK_OUTPUTS}
        if need & set(TRAIN_OUTPUTS):
            self._train_parts(run, owner, seen, out, need)
        if need & set(THEORY_OUTPUTS):
            has_theory = run is not None and run.snapshot().theory
            self._theory_parts(run if has_theory else (self.manager.example("theory") or run), run, seen, out)
        if need & set(MODEL_OUTPUTS):
            self._model_parts(self.page.subject(run, "explore"), self.page.subject(run, "translate"), seen, out)
        return (*out.values(), seen)

    def wire(self, name: str, value: Any) -> Any:
        """A Train-tab value as the browser takes it, for the streams that skip Gradio's postprocess
        (RAW_GROUPS): the grid inline as a PNG data URL, text as gr.Markdown would send it."""
        if name == "grid" and isinstance(value, str):
            return self._inline(value)
        return inspect.cleandoc(value) if isinstance(value, str) else value

    @staticmethod
    def resend(names: tuple, values: list, shown: dict[str, Any]) -> list:
        """A raw group's message with each gr.skip() replaced by the value the page already shows (the same
        object, so Gradio's diff sends nothing for it), and `shown` brought up to date."""
        out = []
        for name, value in zip(names, values):
            if _is_skip(value) and name in shown:
                value = shown[name]
            elif isinstance(value, dict) and value.get("__type__") == "update":
                if "value" in value:
                    shown[name] = value["value"]  # sent again as a plain value: no new component, same visibility
            else:
                shown[name] = value
            out.append(value)
        return out

    def _inline(self, path: str) -> dict[str, Any]:
        """The picture at `path` as an image value with a data URL, encoded once for every viewer."""
        with self._lock:
            hit = self._memo.get(("inline", path))
        if hit is None:
            with open(path, "rb") as f:
                hit = {"url": "data:image/png;base64," + base64.b64encode(f.read()).decode("ascii")}
            self._remember(("inline", path), hit)
        return hit

    def _remember(self, key: tuple, value: Any) -> None:
        with self._lock:
            self._memo[key] = value
            while len(self._memo) > 64:
                self._memo.popitem(last=False)

    def stream(self, group: str) -> Any:
        """The live stream of one group of outputs (LIVE_GROUPS), started at page load: it looks at the snapshots
        every FAST seconds while a run is active (IDLE otherwise), runs the tick only when the page's mark
        (RunManager.page_mark) moved, and sends the group's outputs only when one of them changed, so a watching
        page costs one small message per published change and almost nothing in between. (Groups, not one
        stream: see LIVE_GROUPS.) It ends when the page closes (Page.bye) or after MAX_LIVE_S."""
        names = LIVE_GROUPS[group]

        async def stream(request: gr.Request = None) -> AsyncIterator[tuple]:
            session = getattr(request, "session_hash", None) or "local"
            client = _client(request)
            seen: dict = {}
            t0 = time.monotonic()
            most = len(LIVE_GROUPS) * settings.get("GAN_MAX_PAGES")
            with self._lock:  # keep queue slots for clicks, and for other clients
                full = self.running >= most or self._clients[client] >= max(len(LIVE_GROUPS),
                                                                            int(most * PAGES_PER_CLIENT))
                if not full:
                    self._streams[session] += 1
                    self._clients[client] += 1
            if full:
                if "status_line" in names:
                    yield (TOO_MANY_PAGES, *(gr.skip() for _ in names[1:]))
                return
            owner, mark, sent, shown = self.page.visitor(request), None, -math.inf, {}
            unread_since: float | None = None  # since when UNREAD_MAX messages or more lie unread
            try:
                while session not in self._closed and time.monotonic() - t0 < MAX_LIVE_S:
                    if self._unread(session) < UNREAD_MAX:
                        unread_since = None
                    elif unread_since is None:
                        unread_since = time.monotonic()
                    elif time.monotonic() - unread_since > GONE_S:
                        break
                    try:
                        now = self.manager.page_mark(owner)
                        # nothing new, or only more steps of the same run before this group's interval is up
                        if now == mark or (mark is not None and now[0] == mark[0]
                                           and time.monotonic() - sent < LIVE_EVERY[group]):
                            self.manager.seen(owner)
                            changed = []
                        else:
                            mark = now
                            *values, seen = self.tick(seen, request, names)
                            out = dict(zip(TICK_OUTPUTS, values))
                            changed = [self.wire(name, out[name]) if group in RAW_GROUPS else out[name]
                                       for name in names]
                    except Exception:  # noqa: BLE001 - a bad moment must not end the page's stream
                        log.warning("live update failed: %s", traceback.format_exc())
                        changed = []
                    news = any(not _is_skip(v) for v in changed)
                    if news or time.monotonic() - sent > KEEPALIVE_S:  # else a keepalive: what the page shows
                        changed = changed if news else [gr.skip()] * len(names)
                        sent = time.monotonic() if news else time.monotonic() - LIVE_EVERY[group]
                        if group in RAW_GROUPS:
                            changed = self.resend(names, changed, shown)
                        yield tuple(changed) if len(changed) > 1 else changed[0]
                    await asyncio.sleep(FAST if self.manager.active_runs() else IDLE)
            finally:
                with self._lock:
                    self._streams[session] -= 1
                    self._clients[client] -= 1
                    if self._clients[client] <= 0:
                        del self._clients[client]
                    if self._streams[session] <= 0:
                        del self._streams[session]
                        self._closed.discard(session)

        stream.__name__ = f"live_{group}"
        return stream

    def _unread(self, session: str) -> int:
        """Messages of `session` that its page has not read yet (Gradio 6.31 keeps them per session in
        Queue.pending_messages_per_session until the page's event stream reads them); 0 when unknown."""
        q = getattr(getattr(self.blocks, "_queue", None), "pending_messages_per_session", None)
        try:
            pending = q.get(session) if q is not None else None
            return pending.qsize() if pending is not None else 0
        except Exception:  # noqa: BLE001 - another Gradio: no page is ended on a guess
            return 0

    def sessions(self) -> set[str]:
        """Sessions whose page has a live stream running now."""
        with self._lock:
            return set(self._streams)

    @property
    def running(self) -> int:
        """Live streams running now (len(LIVE_GROUPS) per open page)."""
        return sum(self._streams.values())

    @staticmethod
    def _fresh(seen: dict, key: str, run: Any, part: str) -> bool:
        """Whether `part` of `run`'s snapshot is new to this page (and note it as seen)."""
        mark = (run.id, run.snapshot().part_version(part)) if run is not None else None
        if seen.get(key) == list(mark or []) or seen.get(key) == mark:
            return False
        seen[key] = list(mark) if mark else None
        return True

    def _train_parts(self, run: Any, owner: str, seen: dict, out: dict, need: set[str]) -> None:
        busy = words.t("s.busy", n=len(self.manager.active_runs()), most=self.manager.max_runs)
        example = None
        if run is None:  # until the visitor trains (or watches a run), the shipped example, labelled as such
            run = example = self.manager.example("explore")
        if run is None:
            text = present.status_line(None, busy=busy)
            if seen.get("status") is not None or seen.get("idle") != text:
                out.update(self._cleared(seen), status_line=text)
                seen.update(run=None, status=None, charts=None, grid=None, quality=None, idle=text)
            return
        snap = run.snapshot()
        yours = run.owner == owner
        if seen.get("run") != run.id or seen.get("yours") != yours:
            out.update(self._cleared(seen))
            seen.update(run=run.id, yours=yours, status=None, charts=None, grid=None, quality=None, idle=None,
                        cap=None)
        if "status_line" in need and self._fresh(seen, "status", run, "status"):
            status = dict(snap.status, **{k: self.storage.public(snap.status[k]) for k in ("error", "warning")
                                          if snap.status.get(k)})
            out["status_line"] = present.example_line(status, example.example, busy) if example is not None \
                else present.status_line(status, yours=yours)
            cap = words.advice("caption", snap.status.get("loss"))  # the chart captions follow the run's loss
            if seen.get("cap") != cap:
                out["charts_cap"], seen["cap"] = cap, cap
        if "loss_plot" in need and self._fresh(seen, "charts", run, "charts") and snap.charts:
            for name, payload in zip(("loss_plot", "d_plot"), self._charts(run.id, snap)):
                self._chart(out, seen, name, payload)
        if "grid" in need and self._fresh(seen, "grid", run, "grid") and snap.grid:
            out["grid"] = snap.grid
        if "q_summary" in need and self._fresh(seen, "quality", run, "quality") and snap.quality:
            quality = self._quality(run.id, snap)
            out.update({k: v for k, v in quality.items() if k not in CHARTS})
            for name in ("q_cov", "q_dist"):
                self._chart(out, seen, name, quality[name])

    def _theory_parts(self, shown: Any, run: Any, seen: dict, out: dict) -> None:
        snap = shown.snapshot() if shown is not None else None
        watched = run.snapshot() if run is not None else None  # the message changes with the state, not the step
        mark = [getattr(shown, "id", None), snap.part_version("theory") if snap else 0,
                (snap or watched).status.get("state") if (snap or watched) else None, bool(watched and watched.model)]
        if seen.get("theory") == mark:
            return
        seen["theory"] = mark
        if snap is None or not snap.theory:
            status = run.snapshot().status if run is not None else None
            model = run.snapshot().model if run is not None else {}
            out.update(self._theory_hidden(), t_status=present.theory_absent(model, status))
            return
        out.update(self._theory(shown.id, snap))
        if getattr(shown, "example", None):  # labelled as what it is: a shipped example, not the visitor's run
            out["t_status"] = f"{words.t('live.example_theory', name=shown.example)}\n\n{out['t_status']}"

    def _model_parts(self, explored: Any, translated: Any, seen: dict, out: dict) -> None:
        mark = [getattr(explored, "id", None), explored.snapshot().part_version("model") if explored else 0,
                getattr(translated, "id", None), translated.snapshot().status.get("state") if translated else None]
        if seen.get("model") == mark:
            return
        seen["model"] = mark
        model = explored.snapshot().model if explored is not None else {}
        views = model.get("explore") or []
        k = int(model.get("n_classes") or 0)
        note = words.t("live.example", name=explored.example) if getattr(explored, "example", None) else ""
        if "translate" in views:
            note = words.t("live.cyclegan")
        out.update(x_class=gr.update(visible=k > 0, maximum=max(k - 1, 1), value=0),
                   x_layers=gr.update(visible="w_latent" in views),
                   x_classic=gr.update(visible="interpolate" in views or not views),
                   x_style=gr.update(visible="mixing" in views),
                   x_note=gr.update(value=note, visible=bool(note)),
                   tr_note=self._translate_note(translated))

    @staticmethod
    def _translate_note(run: Any) -> str:
        if run is None or not run.snapshot().offers("translate"):
            return words.t("live.no_cyclegan")
        status = run.snapshot().status
        who = (words.t("live.who_example", name=run.example) if getattr(run, "example", None)
               else words.t("live.who_run", run=run.id))
        if run.active:  # the step moves on with every publish: the note would be stale at once
            return words.t("live.translating_now", who=who, data=status.get("dataset", ""))
        return words.t("live.translating", who=who, data=status.get("dataset", ""),
                       step=f"{int(status.get('step') or 0):,}")

    def _theory_hidden(self) -> dict[str, Any]:
        hide = gr.update(value=None, visible=False)
        return {"t_main": hide, "t_curves": hide, "t_main_cap": gr.update(visible=False),
                "t_curves_cap": gr.update(visible=False), "t_modes": gr.update(visible=HIDDEN),
                "t_modes_cap": gr.update(visible=False)}

    def _cleared(self, seen: dict) -> dict[str, Any]:
        """Every Train-tab output of the previous run, cleared. Charts are hidden rather than given None or an empty
        frame, after which Gradio 6.31 logs Vega's "Infinite extent" warnings and the chart's resize observer throws
        "Cannot read properties of null (reading 'offsetWidth')" in the page; each shows again with its next frame
        (`_chart`). Hidden as HIDDEN, not removed: a removed chart's leftover resize observers throw the same."""
        drew = [name for name in CHARTS if seen.get(f"shows:{name}")]  # the others are hidden or still empty
        seen.update({f"shows:{name}": False for name in drew})
        return {**{name: gr.update(visible=HIDDEN) for name in drew}, "grid": None,
                "q_warning": gr.update(value="", visible=False), "q_summary": "", "sample_image": None,
                "sample_file": None}

    @staticmethod
    def _chart(out: dict, seen: dict, name: str, payload: Any) -> None:
        """A Train-tab chart's next value into `out`: hidden while it has nothing to draw (never None or an empty
        frame once it drew: see _cleared), shown again with its next frame, else plain values. seen["shows:<name>"]:
        None while the chart is as the page built it (empty), True once it drew, False while hidden."""
        key = f"shows:{name}"
        if payload is None:
            if seen.get(key):
                seen[key] = False
                out[name] = gr.update(visible=HIDDEN)
            return
        out[name] = gr.update(value=payload, visible=True) if seen.get(key) is False else payload
        seen[key] = True

    def _payload(self, key: tuple, plot: str, frame: Any) -> Any:
        """A chart's value, postprocessed once per snapshot part and language, and shared by every viewer."""
        key = (*key, words.current())  # the legends are in the page's language
        with self._lock:
            hit = self._memo.get((*key, plot))
        if hit is None:
            component = self.plots.get(plot)
            df = frame()
            if df.empty:  # never an empty frame: it leaves a chart unable to draw (see PLOT in demo/tabs/__init__.py)
                return None
            if words.current() != "en":
                df = df.assign(series=[words.say(s) for s in df["series"]])
            hit = component.postprocess(df).model_dump() if component is not None else df
            if component is not None and Fragment is not None:  # its rows as one leaf (see the module's note)
                hit["data"] = Fragment(dumps(hit["data"]))
            self._remember((*key, plot), hit)
        return hit

    def _charts(self, run_id: str, snap: Any) -> tuple[Any, Any]:
        key = (run_id, "charts", snap.part_version("charts"))
        charts = list(snap.charts.values()) + [{}, {}]
        return (self._payload(key, "loss_plot", lambda: present.long_frame(charts[0])),
                self._payload(key, "d_plot", lambda: present.long_frame(charts[1])))

    def _quality(self, run_id: str, snap: Any) -> dict[str, Any]:
        q = snap.quality
        key = (run_id, "quality", snap.part_version("quality"))
        frames = {}

        def frame(i: int):
            if "f" not in frames:
                frames["f"] = present.quality_frames(q.get("rows") or [])
            return frames["f"][i]
        warn = q.get("warning")
        return {"q_warning": gr.update(value=words.t("q.collapse") + words.say(warn) if warn else "",
                                       visible=bool(warn)),
                "q_summary": self.storage.public(present.quality_summary(q, snap.status.get("dataset"))),
                "q_cov": self._payload(key, "q_cov", lambda: frame(0)),
                "q_dist": self._payload(key, "q_dist", lambda: frame(1))}

    def _theory(self, run_id: str, snap: Any) -> dict[str, Any]:
        th = snap.theory
        if not th:
            return {**self._theory_hidden(), "t_status": present.theory_absent(snap.model, snap.status)}
        main_cap, curves_cap = present.theory_captions(th, snap.status.get("loss"))
        rows = (snap.quality or {}).get("rows") or []
        has_modes = any(r.get("n_modes") for r in rows)
        key = (run_id, "theory", snap.part_version("theory"))
        return {"t_status": present.theory_headline(th, snap.status),
                "t_main": gr.update(value=th["main"], visible=True), "t_main_cap": gr.update(value=main_cap, visible=True),
                "t_curves": gr.update(value=th["curves"], visible=True),
                "t_curves_cap": gr.update(value=curves_cap, visible=True),
                # hidden, never given None, when it has nothing to draw (see _cleared)
                "t_modes": gr.update(value=self._payload(key, "t_modes", lambda: present.modes_frame(rows)),
                                     visible=True) if has_modes else gr.update(visible=HIDDEN),
                "t_modes_cap": gr.update(value=words.t("th.cap.modes"), visible=has_modes)}


__all__ = ["FAST", "LIVE_GROUPS", "Live", "TICK_OUTPUTS"]
