"""The topology: one declaration of every topic and stage, and the app built from it."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from streams.app import build_app
from streams.settings import Settings
from streams.topology import stages, topics
from tests.doubles import RecordingSender

ROOT = Path(__file__).resolve().parents[2]


def test_every_stage_reads_and_writes_declared_topics_and_the_flow_is_one_chain() -> None:
    settings = Settings()
    declared = topics(settings)
    decls = stages(settings)
    assert [d.kind.name for d in decls] == ["enrich", "story", "index", "alert"]
    for decl in decls:
        assert decl.source in declared
        assert set(decl.outputs.values()) <= set(declared)
    # raw -> enrich -> stories -> story -> enriched -> index -> indexed -> alert -> alerts
    flow = ["raw"] + [decl.outputs["next"] for decl in decls]
    assert [d.source for d in decls] == flow[:-1]
    assert flow[-1] == "alerts"
    assert declared["stories"].partitions == 1 and declared["stories"].exact


def test_the_app_has_one_agent_per_stage_on_its_source_topic() -> None:
    settings = Settings(app_id="topology-test", store="memory://")
    worker = build_app(settings, sender=RecordingSender())
    declared = topics(settings)
    assert set(worker.app.agents) == {d.agent for d in stages(settings)}
    for decl in stages(settings):
        channel = worker.app.agents[decl.agent].channel
        assert channel.get_topic_name() == declared[decl.source].name
    assert set(worker.stages) == {"enrich", "story", "index", "alert"}
    for name, stage in worker.stages.items():
        assert stage.sender is worker.sender and stage.dead_letter is worker.dead_letters
        assert stage.name == name


def test_every_stage_module_opens_with_its_error_policy() -> None:
    for decl in stages(Settings()):
        module = importlib.import_module(decl.kind.__module__)
        assert module.__doc__ is not None and "Error policy:" in module.__doc__, module.__name__


def test_the_readme_diagram_is_the_topology_docstring() -> None:
    doc = ast.get_docstring(ast.parse((ROOT / "streams" / "topology.py").read_text()))
    assert doc is not None
    diagram = "\n\n".join(doc.split("\n\n")[1:3])
    assert "[enrich]" in diagram and "[alerts]" in diagram
    assert f"```\n{diagram}\n```" in (ROOT / "README.md").read_text()


def test_only_the_enrich_stage_overlaps_batches() -> None:
    # Story clustering keeps table state and must take one batch at a time; the enrich
    # stage holds one batch more than its spaCy processes unless told otherwise. Every
    # stage is one copy of its agent: overlap is the stage's window, not agent concurrency.
    for processes, overlap_setting, expected in ((3, None, 4), (1, None, 2), (3, 1, 1)):
        settings = Settings(spacy_processes=processes, enrich_overlap=overlap_setting)
        overlap = {d.kind.name: d.batching.overlap for d in stages(settings)}
        assert overlap == {"enrich": expected, "story": 1, "index": 1, "alert": 1}
        agents = build_app(settings, sender=RecordingSender()).app.agents
        assert {agent.concurrency for agent in agents.values()} == {1}


def test_spacy_processes_default_to_one_fewer_than_the_usable_cores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import streams.settings

    for cores, expected in ((1, 1), (2, 1), (4, 3)):
        monkeypatch.setattr(streams.settings, "usable_cores", lambda c=cores: c)
        assert Settings().spacy_pool_size == expected
    assert Settings(spacy_processes=2).spacy_pool_size == 2


def test_usable_cores_honours_the_cpu_affinity() -> None:
    import os

    from streams.settings import usable_cores

    assert 1 <= usable_cores() <= len(os.sched_getaffinity(0))
