"""The page in the request's language (demo/speak.py) through gradio_client: a refusal comes in Chinese to a client
that sends `Accept-Language: zh-CN`, in English to one that sends none; notices follow the same header, and the
launched app serves both languages' static texts in its config."""
import re

import pytest

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client  # noqa: E402

from demo import words  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")
TRAIN = dict(dataset="ring8", model="auto", loss="bce", batch_size=32, lr=-1.0, seed=0, z_dim=None, width=32)
CJK = re.compile(r"[\u4e00-\u9fff]")


def refusal(client: Client, **kw) -> str:
    with pytest.raises(Exception) as e:
        client.predict(**{**TRAIN, **kw}, api_name="/train")
    return str(e.value)


def test_a_refusal_speaks_the_clients_language(served):
    zh = Client(served.url, verbose=False, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    en = Client(served.url, verbose=False)
    said = refusal(zh)
    assert "学习率" in said and "-1" in said and "must be" not in said
    assert "The learning rate (lr) must be more than 0" in refusal(en)
    assert not CJK.search(refusal(en))
    assert CJK.search(refusal(zh, batch_size="many"))  # another refusal of the form, in Chinese too
    # a notice (no run to stop is a refusal; Reset always answers)
    assert zh.predict(api_name="/reset") == words.t("n.reset", "zh-CN")
    assert en.predict(api_name="/reset") == words.t("n.reset", "en")


def test_the_config_carries_both_languages_and_keys_for_the_static_texts(served):
    config = served.app.config
    translations = config.get("i18n_translations") or {}
    assert set(translations) >= {"en", "zh-CN"}
    assert translations["zh-CN"]["tab.train"] == "训练" and translations["en"]["tab.train"] == "Train"
    labels = [str(c["props"].get("label")) for c in config["components"] if c["props"].get("label")]
    assert any("__i18n__" in label and '"train.lr"' in label for label in labels)
