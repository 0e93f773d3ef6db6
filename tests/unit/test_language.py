from __future__ import annotations

import pytest

from processors.language import detect_language


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Japan confirmed with the United States that they should coordinate moves.", "en"),
        ("JAPAN SAYS IT WILL CUT TARIFFS ON U.S. GOODS FROM THE START OF APRIL", "en"),
        ("Die Regierung hat am Dienstag mitgeteilt, dass sie die Sanktionen nicht aufhebt.", "de"),
        ("Le gouvernement a annoncé mardi que les sanctions sont maintenues pour la Corée.", "fr"),
        ("El gobierno anunció el martes que las sanciones contra Corea se mantendrán.", "es"),
        ("日本政府は火曜日、北朝鮮に対する制裁を発表した。", "ja"),
        ("북한이 화요일 핵실험을 했다고 발표했다", "ko"),
        ("Правительство объявило о санкциях против Северной Кореи.", "ru"),
        ("أعلنت الحكومة يوم الثلاثاء فرض عقوبات جديدة على كوريا الشمالية.", "ar"),
        ("NORTH KOREA SAYS IT WILL CONDUCT NEW NUCLEAR TEST", "en"),
        ("Wall St. Bears Claw Back Into the Black (Reuters)", "en"),
        ("ok", "und"),
        ("", "und"),
        (None, "und"),
        ("12345 67890 !!!", "und"),
    ],
)
def test_detect_language(text: str | None, lang: str) -> None:
    assert detect_language(text) == lang
