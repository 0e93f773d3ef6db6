"""Document-level event-type gold from WikiEvents, for `wirewatch eval facets` (event_types).

WikiEvents (Li, Ji & Han, NAACL 2021; `../shared/data/wikievents_dev.jsonl`, see its README)
types every event mention in the KAIROS ontology. Per document, the gold `event_types` are
the wirewatch types its mentions map to by `KAIROS` below, following `../shared/FACETS.md`
(an attack, a death or an injury in these bombing and attack stories is ASSAULT; charging
and jailing are ARREST; a meeting is CONSULT; a disease outbreak is a DISASTER). KAIROS
types with no FACETS.md counterpart (transport, generic crime, investigation, trial,
damage, ...) give none. Only the `event_types` row of the report is meaningful: the other
facets are not labelled here.

Only the dev split is available; rules were looked at on its sentences
(`tests/fixtures/events_labelled.jsonl`), so its figure is a dev figure.

Run:
    .venv/bin/python -m bench.gold.wikievents \
        --gold /tmp/we_gold.jsonl --articles /tmp/we_articles.jsonl
    .venv/bin/wirewatch eval facets /tmp/we_gold.jsonl --articles /tmp/we_articles.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.build_event_set import KAIROS as SENTENCE_KAIROS
from bench.gold.articles import DATA

KAIROS = {
    **SENTENCE_KAIROS,  # the sentence-level mapping of `bench/build_event_set.py`, plus:
    "Justice.ChargeIndict.Unspecified": "ARREST",
    "Justice.Sentence.Unspecified": "ARREST",
    "Justice.Convict.Unspecified": "ARREST",
    "Justice.ReleaseParole.Unspecified": "CONCEDE",
}


def build(source: Path, gold: Path, articles: Path) -> int:
    n = 0
    with source.open(encoding="utf-8") as src, gold.open("w") as g, articles.open("w") as a:
        for line in src:
            doc = json.loads(line)
            types = sorted({KAIROS[t] for t in doc["event_types"] if t in KAIROS})
            g.write(json.dumps({"id": doc["id"], "event_types": types, "domain": "world"}) + "\n")
            a.write(
                json.dumps({"id": doc["id"], "title": doc["title"], "body": doc["body"]}) + "\n"
            )
            n += 1
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DATA / "wikievents_dev.jsonl")
    parser.add_argument("--gold", type=Path, required=True)
    parser.add_argument("--articles", type=Path, required=True)
    args = parser.parse_args()
    n = build(args.source, args.gold, args.articles)
    print(f"wrote {n} documents to {args.gold} and {args.articles}")


if __name__ == "__main__":
    main()
