"""GAN Lab Live, the Gradio app: `python demo/app.py`, then open http://127.0.0.1:7860. It assembles the tabs
(demo/tabs/), wires the page's own events (load, live streams, unload) and launches; the API is in the README."""
from __future__ import annotations

import hashlib
import importlib.util
import os
import secrets
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # `python demo/app.py` from anywhere, e.g. on a Space
    sys.path.insert(0, str(HERE.parent))

import gradio as gr  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from demo.css import CSS, HEAD  # noqa: E402
from demo.inputs import BodyCap, guard_inputs  # noqa: E402
from demo.live import LIVE_GROUPS, RAW_GROUPS  # noqa: E402
from demo.page import Page  # noqa: E402
from demo.runs import zerogpu  # noqa: E402,F401 - defines the @spaces.GPU chunk function (ZeroGPU needs one at start)
from demo.runs.manager import RunManager  # noqa: E402
from demo.speak import I18N, L, speak  # noqa: E402
from demo.tabs import FAST, checkpoints, explore, theory, train, translate  # noqa: E402
from demo import words  # noqa: E402
from gan import settings  # noqa: E402

TITLE = words.t("app.title", "en")  # the browser tab's title (Gradio does not translate it)
INTRO = words.t("app.intro", "en")


def build_app(manager: RunManager | None = None, *, defaults: dict[str, Any] | None = None) -> gr.Blocks:
    """The whole page, bound to `manager` (a fresh RunManager by default). `defaults` overrides the Train
    controls' initial values (dataset, batch_size, width), e.g. for fast tests."""
    manager = manager or RunManager()
    page = Page(manager, key=_secret(manager.storage.root))
    c: dict[str, Any] = {}  # the components the page's own events need, by name (the live streams' outputs, ...)
    with gr.Blocks(title=TITLE, delete_cache=_cache_ttl()) as demo:
        gr.Markdown(L("app.header"))
        # Gradio serves BrowserState's `secret` in every page's config, so it only scrambles what the browser
        # keeps; what makes the kept id trustworthy is Page.sign, with the key that is never served
        visitor = gr.BrowserState(None, storage_key="gan-lab-visitor",
                                  secret=hashlib.sha256(page.key + b"browser-state").hexdigest()[:32])
        with gr.Tabs(overflow_behavior="wrap", elem_id="tabs") as c["tabs"]:  # wrap: every tab in reach on a phone
            train.build(page, c, defaults or {})
            explore.build(page, c)
            theory.build(page, c)
            translate.build(page, c)
            checkpoints.build(page, c)
        _wire_page(page, c, demo, visitor)
        guard_inputs(demo)  # API values Gradio's components cannot read get a clear message
        speak(demo)  # each event answers in its request's language (Accept-Language; demo/speak.py)
    demo.page = page  # for tests and benches
    return demo


def _wire_page(page: Page, c: dict[str, Any], demo: gr.Blocks, visitor: gr.BrowserState) -> None:
    """The page's own events: at load the visitor id (Page.hello), the checkpoint list, and the live streams;
    at unload Page.bye."""
    page.live.plots = {k: c[k] for k in ("loss_plot", "d_plot", "q_cov", "q_dist", "t_modes")}
    page.live.blocks = demo  # its queue tells a page that reads its messages from one that is gone
    hello = demo.load(page.hello, visitor, visitor, api_visibility="private")
    hello.then(page.files.table, None, c["c_table"], api_visibility="private").then(
        page.files.choices, None, c["c_choice"], api_visibility="private")
    # the page's live streams: each group of outputs, sent only when it changed (demo/live.py Live.stream)
    for group, names in LIVE_GROUPS.items():
        hello.then(page.live.stream(group), None, [c[k] for k in names], api_visibility="private",
                   postprocess=group not in RAW_GROUPS, **FAST)
    demo.unload(page.bye)


def _cache_ttl() -> tuple[int, int] | None:
    """Gradio keeps a copy of every uploaded file (zips, checkpoints) and every file a handler returns in its
    cache, forever unless told: those older than GAN_UPLOAD_TTL_S (2 h on a shared Space) are deleted too."""
    ttl = settings.get("GAN_UPLOAD_TTL_S")
    return (max(1, int(min(ttl, 600))), max(1, int(ttl))) if ttl else None


