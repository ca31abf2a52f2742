"""Bad values through the launched app's API, as strangers on a public Space would send them: each gets a clear
message naming the value (through gradio_client, through the page's handler, and as raw calls with NaN,
Infinity, huge numbers, strings, lists and files that were never uploaded, on every named endpoint), and a
running run is left alone."""

import pytest

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client  # noqa: E402

from tests.helpers import OPAQUE, RING, TRAIN_FORM, call, client, poll_status, train_and_stop  # noqa: E402
from demo.page import Page  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")
TRAIN = TRAIN_FORM  # the /train form's values: a small ring8 run with BCE
poll = poll_status  # /status until cond(status)


BAD_VALUES = [  # refusals speak the Train form's words (its boxes' labels, with the API's parameter names)
    ("lr", "nan", "The learning rate (lr) must be a finite number"),
    ("lr", "inf", "The learning rate (lr) must be a finite number"),
    ("lr", -0.01, "The learning rate (lr) must be more than 0"),
    ("lr", 0, "The learning rate (lr) must be more than 0"),
    ("lr", 1e300, "The learning rate (lr) must be at most 1"),
    ("lr", "fast", "The learning rate (lr) must be a number"),
    ("batch_size", 0, "The batch size (batch_size) must be at least 1"),
    ("batch_size", -5, "The batch size (batch_size) must be at least 1"),
    ("batch_size", 1e12, "The batch size (batch_size) must be at most 65536"),
    ("batch_size", 2.5, "The batch size (batch_size) must be a whole number"),
    ("batch_size", "many", "The batch size (batch_size) must be a whole number (you gave 'many')"),
    ("width", 0, "The width must be at least 1"),
    ("width", 10**9, "The width must be at most 4096"),
    ("z_dim", "nan", "The z dimensions (z_dim) must be a finite number"),
    ("seed", -1, "The seed must be at least 0"),
    ("seed", "x", "The seed must be a whole number (you gave 'x')"),
    ("dataset", "cifar99", "unknown dataset 'cifar99'"),
    ("dataset", "folder:/etc", "folder datasets come from uploads"),  # a raw folder:PATH is refused from outside
    ("dataset", "upload:etc-0123abcd", "no upload named 'upload:etc-0123abcd' among yours"),
    ("model", "stylegan9", "not in the list of choices"),
    ("loss", "magic", "not in the list of choices"),
    # a batch too large for memory: refused from an estimate, before any thread or allocation
    ("batch_size", 65536, "per training step; this server allows"),
]


@pytest.mark.slow
def test_bad_values_get_a_clear_message_and_leave_the_running_run_alone(clean):
    url, manager, _ = clean
    alice, bob = Client(url, verbose=False), Client(url, verbose=False)
    alice.predict(**TRAIN, api_name="/train")
    st0 = poll(alice, lambda s: s["state"] == "running" and s["step"] >= 3, what="alice's run")
    runs_before = len(manager.runs())
    for key, value, words in BAD_VALUES:
        args = {**TRAIN, key: value}
        if words.startswith("per training step"):
            args.update(dataset="digits", model="dcgan", width=4096)  # a wide dcgan (the mlp has no width)
        for who in ((bob, alice) if key in ("lr", "dataset") else (bob,)):  # bad values come before "busy"
            with pytest.raises(Exception) as e:
                who.predict(**args, api_name="/train")
            assert words in str(e.value), (key, value, str(e.value))
    assert len(manager.runs()) == runs_before  # no run was created for any of them
    st1 = poll(alice, lambda s: s["step"] > st0["step"], what="alice's run to go on")
    assert st1["run_id"] == st0["run_id"] and st1["state"] == "running" and st1["error"] is None


def test_bad_values_through_the_handler_itself(clean):
    """NaN and inf floats cannot travel as JSON, but a handler called with them refuses them too."""
    url, manager, _ = clean
    h = Page(manager)
    n = len(manager.runs())
    import gradio as gr
    for kw in ({"lr": float("nan")}, {"lr": float("inf")}, {"batch_size": float("nan")}, {"width": -1.0}):
        args = {**TRAIN, **kw}
        with pytest.raises(gr.Error):
            h.train.train(args["dataset"], args["model"], args["loss"], args["batch_size"], args["lr"], args["seed"],
                    args["z_dim"], args["width"])
    assert len(manager.runs()) == n



# ---- the shared-mode app, raw calls (conftest.srv) --------------------------------------------------------
NAN, INF = float("nan"), float("inf")


