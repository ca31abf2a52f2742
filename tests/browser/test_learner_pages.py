"""Issue 29, a learner's first hour, on the page (headless Chromium): on a phone every tab is in reach and a picture
stays in view while its controls move; a refused zip leaves the Dataset dropdown usable; the Checkpoints tab picks a
row on click, shows whole names, answers beside its buttons, refreshes its list, asks before deleting and can stop
a run; Explore fills StyleGAN's panels on arrival and redraws them with the class. The walk through every tab is
tests/browser/test_walk.py; the server-side halves are in tests/demo/test_learner_views.py."""
import shutil
from pathlib import Path

import pytest

from tests.browser import numbers_follow
from tests.helpers import ROOT, img_src, serve_app, wait_until

from demo.runs.manager import RunManager  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")]
EXAMPLES = Path(ROOT) / "checkpoints" / "examples"
TABS = ("Train", "Explore", "Theory", "Translate", "Checkpoints")



def app_with_examples(tmp_path, *names: str) -> RunManager:
    """A RunManager over a fresh folder holding the named shipped examples (all of them without names)."""
    root = tmp_path / "ckpt"
    (root / "examples").mkdir(parents=True)
    for p in EXAMPLES.glob("*"):
        if not names or p.stem in names:
            shutil.copy(p, root / "examples" / p.name)
    manager = RunManager(max_runs=1, checkpoint_dir=root, autosave_every=0, chunk_runner=None)
    manager.load_examples()
    return manager


def open_page(browser, url: str, width: int = 1400, height: int = 900):
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="domcontentloaded")
    page.locator("#train-btn").wait_for(timeout=30_000)
    page.errors = errors
    return page


def cell(table, text: str):
    """The list's cell showing `text` (its innermost element)."""
    return table.get_by_text(text, exact=True).last


