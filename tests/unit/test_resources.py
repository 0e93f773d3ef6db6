"""Package data (streams/resources/): every named resource exists and parses, is found
through the package rather than the working directory, and the default rules folder is the
packaged one unless an operator sets their own."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

import processors
import streams
from processors.rules import RuleError
from streams.cli.alerts import _read_rule
from streams.clients import resources
from streams.clients.indices import template_body
from streams.clients.kibana import read_saved_objects
from streams.operations.rule_files import load_rule_file, load_rules_dir
from streams.settings import Settings, settings_from_env

PACKAGE_DATA = Path(streams.__file__).resolve().parent / "resources"
DEFAULT_RULE = "north-korea-sanctions"


@pytest.mark.parametrize("name", resources.TEMPLATES)
def test_each_template_exists_and_is_an_index_template(name: str) -> None:
    assert resources.resource(name).is_file()
    body = resources.read_json(name)
    assert body["index_patterns"] and body["priority"] > 0
    assert body["template"]["mappings"]["dynamic"] == "strict"
    assert body["template"]["mappings"]["properties"]


def test_the_named_template_readers_read_their_files() -> None:
    assert resources.index_template() == resources.read_json(resources.INDEX_TEMPLATE)
    assert resources.rules_template() == resources.read_json(resources.RULES_TEMPLATE)
    assert resources.alerts_template() == resources.read_json(resources.ALERTS_TEMPLATE)
    assert "title" in resources.index_template()["template"]["mappings"]["properties"]
    assert "query" in resources.rules_template()["template"]["mappings"]["properties"]
    assert "fired_at" in resources.alerts_template()["template"]["mappings"]["properties"]


def test_a_template_is_parsed_afresh_so_callers_may_change_it() -> None:
    resources.index_template()["index_patterns"] = ["changed-*"]
    assert resources.index_template()["index_patterns"] != ["changed-*"]
    assert template_body("news")["index_patterns"] == ["news-v*"]
    assert template_body("other")["index_patterns"] == ["other-v*"]


def test_the_saved_objects_exist_and_parse() -> None:
    path = resources.saved_objects()
    assert path.name == "wirewatch.ndjson" and path.is_file()
    objects = read_saved_objects(path)
    ids = {o["id"] for o in objects}
    assert {"wirewatch-articles", "wirewatch-alerts", "wirewatch-news-dashboard"} <= ids


def test_the_kibana_rules_exist_and_parse() -> None:
    rules = resources.kibana_rules()
    assert list(rules) == [DEFAULT_RULE]
    body = resources.kibana_rule(DEFAULT_RULE)
    assert body["rule_type_id"] == ".es-query"
    assert f"wirewatch-rule:{DEFAULT_RULE}" in body["tags"]


def test_the_default_rules_exist_and_are_valid_rules() -> None:
    files = resources.default_rule_files()
    assert DEFAULT_RULE in files
    assert resources.default_rules().is_dir()
    with resources.rules_folder() as folder:
        rules, errors = load_rules_dir(folder)
    assert errors == []
    assert [r.id for r in rules] == list(files)


def test_check_reads_every_file_the_package_carries() -> None:
    shipped = sorted(
        p.relative_to(PACKAGE_DATA).as_posix() for p in PACKAGE_DATA.rglob("*") if p.is_file()
    )
    assert sorted(resources.check()) == shipped


def test_a_missing_resource_is_named() -> None:
    with pytest.raises(FileNotFoundError, match=r"streams/resources/kibana/nope\.ndjson"):
        resources.resource("kibana/nope.ndjson")
    with pytest.raises(FileNotFoundError):
        resources.kibana_rule("no-such-rule")


def test_resources_do_not_depend_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert resources.check()
    with resources.rules_folder() as folder:
        assert folder.is_absolute() and (folder / f"{DEFAULT_RULE}.yaml").is_file()


def test_rules_dir_defaults_to_the_packaged_rules_and_an_operator_can_set_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WIREWATCH_RULES_DIR", raising=False)
    assert Settings(_env_file=None).rules_dir is None
    own = tmp_path / "rules"
    own.mkdir()
    assert settings_from_env({"WIREWATCH_RULES_DIR": str(own)}).rules_dir == own
    with resources.rules_folder(own) as folder:
        assert folder == own
    with resources.rules_folder(None) as folder:
        assert folder == PACKAGE_DATA / "alerts"


def test_a_rule_id_is_looked_up_in_the_packaged_rules_or_the_operators_folder(
    tmp_path: Path,
) -> None:
    assert _read_rule(DEFAULT_RULE, None).id == DEFAULT_RULE
    (tmp_path / "mine.yaml").write_text(
        "name: Mine\ndescription: d\nquery: {countries: [KP]}\n", encoding="utf-8"
    )
    assert _read_rule("mine", tmp_path).id == "mine"
    with pytest.raises(RuleError, match="no such rule file"):
        _read_rule("mine", None)


def test_rules_not_on_the_file_system_are_copied_to_a_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As when the package is imported from a zip: the Traversable is not a Path.
    archive = tmp_path / "pkg.zip"
    source = PACKAGE_DATA / "alerts" / f"{DEFAULT_RULE}.yaml"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(source, f"alerts/{DEFAULT_RULE}.yaml")
    with zipfile.ZipFile(archive) as zf:
        monkeypatch.setattr(resources, "default_rules", lambda: zipfile.Path(zf, "alerts/"))
        with resources.rules_folder() as folder:
            copied = folder / f"{DEFAULT_RULE}.yaml"
            assert copied.read_bytes() == source.read_bytes()
            assert load_rule_file(copied).id == DEFAULT_RULE
        assert not folder.exists()


@pytest.mark.parametrize("package", [processors, streams], ids=["processors", "streams"])
def test_no_data_is_found_through_file_paths(package: object) -> None:
    # Data is package data (importlib.resources); the only `__file__` left is the local dev
    # stack's path to its Maven projects in the checkout (streams/stack/base.py).
    root = Path(str(getattr(package, "__file__", ""))).resolve().parent
    users = sorted(
        p.relative_to(root.parent).as_posix()
        for p in root.rglob("*.py")
        if "__file__" in p.read_text(encoding="utf-8")
    )
    assert users == (["streams/stack/base.py"] if package is streams else [])
