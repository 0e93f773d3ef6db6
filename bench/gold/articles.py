"""The 120 articles of the facet gold set: which ones, and a JSONL of them for `--articles`.

The gold files (`facets_dev.jsonl`, `facets_heldout.jsonl`) carry ids and labels only, since
the texts are licensed for research use and stay in the shared data folder
(`WIREWATCH_DATA_DIR`, default `../shared/data`). This script picks the articles with a
fixed seed (60 BBC News: 12 per category; 60 AG News test: 15 per category), splits them
into dev and heldout with a second fixed shuffle, and writes the referenced texts so that
`wirewatch eval facets GOLD --articles FILE` can enrich them.

A third set, `facets_fresh.jsonl`, holds 24 Reuters-21578 stories (`--set fresh`), labelled
after the rules of enrichment 0.3.4 were written and scored once, for the report. A fourth,
`facets_late.jsonl`, holds 37 more BBC and AG News articles none of the others use
(`--set late`), labelled after the rules of enrichment 0.3.4 were written; `facets_dev2.jsonl`
(`--set dev2`) is a second dev set. `facets_dev3.jsonl` and `facets_late2.jsonl` (`--set dev3`,
`--set late2`, 28 each) were labelled after the rules of 0.3.5: dev3 to read errors on,
late2 kept apart for reports.

Run:
    .venv/bin/python -m bench.gold.articles --out /tmp/facets_articles.jsonl
    .venv/bin/python -m bench.gold.articles --set fresh --out /tmp/facets_fresh_articles.jsonl
    .venv/bin/python -m bench.gold.articles --set late --out /tmp/facets_late_articles.jsonl
    .venv/bin/python -m bench.gold.articles --list     # id, split, domain, one a line
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("WIREWATCH_DATA_DIR", REPO.parent / "shared" / "data"))
GOLD = Path(__file__).resolve().parent
PICK_SEED = 11
SPLIT_SEED = 12
CORPORA: dict[str, tuple[int, dict[str, str]]] = {
    # file: (articles per category, corpus category -> gold `domain`)
    "bbc_news.jsonl.gz": (
        12,
        {
            "business": "business",
            "entertainment": "entertainment",
            "politics": "politics",
            "sport": "sport",
            "tech": "tech/science",
        },
    ),
    "ag_news_test.jsonl.gz": (
        15,
        {
            "Business": "business",
            "Sci/Tech": "tech/science",
            "Sports": "sport",
            "World": "world",
        },
    ),
}


def _records(corpus: str) -> list[dict[str, Any]]:
    with gzip.open(DATA / corpus, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def pick() -> list[tuple[dict[str, Any], str]]:
    """(record, domain) of the 120 articles, in pick order: corpus, category, then draw."""
    rng = random.Random(PICK_SEED)
    out: list[tuple[dict[str, Any], str]] = []
    for corpus, (per_category, domains) in CORPORA.items():
        by_cat: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for rec in _records(corpus):
            by_cat[rec["category"]].append(rec)
        for cat in sorted(domains):
            out.extend((rec, domains[cat]) for rec in rng.sample(by_cat[cat], per_category))
    return out


FRESH_SEED = 13
FRESH_CORPUS = "reuters21578.jsonl.gz"
FRESH_CATEGORIES: dict[str | None, tuple[int, str]] = {
    # Reuters-21578 first TOPICS code (None: no topic, mostly general news) -> (k, domain)
    None: (12, "world"), "trade": (3, "business"), "crude": (3, "business"),
    "acq": (2, "business"), "ship": (2, "world"), "money-fx": (2, "business"),
}  # fmt: skip
FRESH_CHARS = (400, 3000)
"""Body length bounds of a fresh article (a wire story, not a table or a one-liner)."""


def pick_fresh() -> list[tuple[dict[str, Any], str]]:
    """(record, domain) of the 24 Reuters-21578 stories of `facets_fresh.jsonl`: a set
    labelled after every rule of its time was written, kept apart from all tuning."""
    rng = random.Random(FRESH_SEED)
    by_cat: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    lo, hi = FRESH_CHARS
    for rec in _records(FRESH_CORPUS):
        if lo <= len(rec.get("body") or "") <= hi:
            by_cat[rec.get("category")].append(rec)
    out: list[tuple[dict[str, Any], str]] = []
    for cat, (k, domain) in FRESH_CATEGORIES.items():
        out.extend((rec, domain) for rec in rng.sample(by_cat[cat], k))
    return out


LATE_SEED = 14
LATE_PER_CATEGORY = {"bbc_news.jsonl.gz": 5, "ag_news_test.jsonl.gz": 3}
DEV2_SEED = 15
DEV2_PER_CATEGORY = {"bbc_news.jsonl.gz": 4, "ag_news_test.jsonl.gz": 1}
DEV3_SEED = 16
LATE2_SEED = 17
SIX_A_CATEGORY = {"bbc_news.jsonl.gz": 4, "ag_news_test.jsonl.gz": 2}


def _pick_unused(
    seed: int, per_category: dict[str, int], used: set[str]
) -> list[tuple[dict[str, Any], str]]:
    """(record, domain) of `per_category[corpus]` articles a category, none of them `used`."""
    rng = random.Random(seed)
    out: list[tuple[dict[str, Any], str]] = []
    for corpus, (_, domains) in CORPORA.items():
        by_cat: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for rec in _records(corpus):
            if rec["id"] not in used:
                by_cat[rec["category"]].append(rec)
        for cat in sorted(domains):
            k = per_category[corpus]
            out.extend((rec, domains[cat]) for rec in rng.sample(by_cat[cat], k))
    return out


def pick_late() -> list[tuple[dict[str, Any], str]]:
    """(record, domain) of the 37 articles of `facets_late.jsonl`: BBC News (5 a category)
    and AG News (3 a category) articles that the 120 of `pick()` do not use."""
    return _pick_unused(LATE_SEED, LATE_PER_CATEGORY, {rec["id"] for rec, _ in pick()})


def pick_dev2() -> list[tuple[dict[str, Any], str]]:
    """(record, domain) of the 24 articles of `facets_dev2.jsonl`, a second dev set (BBC 4 a
    category, AG News 1 a category) that neither the 120 nor the late set use."""
    used = {rec["id"] for rec, _ in pick()} | {rec["id"] for rec, _ in pick_late()}
    return _pick_unused(DEV2_SEED, DEV2_PER_CATEGORY, used)


def pick_dev3() -> list[tuple[dict[str, Any], str]]:
    """(record, domain) of the 28 articles of `facets_dev3.jsonl`, a third dev set (BBC 4 a
    category, AG News 2 a category) that none of the sets before it use."""
    used = {rec["id"] for picker in (pick, pick_late, pick_dev2) for rec, _ in picker()}
    return _pick_unused(DEV3_SEED, SIX_A_CATEGORY, used)


def pick_late2() -> list[tuple[dict[str, Any], str]]:
    """(record, domain) of the 28 articles of `facets_late2.jsonl` (BBC 4 a category, AG News
    2 a category), labelled after the rules of enrichment 0.3.5 and kept apart from tuning."""
    used = {rec["id"] for picker in (pick, pick_late, pick_dev2, pick_dev3) for rec, _ in picker()}
    return _pick_unused(LATE2_SEED, SIX_A_CATEGORY, used)


DEV4_SEED = 18
DEV4_PICKS: dict[tuple[str, str | None], tuple[int, str]] = {
    # (corpus, category) -> (k, domain): world and political news, as wires carry most
    ("ag_news_test.jsonl.gz", "World"): (10, "world"),
    ("bbc_news.jsonl.gz", "politics"): (6, "politics"),
    (FRESH_CORPUS, None): (6, "world"),
}


def pick_dev4() -> list[tuple[dict[str, Any], str]]:
    """(record, domain) of the 22 articles of `facets_dev4.jsonl`, a fourth dev set of world
    and political news (AG World, BBC politics, Reuters-21578 general news of 400-3,000
    characters) that no set before it uses."""
    pickers = (pick, pick_late, pick_dev2, pick_dev3, pick_late2, pick_fresh)
    return _pick_from(DEV4_SEED, DEV4_PICKS, {rec["id"] for p in pickers for rec, _ in p()})


def _pick_from(
    seed: int, picks: dict[tuple[str, str | None], tuple[int, str]], used: set[str]
) -> list[tuple[dict[str, Any], str]]:
    """(record, domain) of k unused articles per (corpus, category) of `picks`; Reuters
    stories within `FRESH_CHARS`."""
    rng = random.Random(seed)
    lo, hi = FRESH_CHARS
    out: list[tuple[dict[str, Any], str]] = []
    for (corpus, cat), (k, domain) in picks.items():
        pool = [
            rec
            for rec in _records(corpus)
            if rec["id"] not in used
            and rec.get("category") == cat
            and (corpus != FRESH_CORPUS or lo <= len(rec.get("body") or "") <= hi)
        ]
        out.extend((rec, domain) for rec in rng.sample(pool, k))
    return out


DEV5_SEED = 19
DEV5_PICKS: dict[tuple[str, str | None], tuple[int, str]] = {
    ("bbc_news.jsonl.gz", "sport"): (4, "sport"),
    ("bbc_news.jsonl.gz", "entertainment"): (4, "entertainment"),
    ("bbc_news.jsonl.gz", "business"): (3, "business"),
    ("bbc_news.jsonl.gz", "politics"): (3, "politics"),
    ("bbc_news.jsonl.gz", "tech"): (2, "tech/science"),
    ("ag_news_test.jsonl.gz", "World"): (4, "world"),
    ("ag_news_test.jsonl.gz", "Sports"): (2, "sport"),
    ("ag_news_test.jsonl.gz", "Business"): (2, "business"),
}


def pick_dev5() -> list[tuple[dict[str, Any], str]]:
    """(record, domain) of the 24 articles of `facets_dev5.jsonl`, a fifth dev set across
    the BBC and AG News categories that no set before it uses."""
    pickers = (pick, pick_late, pick_dev2, pick_dev3, pick_late2, pick_fresh, pick_dev4)
    return _pick_from(DEV5_SEED, DEV5_PICKS, {rec["id"] for p in pickers for rec, _ in p()})


DEV6_SEED = 20
DEV6_PICKS: dict[tuple[str, str | None], tuple[int, str]] = {
    ("ag_news_test.jsonl.gz", "World"): (6, "world"),
    ("ag_news_test.jsonl.gz", "Business"): (3, "business"),
    ("bbc_news.jsonl.gz", "politics"): (4, "politics"),
    ("bbc_news.jsonl.gz", "business"): (3, "business"),
    ("bbc_news.jsonl.gz", "entertainment"): (3, "entertainment"),
    ("bbc_news.jsonl.gz", "sport"): (3, "sport"),
    (FRESH_CORPUS, None): (2, "world"),
}


def pick_dev6() -> list[tuple[dict[str, Any], str]]:
    """(record, domain) of the 24 articles of `facets_dev6.jsonl`, a sixth dev set, news
    heavier, that no set before it uses."""
    pickers = (pick, pick_late, pick_dev2, pick_dev3, pick_late2, pick_fresh, pick_dev4, pick_dev5)
    return _pick_from(DEV6_SEED, DEV6_PICKS, {rec["id"] for p in pickers for rec, _ in p()})


def split(ids: list[str]) -> dict[str, str]:
    """id -> "dev" | "heldout": the first 60 of a fixed shuffle of the sorted ids are dev."""
    order = sorted(ids)
    random.Random(SPLIT_SEED).shuffle(order)
    half = len(order) // 2
    return {i: ("dev" if n < half else "heldout") for n, i in enumerate(order)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the 120 articles here (JSON Lines)")
    parser.add_argument("--list", action="store_true", help="print id, split and domain")
    parser.add_argument(
        "--set",
        choices=("main", "fresh", "late", "dev2", "dev3", "late2", "dev4", "dev5", "dev6"),
        default="main",
        help="main: the 120 dev and heldout articles; fresh: the 24 Reuters stories of "
        "facets_fresh.jsonl; late, dev2, dev3, late2, dev4: the articles of "
        "facets_late.jsonl, facets_dev2.jsonl, ...",
    )
    args = parser.parse_args()
    pickers = {
        "main": pick,
        "fresh": pick_fresh,
        "late": pick_late,
        "dev2": pick_dev2,
        "dev3": pick_dev3,
        "late2": pick_late2,
        "dev4": pick_dev4,
        "dev5": pick_dev5,
        "dev6": pick_dev6,
    }
    picked = pickers[args.set]()
    splits = (
        split([rec["id"] for rec, _ in picked])
        if args.set == "main"
        else {rec["id"]: args.set for rec, _ in picked}
    )
    if args.list:
        for rec, domain in picked:
            print(rec["id"], splits[rec["id"]], domain, sep="\t")
    if args.out:
        keys = ("id", "title", "body", "published_at", "source", "url")
        with args.out.open("w", encoding="utf-8") as fh:
            for rec, _ in picked:
                fh.write(json.dumps({k: rec.get(k) for k in keys}, ensure_ascii=False) + "\n")
        print(f"wrote {len(picked)} articles to {args.out}")


if __name__ == "__main__":
    main()
