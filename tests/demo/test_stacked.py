"""Stacked sets in the launched app, through gradio_client: the Train form's loss, R1, R2 and PacGAN controls reach
the run (rpgan + R1 + R2 with packs of 2 on stacked-digits), a bad packing is refused, and the quality panel
reports modes of 1,000 and the mode KL."""
import time

import pytest

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client  # noqa: E402

from tests.helpers import poll_status, quick_meters, run_manager, serve_app  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")
TRAIN = dict(dataset="stacked-digits", model="auto", loss="rpgan", batch_size=16, lr=None, seed=0, z_dim=None,
             width=8)


@pytest.fixture
def stacked_app(tmp_path):
    """The app with quality scores every second from a small classifier, trained once here, so scores come within
    seconds; yields (url, manager)."""
    with quick_meters(tmp_path / "classifiers"):
        manager = run_manager(tmp_path / "ckpt")
        with serve_app(manager) as (url, _):
            yield url, manager


@pytest.mark.slow
def test_form_penalties_and_packing_reach_the_run_and_quality_shows_modes(stacked_app):
    url, manager = stacked_app
    client = Client(url, verbose=False)
    with pytest.raises(Exception, match="pac"):
        client.predict(**TRAIN, r1=1.0, r2=1.0, pac=0, api_name="/train")
    assert "Started" in client.predict(**TRAIN, r1=1.0, r2=0.5, pac=2, api_name="/train")
    poll_status(client, lambda s: s["state"] == "running" and s["step"] >= 2, timeout=60, what="the stacked run")
    cfg = manager.active_runs()[0].trainer.cfg
    assert (cfg.loss, cfg.r1, cfg.r2, cfg.pac, cfg.conditional) == ("rpgan", 1.0, 0.5, 2, False)
    assert cfg.lr is not None  # blank numbers took the dataset's defaults

    def scored():
        q = client.predict(api_name="/quality")
        return q if q["numbers"].get("n_modes") else None

    q, t0 = None, time.monotonic()
    while q is None and time.monotonic() - t0 < 90:
        q = scored()
        time.sleep(0.5)
    assert q is not None, "no quality score within 90 s"
    n = q["numbers"]
    assert n["n_modes"] == 1000 and 1 <= n["modes"] <= 1000 and n["mode_kl"] >= 0 and n["samples"] == 10_000
    from demo.present import quality_summary
    line = quality_summary(q)  # the panel's line
    assert f"modes {int(n['modes'])}/1000" in line and "mode KL" in line and "10,000 samples" in line
    client.predict(api_name="/stop")

    client.predict(**{**TRAIN, "loss": "bce"}, r1=None, r2=None, pac=None, api_name="/train")  # blanks: defaults
    poll_status(client, lambda s: s["state"] == "running" and s["step"] >= 1, timeout=60, what="the default run")
    cfg = manager.active_runs()[0].trainer.cfg
    from gan.family import train_defaults
    d = train_defaults("stacked-digits")
    assert (cfg.r1, cfg.r2, cfg.pac) == (d["r1"], d["r2"], d["pac"])
    client.predict(api_name="/stop")
