"""ARREST against IndiaPoliceEvents' police-arrest labels, article by article.

IndiaPoliceEvents (Halterman, Keith, Sarwar & O'Connor, Findings of ACL 2021;
`../shared/data/india_police_events.jsonl.gz`, see its README) labels every Times of India
article of March 2002 on the Gujarat violence with what the police did. Its `ARREST` label
("did police arrest someone") is FACETS.md's ARREST by the police. For a fixed sample of 300
articles (`random.Random(5)`), `--articles` writes the texts to enrich and `--enriched`
scores the `event_types` facet's ARREST against the label (precision, recall, F1). Arrests
by anyone else count as false here, so precision is a floor. The text is all lower case, as
the corpus publishes it.

A dev figure: the false ARRESTs of this sample were read when the 0.3.6 rules for "no
arrests", imperatives, charging and jails were written.

Run:
    .venv/bin/python -m bench.gold.police --articles /tmp/ipe.jsonl
    .venv/bin/wirewatch enrich /tmp/ipe.jsonl --json > /tmp/ipe_enriched.jsonl
    .venv/bin/python -m bench.gold.police --enriched /tmp/ipe_enriched.jsonl
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from pathlib import Path
from typing import Any

from bench.gold.articles import DATA

SAMPLE_SEED = 5
SAMPLE_SIZE = 300


def sample(source: Path) -> list[dict[str, Any]]:
    with gzip.open(source, "rt", encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    random.Random(SAMPLE_SEED).shuffle(records)
    return records[:SAMPLE_SIZE]


def write_articles(records: list[dict[str, Any]], out: Path) -> None:
    keys = ("id", "title", "body", "published_at", "source", "url")
    with out.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps({k: rec.get(k) for k in keys}, ensure_ascii=False) + "\n")


def score(records: list[dict[str, Any]], enriched: Path) -> tuple[float, float, float, int]:
    """(precision, recall, F1, articles scored) of ARREST in `event_types`."""
    gold = {r["id"]: "ARREST" in (r.get("event_labels") or []) for r in records}
    tp = fp = fn = n = 0
    with enriched.open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec.get("id") not in gold:
                continue
            n += 1
            said, truth = "ARREST" in rec.get("event_types", []), gold[rec["id"]]
            tp, fp, fn = tp + (said and truth), fp + (said and not truth), fn + (truth and not said)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0), n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DATA / "india_police_events.jsonl.gz")
    parser.add_argument("--articles", type=Path, help="write the sample's texts here")
    parser.add_argument("--enriched", type=Path, help="score these enriched records")
    args = parser.parse_args()
    records = sample(args.source)
    if args.articles:
        write_articles(records, args.articles)
        print(f"wrote {len(records)} articles to {args.articles}")
    if args.enriched:
        p, r, f1, n = score(records, args.enriched)
        print(f"ARREST over {n} articles: P {p:.3f} R {r:.3f} F1 {f1:.3f}")


if __name__ == "__main__":
    main()