def _secret(root: Path) -> str:
    """The server's key that signs the visitor ids kept in browsers (stable across restarts, never served)."""
    path = Path(root) / ".visitor-secret"
    try:
        return path.read_text().strip() or _new_secret(path)
    except OSError:
        return _new_secret(path)


def _new_secret(path: Path) -> str:
    value = secrets.token_hex(16)
    try:
        path.write_text(value)
        os.chmod(path, 0o600)
    except OSError:
        pass
    return value


def queue_size() -> int:
    """Events that may wait to start at once: 10 per page served live (GAN_MAX_PAGES), far more than a class
    clicks at once. Given explicitly: on ZeroGPU (SPACES_ZERO_GPU=true) Gradio 6.31 otherwise lets one event
    wait (gradio/blocks.py `Blocks.queue`: `max_size = 1 if max_size is None`), and a second visitor's Train,
    pressed while another page's events were waiting, was refused with "Queue is full"."""
    return 10 * settings.get("GAN_MAX_PAGES")


def queue(demo: gr.Blocks, *, concurrency: int = 4) -> gr.Blocks:
    """demo.queue() with an explicit size (`queue_size`) and its idle polling slowed: Gradio 6.31's queue checks
    for work every 1 ms while it has none (about 40 ms of CPU per second on an idle server, found with py-spy);
    every 20 ms costs a fifth of that and adds at most 20 ms to an event. Progress updates are checked every 0.1 s
    instead of 0.01 s. Events that declare no limit run `concurrency` at a time; Train, Resume, Stop, /status
    and the live streams declare none, so every visitor's (and on ZeroGPU every visitor's GPU chunk) runs at
    once."""
    demo.queue(default_concurrency_limit=concurrency, max_size=queue_size())
    # Gradio wraps every step of a generator (the page's live streams) in `import matplotlib` twice; where it is
    # not installed, each failed import searches sys.path again (~9% of the app's CPU with pages open, py-spy).
    # Marked absent once, the import fails at once, as it would anyway.
    if importlib.util.find_spec("matplotlib") is None:
        sys.modules.setdefault("matplotlib", None)  # type: ignore[assignment]
    q = getattr(demo, "_queue", None)
    if q is not None and hasattr(q, "sleep_when_free"):
        q.sleep_when_free = max(q.sleep_when_free, 0.02)
        q.progress_update_sleep_when_free = max(getattr(q, "progress_update_sleep_when_free", 0.0), 0.1)
    return demo


def launch_kwargs(manager: RunManager) -> dict[str, Any]:
    """launch() settings shared by the script, the tests and the benches. No folder is an allowed path:
    every file a visitor downloads is returned by a handler, which Gradio copies into its own cache."""
    return dict(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
                i18n=I18N,  # the static texts in the browser's language (demo/words)
                max_file_size=f"{settings.get('GAN_MAX_UPLOAD_MB'):.0f}mb", css=CSS, head=HEAD,
                state_session_capacity=settings.get("GAN_MAX_SESSIONS"),
                app_kwargs={"middleware": [Middleware(  # one file of GAN_MAX_UPLOAD_MB per upload request, and 1 MiB
                    BodyCap, limit=int(settings.get("GAN_MAX_REQUEST_KB") * 1024),  # for the multipart framing
                    upload_limit=int((settings.get("GAN_MAX_UPLOAD_MB") + 1) * 2**20))]},
                # Gradio runs at most max_threads events at once, and each open page's live streams hold one
                # each, and on ZeroGPU its Train or Resume one more while its run trains or waits (demo/lend.py):
                # room for GAN_MAX_PAGES pages and 40 more for clicks (Gradio's default)
                max_threads=40 + (len(LIVE_GROUPS) + 1) * settings.get("GAN_MAX_PAGES"))


def main() -> None:
    manager = RunManager()
    manager.warm_up()  # torch's one-off lazy imports, off the first click's path
    manager.load_examples()  # what a visitor explores before training anything
    demo = queue(build_app(manager))
    try:
        demo.launch(**launch_kwargs(manager))
    finally:
        manager.shutdown()


if __name__ == "__main__":
    main()
