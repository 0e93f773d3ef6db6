"""Build `tests/fixtures/events_labelled.jsonl`, the labelled set for `wirewatch eval events`.

Sources (see seeds/README.md):
- WikiEvents dev (`../shared/data/wikievents_dev.jsonl`): every sentence of the 20
  documents; its gold KAIROS event mentions are mapped to wirewatch types by `KAIROS`
  below (types not listed are not scored). One record per sentence, one event per type
  present; actors are left out (the corpus names arguments by text, not by country).
- The project seed and two AG News items: labelled by hand, by sentence, with actors.

Run: .venv/bin/python bench/build_event_set.py
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "events_labelled.jsonl"

KAIROS = {
    "Conflict.Attack.DetonateExplode": "ASSAULT",
    "Conflict.Attack.Unspecified": "ASSAULT",
    "Life.Die.Unspecified": "ASSAULT",  # in these bombing stories deaths are from the attacks
    "Life.Injure.Unspecified": "ASSAULT",
    "Justice.ArrestJailDetain.Unspecified": "ARREST",
    "Contact.Contact.Meet": "CONSULT",
    "Contact.RequestCommand.Meet": "CONSULT",
    "Contact.RequestCommand.Unspecified": "REQUEST",
    "Contact.RequestCommand.Broadcast": "REQUEST",
    "Contact.ThreatenCoerce.Unspecified": "THREATEN",
    "Contact.ThreatenCoerce.Broadcast": "THREATEN",
    "Conflict.Demonstrate.Unspecified": "PROTEST",
    "Conflict.Demonstrate.DemonstrateWithViolence": "PROTEST",
    "Disaster.DiseaseOutbreak.Unspecified": "DISASTER",
}


def ev(type_: str, source: str | None = None, target: str | None = None) -> dict[str, Any]:
    return {"type": type_, "source": source, "target": target}


# Hand labels, one entry per sentence: (text, events). Labelled by reading the sentence
# for what it reports as happened or agreed (hedged and planned events included).
SEED = Path(__file__).resolve().parents[1] / "seeds" / "000_6842bcb70202069f.txt"
SEED_LABELS: list[list[dict[str, Any]]] = [
    [ev("CONSULT", "JP", "US"), ev("CONSULT", "JP", "KR"), ev("COOPERATE")],
    [ev("CONSULT", "JP", "US"), ev("CONSULT", "JP", "KR"), ev("COOPERATE"),
     ev("SANCTION", "org:united-nations-security-council"), ev("NUCLEAR_TEST", "KP")],
    [ev("CONSULT", "JP", "US"), ev("CONSULT", "JP", "KR")],
    [ev("CONSULT", "JP", "AU"), ev("AGREE", "JP", "AU"), ev("COOPERATE", "JP", "AU")],
    [ev("CONSULT")],
    [ev("CONSULT", "JP", "US")],
    [ev("SUPPORT", "US", "JP"), ev("CONSULT", "JP", "US")],
    [ev("NUCLEAR_TEST", "KP"), ev("ACCUSE", "JP", "KP"), ev("SANCTION", None, "KP")],
    [ev("NUCLEAR_TEST", "KP"), ev("REQUEST", "JP", "KR"), ev("ACCUSE", "JP", "KP")],
    [ev("COOPERATE", "JP", "US"), ev("COOPERATE", "JP", "KR"), ev("COOPERATE", "JP", "CN"),
     ev("COOPERATE", "JP", "RU"), ev("SANCTION")],
    [ev("AGREE", "JP", "CN"), ev("COOPERATE", "JP", "CN")],
    [ev("AGREE"), ev("CONSULT", "JP", "CN"), ev("NUCLEAR_TEST", "KP")],
    [ev("CONSULT", "JP", "US"), ev("CONSULT", "JP", "KR"), ev("CONSULT", "JP", "RU")],
    [ev("CONSULT", "CN", "JP"), ev("NUCLEAR_TEST", "KP")],
]  # fmt: skip
AG_NEWS = {
    "agnews-test-07383": [ev("THREATEN", "KP", "JP"), ev("SANCTION", "JP", "KP")],
    "agnews-test-07459": [ev("SANCTION", None, "KP"), ev("THREATEN", "KP", "JP")],
}


def seed_records() -> list[dict[str, Any]]:
    text = SEED.read_text(encoding="utf-8")
    title, body = text.split("\n\n", 1)
    _, rest = body.split("N. KoreaJapan", 1)
    sentences = [title.strip(), "Japan" + rest.split("\n\n", 1)[0].strip()]
    sentences += [p.strip() for p in rest.split("\n\n")[1:] if p.strip()]
    if len(sentences) != len(SEED_LABELS):
        raise SystemExit(f"seed has {len(sentences)} paragraphs, labels {len(SEED_LABELS)}")
    return [
        {"text": s, "events": e, "origin": "seed:000_6842bcb70202069f"}
        for s, e in zip(sentences, SEED_LABELS, strict=True)
    ]


def ag_records() -> list[dict[str, Any]]:
    out = []
    with gzip.open(DATA / "ag_news_test.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec["id"] in AG_NEWS:
                text = f"{rec['title']}\n\n{rec['body']}"
                out.append({"text": text, "events": AG_NEWS[rec["id"]], "origin": rec["id"]})
    return out


def wikievents_records() -> list[dict[str, Any]]:
    out = []
    with open(DATA / "wikievents_dev.jsonl", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            types: dict[int, set[str]] = {}
            for e in rec["events"]:
                mapped = KAIROS.get(e["type"])
                if mapped:
                    types.setdefault(e["sentence_index"], set()).add(mapped)
            for i, sentence in enumerate(rec["sentences"]):
                events = [ev(t) for t in sorted(types.get(i, ()))]
                out.append(
                    {
                        "text": sentence,
                        "events": events,
                        "origin": f"wikievents:{rec['doc_id']}:{i}",
                    }
                )
    return out


def main() -> None:
    records = seed_records() + ag_records() + wikievents_records()
    with OUT.open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(records)} records -> {OUT}")


if __name__ == "__main__":
    main()
