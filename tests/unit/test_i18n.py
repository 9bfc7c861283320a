"""Choosing the web app's language from Accept-Language; every text has both languages."""
from __future__ import annotations

import pytest

from chalicelib.web import i18n


@pytest.mark.parametrize("header, lang", [
    (None, "zh"), ("", "zh"), ("fr-FR,de;q=0.8", "zh"), ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
    ("en", "en"), ("en-US;q=0.9", "en"), ("en-US;q=0.9, zh-CN;q=0.8", "en"), ("zh;q=0.5, en-GB;q=0.6", "en"),
    ("fr, en;q=0.7, zh;q=0.7", "en"), ("zh;q=0.7, en;q=0.7", "zh"), ("en;q=0, zh;q=0.1", "zh"),
    ("en;q=banana", "zh"), ("EN-us", "en"), ("*", "zh")])
def test_choose_prefers_the_browsers_highest_language_and_defaults_to_chinese(header, lang):
    assert i18n.choose(header) == lang


def test_every_text_is_there_in_both_languages_with_the_same_placeholders():
    import string
    fields = lambda text: {name for _, name, _, _ in string.Formatter().parse(text) if name}  # noqa: E731
    for key, (zh, en) in i18n.TEXT.items():
        assert zh and en and fields(zh) == fields(en), key


def test_words_pick_one_side_and_unknown_labels_show_as_they_are():
    english = i18n.Words("en")
    assert english.linked_as.format(member="A") == "Linked as A"
    assert english.name(i18n.DELIVERY_STATES, "unbound") == "not linked" and english.name(i18n.TIMELINE, "x") == "x"
    assert i18n.Words("zh").click("silence", 120) == "屏蔽 120 分钟"
    with pytest.raises(AttributeError):
        english.no_such_text  # noqa: B018
