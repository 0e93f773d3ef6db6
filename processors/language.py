"""Article language from py3langid, a maintained langid.py port whose model ships in the wheel.

The result is an ISO 639-1 code, or "und" when the text is too short to tell. Text in a
non-Latin script is decided by its script first: it is cheaper and never mistakes kana for
Chinese. Latin-script text goes to the classifier, lower-cased so that wire headlines in
capitals ("NORTH KOREA SAYS ...") are not taken for another language. The classifier is
built once per process on first use, not at import.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from py3langid.langid import MODEL_FILE, LanguageIdentifier

# Script -> language, as Unicode block ranges; counted with one regex each (a per-character
# `unicodedata.name` loop cost more than the classifier).
_SCRIPTS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    ("ja", re.compile("[\u3040-\u30ff]")),  # hiragana, katakana
    ("ko", re.compile("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")),
    ("zh", re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")),
    ("ru", re.compile("[\u0400-\u04ff]")),
    ("ar", re.compile("[\u0600-\u06ff\u0750-\u077f]")),
    ("he", re.compile("[\u0590-\u05ff]")),
    ("el", re.compile("[\u0370-\u03ff]")),
    ("hi", re.compile("[\u0900-\u097f]")),
    ("th", re.compile("[\u0e00-\u0e7f]")),
)
_WORD: Final = re.compile(r"[^\W\d_]+")
_LETTER: Final = re.compile(r"[^\W\d_]")
MIN_WORDS: Final = 5
MAX_CHARS: Final = 400
"""Characters looked at: an article's opening is enough, and the classifier's cost grows with
the length (a Python walk over the bytes, roughly 2 µs per character)."""
UNDETERMINED: Final = "und"


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE)


def _script(text: str) -> str | None:
    if text.isascii():
        return None
    letters = len(_LETTER.findall(text))
    counts = {lang: len(pattern.findall(text)) for lang, pattern in _SCRIPTS}
    lang = max(counts, key=lambda k: counts[k])
    if not letters or counts[lang] / letters < 0.3:
        return None
    if counts["ja"]:  # Japanese mixes kana with CJK ideographs
        return "ja"
    return lang


def detect_language(text: str | None) -> str:
    """ISO 639-1 code of the text's language; "und" when it cannot be told."""
    if not text or not text.strip():
        return UNDETERMINED
    head = text[:MAX_CHARS]
    script = _script(head)
    if script is not None:
        return script
    if len(_WORD.findall(head)) < MIN_WORDS:
        return UNDETERMINED
    lang, _ = _identifier().classify(head.lower())
    return str(lang)
