"""A check in front of Gradio's own input components, so that every value an API caller sends gets a clear
message naming the input.

Gradio's Number and Slider fail on values they cannot compare or round (a string, a list, NaN or infinity
for a whole number), and a File fails on anything that is not an uploaded file; all of these reach the
caller as Gradio's opaque "The upstream Gradio app has raised an exception". `guard_inputs(demo)` checks
those values first (with gan.errors.parse_number, the one number parser) and turns any other failure to
read the inputs into a gr.Error. Handlers still check ranges and meanings themselves.

Images (Image, Sketchpad, ImageEditor) are checked by their declared size, read from the file's header, before
Gradio decodes them: a 164 KB PNG can declare 13000 x 13000 px, which decoded takes 1.5 GB.
"""
from __future__ import annotations

import inspect
import re
from typing import Any

import gradio as gr
from gradio.exceptions import InvalidPathError
from PIL import Image

from gan import settings
from gan.errors import ConfigError, parse_number

from . import words

MAX_TEXT = 4096  # the longest text any input takes (a name, a list of seeds): longer is refused unread
MAX_SIDE = 4096  # the longest side of an image any handler takes (a drawing, an upload to translate)
IMAGE_BLOCKS = (gr.Image, gr.ImageEditor)  # gr.Sketchpad is an ImageEditor

NOT_UPLOADED = ("{name}: only a file uploaded to this app can be used (upload it first; gradio_client: "
                "handle_file(path))")