def in_view(page, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    height = page.viewport_size["height"]
    return box is not None and box["y"] >= -1 and box["y"] + box["height"] <= height + 1


# ---- 8: phones ----------------------------------------------------------------------------------------------

def test_on_a_phone_every_tab_is_in_reach_and_a_picture_stays_beside_its_sliders(browser, tmp_path):
    manager = app_with_examples(tmp_path, "digits-dcgan")
    wait_until(lambda: manager.example("explore"), what="the example to publish")
    with serve_app(manager) as (url, _):
        page = open_page(browser, url, 390, 844)
        for name in TABS:  # none hidden behind an overflow menu
            assert page.get_by_role("tab", name=name).is_visible(), name
        # the run's grid comes right after the form's buttons, not ~1,600 px down
        assert page.locator("#grid").bounding_box()["y"] < 1.5 * 844
        page.get_by_role("tab", name="Explore").click()
        wait_until(lambda: img_src(page, "x-image"), what="an image on Explore")
        for slider in ("pc1", "pc8"):  # whichever slider is in reach, the image is in view too, above it
            page.locator(f"#{slider}").scroll_into_view_if_needed()
            page.wait_for_timeout(300)
            assert in_view(page, "#x-image") and in_view(page, f"#{slider}"), slider
            image, moved = (page.locator(s).bounding_box() for s in ("#x-image", f"#{slider}"))
            assert image["y"] + image["height"] <= moved["y"] + 1
        page.get_by_role("tab", name="Checkpoints").click()
        page.locator("#c-table").wait_for(timeout=10_000)
        assert not page.errors
        page.close()


# ---- 9: a refused zip -------------------------------------------------------------------------------------------

def test_a_refused_zip_says_why_and_leaves_the_dataset_dropdown_usable(browser, tmp_path):
    bad = tmp_path / "holiday.zip"
    bad.write_text("not a zip at all")
    manager = RunManager(max_runs=1, checkpoint_dir=tmp_path / "ckpt", autosave_every=0, chunk_runner=None)
    with serve_app(manager) as (url, _):
        page = open_page(browser, url)
        page.get_by_role("button", name="Your own images: upload a zip").click()
        page.locator("#zip-upload input[type=file]").set_input_files(str(bad))
        notice = page.locator("#notice")
        wait_until(lambda: "not a readable zip" in notice.inner_text(), what="the refusal in the notice")
        assert "holiday.zip" in notice.inner_text()
        dataset = page.get_by_label("Dataset", exact=True)
        box = dataset.bounding_box()
        on_top = page.evaluate("([x, y]) => document.elementFromPoint(x, y).tagName",
                               [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
        assert on_top == "INPUT"  # no error badge over it
        dataset.click()
        page.get_by_role("option", name="ring8", exact=True).click()
        wait_until(lambda: dataset.input_value() == "ring8", what="the dropdown to take a click")
        assert not page.errors
        page.close()


# ---- 11: the Checkpoints tab ------------------------------------------------------------------------------------

def test_the_checkpoints_tab_picks_shows_answers_refreshes_asks_and_stops(browser, tmp_path):
    manager = app_with_examples(tmp_path, "digits-dcgan", "ring8-toy", "digits2colordigits-cyclegan")
    with serve_app(manager) as (url, _):
        page = open_page(browser, url, 1400, 800)
        page.get_by_role("tab", name="Checkpoints").click()
        table, choice, notice = page.locator("#c-table"), page.locator("#c-choice input"), page.locator("#c-notice")
        wait_until(lambda: "examples/ring8-toy.pt" in table.inner_text(), what="the list")

        def pick(name: str, what: str) -> None:
            """Click the row until the picker shows it: the list is redrawn when the tab opens and after each
            action, and a click that lands while it redraws is lost (about one run in three, on 2 cores)."""
            def picked() -> bool:
                if choice.input_value() != name:
                    cell(table, name).click()
                    page.wait_for_timeout(500)
                return choice.input_value() == name
            wait_until(picked, what=what)

        longest = "examples/digits2colordigits-cyclegan.pt"
        pick(longest, "the row's name in the picker")  # a click on a row picks it
        assert choice.evaluate("e => e.scrollWidth <= e.clientWidth + 1")  # the whole name shows

        pick("examples/ring8-toy.pt", "the second pick")
        page.locator("#c-load").click()
        wait_until(lambda: "Loading" in notice.inner_text(), what="the load's answer")
        assert in_view(page, "#c-notice")  # beside the buttons, not at the top of the tab

        wait_until(lambda: not any(r.active for r in manager.runs()), what="the loaded run to be ready")
        pick("examples/digits-dcgan.pt", "the third pick")
        page.locator("#c-resume").click()
        wait_until(lambda: "resuming" in notice.inner_text(), what="load and resume")
        wait_until(lambda: manager.runs()[-1].status()["state"] == "running", what="the resumed run to train")
        page.locator("#c-stop").click()  # Stop is on this tab too
        wait_until(lambda: "Stopped at step" in notice.inner_text(), timeout=60, what="the stop")
        saved = manager.runs()[-1].checkpoint
        wait_until(lambda: saved.name in table.inner_text(), what="the list to show the new checkpoint")

        pick(saved.name, "the new checkpoint picked")
        page.locator("#c-delete").click()
        page.locator("#c-confirm").wait_for(state="visible", timeout=10_000)
        assert saved.exists() and saved.name in page.locator("#c-confirm").inner_text()  # asked, not done
        page.locator("#c-no").click()
        page.locator("#c-confirm").wait_for(state="hidden", timeout=10_000)
        assert saved.exists()
        page.locator("#c-delete").click()
        page.locator("#c-yes").click()
        wait_until(lambda: not saved.exists() and saved.name not in table.inner_text(), what="the delete")
        assert "Deleted" in notice.inner_text() and not page.errors
        page.close()


# ---- 5: StyleGAN's panels on arrival ------------------------------------------------------------------------------

def test_explore_fills_the_style_panels_on_arrival_and_redraws_them_with_the_class(browser, tmp_path):
    manager = app_with_examples(tmp_path, "digits-stylegan", "digits-dcgan")
    with serve_app(manager) as (url, _):
        page = open_page(browser, url)
        page.get_by_role("tab", name="Checkpoints").click()
        cell(page.locator("#c-table"), "examples/digits-stylegan.pt").click()
        wait_until(lambda: page.locator("#c-choice input").input_value() == "examples/digits-stylegan.pt",
                   what="the pick")
        page.locator("#c-load").click()
        wait_until(lambda: "Loading" in page.locator("#c-notice").inner_text(), what="the load")
        page.get_by_role("tab", name="Explore").click()
        panels = ("x-image", "m-grid", "v-strip", "v-std", "zw-z", "zw-w")
        wait_until(lambda: all(img_src(page, p) for p in panels), what="every panel drawn without a click")
        assert page.locator("#m-cross input[type=number]").input_value() == "3"  # default_crossover, not 2
        before = {p: img_src(page, p) for p in ("v-strip", "zw-z")}
        page.locator("#x-class input[type=range]").fill("5")
        wait_until(lambda: all(img_src(page, p) != before[p] for p in before),
                   what="the noise and interpolation strips to follow the class")
        assert not page.errors
        page.close()


# ---- 15: the console ------------------------------------------------------------------------------------------

def test_runs_one_after_another_leave_no_error_in_the_console(browser, tmp_path):
    """A new run used to clear the charts with None (and a dataset without a chart's numbers left it empty): Vega
    logged "Infinite extent" warnings and the charts' resize observers threw in the page at each run start."""
    manager = RunManager(max_runs=1, checkpoint_dir=tmp_path / "ckpt", autosave_every=0, chunk_runner=None)
    with serve_app(manager, defaults={"dataset": "ring8", "batch_size": 64, "width": 16}) as (url, _):
        page = open_page(browser, url)
        warnings: list[str] = []
        page.on("console", lambda m: warnings.append(m.text) if "Infinite extent" in m.text else None)
        status = page.locator("#status-line")
        for dataset, watch in (("ring8", "Theory"), ("gaussian1d", "Train")):
            page.get_by_role("tab", name="Train").click()
            if page.get_by_label("Dataset", exact=True).input_value() != dataset:
                page.get_by_label("Dataset", exact=True).click()
                page.get_by_role("option", name=dataset, exact=True).click()
                wait_until(lambda: numbers_follow(page, dataset), what=f"the numbers to follow {dataset}")
            page.locator("#train-btn").click()
            wait_until(lambda: "running" in status.inner_text() and dataset in status.inner_text(),
                       what=f"{dataset} to train")
            page.get_by_role("tab", name=watch).click()
            page.wait_for_timeout(8000)  # the charts fill (on a tab out of sight, for ring8)
            page.get_by_role("tab", name="Train").click()
            page.locator("#stop-btn").click()
            wait_until(lambda: "stopped" in status.inner_text(), timeout=60, what="the stop")
        page.wait_for_timeout(2000)
        assert not page.errors and not warnings, (page.errors, warnings[:3])
        page.close()