@pytest.mark.slow
def test_seeds_and_numbers_out_of_range_nan_inf_strings_lists_get_clear_messages(srv):
    a = client(srv.url)
    train_and_stop(a)
    s = a.session_hash
    generate = [0, 0, 0, 0, 0, 0, 0, 0, 0, 1.0, 0, "principal"]
    targets = [("generate", 0, generate, "seed"), ("interpolate", 0, [1, 2, 8, 1.0, 0], "seed_a"),
               ("interpolate", 1, [1, 2, 8, 1.0, 0], "seed_b"), ("sample", 1, [4, 0], "seed"),
               ("train", 5, list(RING.values()), "seed"), ("sample", 0, [4, 0], "n"),
               ("generate", 3, generate, "d3"), ("generate", 9, generate, "truncation"),
               ("train", 3, list(RING.values()), "batch_size"), ("train", 4, list(RING.values()), "lr")]
    for api, i, base, name in targets:
        seed = "seed" in name
        for bad in ([2**64, 2**70, -1] if seed else [2**70]) + [NAN, INF, -INF, "abc", [1, 2], {"x": 1}]:
            data = list(base)
            data[i] = bad
            kind, msg = call(srv.url, api, data, session=s)
            assert kind == "error", (api, name, bad, kind, msg)
            words = {"lr": "learning rate"}.get(name, name.replace("_", " "))  # /train speaks the form's words
            assert msg and OPAQUE not in msg and (name in msg or words in msg.lower()), (api, name, bad, msg)
            assert "Overflow" not in msg and "cannot convert" not in msg, msg
    assert a.predict(api_name="/status")["state"] == "stopped"


FUZZ = [-1, 1e308, 2**64, NAN, INF, "", None, "abc", [1, 2], {"a": 1}, True, "x" * 5000, "../../etc/passwd.pt"]


FILE_FUZZ = [{"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}},
             {"path": "../../etc/passwd", "meta": {"_type": "gradio.FileData"}},
             {"url": "http://127.0.0.1:9/x.pt", "path": "x.pt", "meta": {"_type": "gradio.FileData"}}]


PROBLEM_WORDS = ("must", "not", "no ", "unknown", "choices", "minimum", "maximum", "only", "busy", "already",
                 "upload", "empty", "nothing", "quota", "number", "file")


@pytest.mark.slow
def test_every_named_endpoint_survives_bad_values_with_clear_messages(srv):
    m = srv.manager
    c = client(srv.url)
    endpoints = c.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert len(endpoints) >= 20 and {"/train", "/generate", "/upload", "/download"} <= set(endpoints)
    session = c.session_hash
    name = train_and_stop(c)
    m.limits.steps = 40  # a /train that succeeds ends by itself
    own_ckpt = str(srv.storage.find(session, name))
    for api, info in endpoints.items():
        params = info["parameters"]
        defaults = list(RING.values()) + [None] * (len(params) - len(RING)) if api == "/train" else [  # ring8: quick
            p.get("parameter_default") if p.get("parameter_has_default") else
            (name if p["parameter_name"] == "name" else None) for p in params]
        trials = [(None, None, defaults)] if not params else []
        for i, p in enumerate(params):
            values = FUZZ + (FILE_FUZZ + [{"path": own_ckpt, "meta": {"_type": "gradio.FileData"}}]
                             if p["python_type"]["type"] == "filepath" else [])
            trials += [(p, v, defaults[:i] + [v] + defaults[i + 1:]) for v in values]
        # every call must answer (a hang fails at call()'s 60 s timeout); how fast is the machine's business
        base_kind, base_out = call(srv.url, api, defaults, session=session)  # the sane call
        assert base_kind in ("complete", "error") and (base_kind == "complete" or base_out and OPAQUE not in base_out)
        for p, value, data in trials:
            pname = p["parameter_name"] if p else ""
            kind, out = call(srv.url, api, data, session=session)
            assert kind in ("complete", "error"), (api, pname, value, kind, out)
            if kind == "error":
                assert out and OPAQUE not in out, f"{api} {pname}={str(value)[:80]}: opaque error"
                if out != base_out:  # refused because of this value (not as the sane call is): say so
                    if p and p["python_type"]["type"] in ("int", "float"):  # by name, or by its box on the form
                        words = {"lr": "learning rate"}.get(pname, pname.replace("_", " "))
                        assert pname in out or words in out.lower(), (api, pname, value, out)
                    low = out.lower()
                    assert pname in low or any(w in low for w in PROBLEM_WORDS), (api, pname, out)
            elif p and p["python_type"]["type"] == "filepath" and isinstance(value, dict):
                pytest.fail(f"{api} accepted a file that was never uploaded: {value}")
            if m.active_runs():
                m.shutdown(5)
    assert client(srv.url).predict(api_name="/status")["state"] in ("idle", "stopped")  # still up
    assert c.predict(api_name="/checkpoints")  # and still serving this visitor