def _names(block_fn: Any) -> list[str]:
    """The handler's parameter names, in the order of its inputs (the names the API lists)."""
    try:
        params = inspect.signature(block_fn.fn).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.name not in ("self", "request") and p.kind in
            (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def checked(name: str, block: Any, value: Any) -> Any:
    """`value` as Gradio's component can read it, or gr.Error naming `name` and what is wrong."""
    if isinstance(value, str) and len(value) > MAX_TEXT:  # never echoed back whole, in a reply or a log line
        raise gr.Error(words.t("in.too_long", name=name, n=f"{len(value):,}", most=f"{MAX_TEXT:,}"))
    if isinstance(block, (gr.Number, gr.Slider)):
        if isinstance(block, gr.Number) and block.precision is None and block.minimum is None \
                and block.maximum is None:
            return value  # Gradio passes anything on: the handler parses it (and knows whole-number fields)
        try:
            number = parse_number(name, value, lo=block.minimum, hi=block.maximum)
            if number is None and isinstance(block, gr.Slider):
                raise ConfigError(f"{name} must be a number, got {value!r}")
        except ConfigError as e:
            raise gr.Error(str(e)[:300]) from None
        return number
    if isinstance(block, gr.File) and value is not None:
        if not (isinstance(value, dict) and isinstance(value.get("path"), str)):
            raise gr.Error(words.t("in.not_file", name=name, got=repr(str(value)[:60])))
    return value


def _files(value: Any) -> list[str]:
    """The paths of every uploaded file in a component's value (an Image's FileData, an ImageEditor's
    background, layers and composite)."""
    if isinstance(value, dict):
        if isinstance(value.get("path"), str):
            return [value["path"]]
        return [p for v in value.values() for p in _files(v)]
    if isinstance(value, (list, tuple)):
        return [p for v in value for p in _files(v)]
    return []


def check_image_size(name: str, path: str) -> None:
    """gr.Error unless the image at `path` declares at most MAX_SIDE px a side and GAN_MAX_IMAGE_PIXELS pixels;
    only its header is read."""
    most = int(settings.get("GAN_MAX_IMAGE_PIXELS"))
    limits = words.t("in.limits", side=MAX_SIDE, most=f"{most:,}")
    try:
        with Image.open(path) as im:
            w, h = im.size
    except Image.DecompressionBombError as e:  # past PIL's own cap (set below): it names the pixel count
        declared = re.search(r"\((\d+) pixels\)", str(e))
        raise gr.Error(words.t("in.declares", name=name, n=f"{int(declared.group(1)) if declared else 0:,}",
                               limits=limits)) from None
    except (OSError, ValueError, SyntaxError):
        return  # not an image PIL reads: the component's own decoding says so
    if max(w, h) > MAX_SIDE or w * h > most:
        raise gr.Error(words.t("in.size", name=name, w=w, h=h, limits=limits))


def _optional_tail(block_fn: Any, given: int) -> int:
    """How many trailing inputs a call may leave out: those whose handler parameters have defaults (inputs added
    to an endpoint later, e.g. /train's r1, r2, pac), so a client written for the older endpoint still works."""
    missing = len(block_fn.inputs) - given
    if missing <= 0 or block_fn.fn is None:
        return 0
    try:
        params = [p for p in inspect.signature(block_fn.fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "request"]
    except (TypeError, ValueError):
        return 0
    tail = params[given:len(block_fn.inputs)]
    return missing if len(tail) == missing and all(p.default is not p.empty for p in tail) else 0


def guard_inputs(demo: gr.Blocks) -> gr.Blocks:
    """Check every event's inputs before Gradio's components read them (see the module's docstring)."""
    original = demo.preprocess_data
    names: dict[int, list[str]] = {}

    async def preprocess_data(block_fn: Any, inputs: list[Any], state: Any, explicit_call: bool = False) -> Any:
        if id(block_fn) not in names:
            names[id(block_fn)] = _names(block_fn)
        known = names[id(block_fn)]
        inputs = list(inputs) + [None] * _optional_tail(block_fn, len(inputs))
        for i, (block, value) in enumerate(zip(block_fn.inputs, inputs)):
            name = known[i] if i < len(known) else f"input {i + 1}"
            inputs[i] = checked(name, block, value)
            if isinstance(block, IMAGE_BLOCKS):
                for path in _files(value):
                    check_image_size(name, path)
        try:
            return await original(block_fn, inputs, state, explicit_call)
        except gr.Error:
            raise
        except InvalidPathError:
            raise gr.Error(NOT_UPLOADED.format(name=", ".join(known) or "file")) from None
        except Exception as e:  # noqa: BLE001 - any other input Gradio cannot read: say so, not "upstream error"
            expected = ", ".join(known) or "none"
            raise gr.Error(words.t("in.unreadable", api=block_fn.api_name or block_fn.name, n=len(block_fn.inputs),
                                   names=expected, error=type(e).__name__)) from None

    demo.preprocess_data = preprocess_data
    # and anything else PIL opens in this process (an image sent inline, a folder's file) stops at twice the cap
    Image.MAX_IMAGE_PIXELS = max(int(settings.get("GAN_MAX_IMAGE_PIXELS")) // 2, 1)
    return demo


class BodyCap:
    """ASGI middleware: a request body over `limit` bytes gets 413 before any handler reads it; on Gradio's upload
    route the cap is `upload_limit` (one file of GAN_MAX_UPLOAD_MB a request, not many)."""

    def __init__(self, app: Any, limit: int, upload_limit: int) -> None:
        self.app, self.limit, self.upload_limit = app, limit, upload_limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            return await self.app(scope, receive, send)
        upload = str(scope.get("path", "")).rstrip("/").endswith("/upload")
        limit, name = (self.upload_limit, "GAN_MAX_UPLOAD_MB") if upload else (self.limit, "GAN_MAX_REQUEST_KB")
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await send({"type": "http.response.start", "status": 413,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
            await send({"type": "http.response.body", "body": f"request body over {limit:,} bytes ({name})".encode()})
            return None
        seen = 0

        async def capped() -> dict:  # a body sent without a length: cut off past the cap
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            return {"type": "http.disconnect"} if seen > limit else message

        return await self.app(scope, capped, send)


__all__ = ["BodyCap", "MAX_SIDE", "check_image_size", "checked", "guard_inputs"]
