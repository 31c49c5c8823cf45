"""Content classes: runs that cover the text, and the class that says what it is (the key
token counts are calibrated by)."""

from hypothesis import given
from hypothesis import strategies as st

from agentqueue.core.llm.text_classes import CLASSES, class_chars, dominant_class, runs


@given(st.text())
def test_runs_cover_the_text_in_order(text: str) -> None:
    assert "".join(run for _, run in runs(text)) == text
    assert all(kind in CLASSES for kind, _ in runs(text))


def test_each_script_is_its_own_class() -> None:
    assert dominant_class("Привет, как дела?") == "cyrillic"
    assert dominant_class("北京今天的天气怎么样") == "chinese"
    assert dominant_class("ありがとうございます") == "japanese"
    assert dominant_class("東京都の明日の天気予報を教えてください") == "japanese"
    assert dominant_class("안녕하세요 반갑습니다") == "hangul"
    assert dominant_class("สวัสดีครับ") == "thai"
    assert dominant_class("مرحبا بالعالم") == "arabic"
    assert dominant_class("नमस्ते दुनिया") == "indic"
    assert dominant_class("The quick brown fox") == "latin"
    assert dominant_class("") == "latin"
    assert dominant_class("def f(x):\n        return x  # note\n") == "latin"
    assert dominant_class('{"a": [1, 2], "b": {"c": null}}') == "punct"


def test_blobs_are_not_words() -> None:
    uuid = "9f1c2d3e-4b5a-6c7d-8e9f-0a1b2c3d4e5f"
    assert class_chars(uuid) == {"hex": len(uuid)}
    blob = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    assert class_chars(blob) == {"base64": len(blob)}
    assert "hex" not in class_chars("deadline")  # a word, not hex
