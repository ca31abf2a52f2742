"""The page in Simplified Chinese: a browser whose language is zh-CN reads every tab's name, buttons, labels and
captions in Chinese (none of the Train tab's static texts left in English), and its notices, status line and chart
legends come in Chinese; a
visitor switching language in Gradio's Settings panel sees the page change without a reload (what Gradio 6.31
does, and does not, change then is in docs/i18n.md)."""
import re
import time

import pytest

from demo import present, words

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")]
LOSS = present.control_defaults("digits")["loss"]  # the served app's dataset: its loss's caption and help show
HIDDEN = {"train.resume_cpu", "train.status_idle", "train.model.for", "train.model.or", "train.model.sep",
          "train.coverage", "train.distance", "explore.class", "explore.class.info", "explore.layers",
          "explore.layers.info", "explore.mixing",
          "explore.rows", "explore.cols", "explore.cross", "explore.cross.info", "explore.each", "explore.each.info",
          "explore.mix", "explore.mix.grid", "explore.noise", "explore.draws", "explore.vary", "explore.same_w",
          "explore.spread", "explore.zw", "explore.zw.go", "explore.in_z", "explore.in_w", "theory.modes",
          "ckpt.yes", "ckpt.no", "hub.repo", "hub.share", "hub.source.placeholder"}  # hidden until needed (the
# quality charts until the first scores; Explore's StyleGAN views until a StyleGAN is explored)
ACCORDIONS = {"train": ("train.penalties", "train.upload", "train.pair", "train.loss_help", "train.replay",
                        "train.status_json"), "theory": ("theory.replay",)}
TABS = {"train": ("train.", "kind.", f"advice.caption.{LOSS}", f"advice.help.{LOSS}"), "explore": ("explore.",),
        "theory": ("theory.",), "translate": ("translate.",), "checkpoints": ("ckpt.", "hub.")}


def plain(text: str) -> str:
    """Markdown as the page shows it: no emphasis, headings, code marks or escapes; single spaces."""
    text = re.sub(r"\\(.)", r"\1", re.sub(r"[*`#]", "", text))
    return re.sub(r"\s+", " ", text).strip()


def keys_of(tab: str) -> list[str]:
    return [k for k in words.CATALOGUE if k.startswith(TABS[tab]) and k not in HIDDEN and "{" not in words.t(k, "en")]


def shown(page) -> str:
    return plain(page.inner_text("body"))


def test_a_chinese_browser_reads_every_tab_in_chinese(browser, served):
    page = browser.new_context(locale="zh-CN").new_page()
    page.goto(served.url)
    page.locator("#train-btn").wait_for(timeout=60_000)
    assert page.get_by_role("tab").all_inner_texts()[:5] == [words.t(f"tab.{t}", "zh-CN") for t in TABS]
    assert plain(words.t("app.title", "zh-CN")) in shown(page)
    # (trained before the Penalties accordion opens: opened, its blank PacGAN box reads 0, which Train refuses)
    page.locator("#train-btn").click()  # the run's notice, status line and chart legends in Chinese
    page.locator("#notice").get_by_text(words.t("n.started", "zh-CN", run="")[:4]).wait_for(timeout=30_000)
    legend = page.locator("#loss-plot g.role-legend-label text")
    legend.first.wait_for(timeout=60_000)
    labels = set(legend.evaluate_all("els => els.map(e => e.textContent)"))
    assert labels >= {words.say("D loss", "zh-CN"), words.say("G loss", "zh-CN")}, labels
    assert words.t("state.running", "zh-CN") in shown(page)
    for tab in TABS:
        page.get_by_role("tab", name=words.t(f"tab.{tab}", "zh-CN")).click()
        for key in ACCORDIONS.get(tab, ()):
            page.get_by_text(words.t(key, "zh-CN"), exact=True).click()
        deadline = time.monotonic() + 30  # the tab's texts arrive within a few hundred ms: read until all are there
        while True:
            text = shown(page)
            missing = [k for k in keys_of(tab) if plain(words.t(k, "zh-CN"))[:40] not in text]
            if not missing or time.monotonic() > deadline:
                break
            page.wait_for_timeout(100)
        assert not missing, f"{tab}: not shown in Chinese: {missing}"
        if tab == "train":  # none of its static texts left in English (a label, a button, an info, a caption)
            english = [k for k in keys_of(tab) if words.t(k, "en") != words.t(k, "zh-CN")
                       and re.search(rf"(?<![\w/-]){re.escape(plain(words.t(k, 'en'))[:40])}(?![\w-])", text)]
            assert not english, f"left in English on the Train tab: {english}"
            assert words.t("state.running", "zh-CN") in text  # the live status line, from the server, in Chinese
    page.get_by_role("tab", name=words.t("tab.train", "zh-CN")).click()
    page.locator("#reset-btn").click()  # a notice from the server follows the browser's language
    page.locator("#notice").get_by_text(words.t("n.reset", "zh-CN")).wait_for(timeout=20_000)
    page.context.close()


def test_the_settings_language_switch_changes_the_page_without_a_reload(browser, served):
    page = browser.new_context(locale="en-US").new_page()
    page.goto(served.url)
    page.locator("#train-btn").wait_for(timeout=60_000)
    assert page.locator("#train-btn").inner_text().strip() == "Train"  # the default locale is unchanged
    page.evaluate("window.__same_page = true")
    page.get_by_text("Settings", exact=True).click()
    page.get_by_role("combobox", name="Language").click()
    page.get_by_role("option", name="简体中文").click()
    page.locator("[role=dialog] button").first.click()  # closes the panel
    page.locator("#train-btn").get_by_text("训练").wait_for(timeout=10_000)
    assert page.evaluate("window.__same_page === true")  # no reload
    assert words.t("train.lr", "zh-CN") in shown(page)
    # Gradio 6.31 tells the server nothing of the switch: the server still answers in the browser's language
    page.locator("#reset-btn").click()
    page.locator("#notice").get_by_text(words.t("n.reset", "en")).wait_for(timeout=20_000)
    page.context.close()
