"""The data files that ship inside the package (`streams/resources/`), found with
`importlib.resources`:

    elasticsearch/index-template.json    the articles index template (`wirewatch init`)
    elasticsearch/rules-template.json    the rules index template
    elasticsearch/alerts-template.json   the alerts index template
    kibana/wirewatch.ndjson              Kibana saved objects (`wirewatch kibana import`)
    kibana/rules/<rule id>.json          Kibana `.es-query` rules equal to the default rules
    alerts/<rule id>.yaml                the default alert rules (`wirewatch rules sync`)

They are package data: the wheel carries them, and they are found the same way from a
checkout, an editable install or site-packages, never through a path relative to the source
tree or the working directory. (The enrichment's own data, `processors/data/*.yaml`, is found
the same way by `processors`.)
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

PACKAGE = "streams"
FOLDER = "resources"

INDEX_TEMPLATE = "elasticsearch/index-template.json"
RULES_TEMPLATE = "elasticsearch/rules-template.json"
ALERTS_TEMPLATE = "elasticsearch/alerts-template.json"
SAVED_OBJECTS = "kibana/wirewatch.ndjson"
KIBANA_RULES = "kibana/rules"
DEFAULT_RULES = "alerts"

TEMPLATES = (INDEX_TEMPLATE, RULES_TEMPLATE, ALERTS_TEMPLATE)


def resource(name: str) -> Traversable:
    """A packaged file or folder by its path under `streams/resources/`, e.g.
    `resource(INDEX_TEMPLATE)`. FileNotFoundError if the package does not carry it."""
    item = files(PACKAGE) / FOLDER
    for part in name.split("/"):
        item = item / part
    if not (item.is_file() or item.is_dir()):
        raise FileNotFoundError(f"{PACKAGE}/{FOLDER}/{name} is not in the installed package")
    return item


def read_json(name: str) -> dict[str, Any]:
    """A packaged JSON object, parsed afresh (callers may change it)."""
    body = json.loads(resource(name).read_text(encoding="utf-8"))
    if not isinstance(body, dict):
        raise ValueError(f"{PACKAGE}/{FOLDER}/{name}: expected a JSON object")
    return body


def index_template() -> dict[str, Any]:
    """The articles index template as in the file (`index_patterns` not yet bound)."""
    return read_json(INDEX_TEMPLATE)


def rules_template() -> dict[str, Any]:
    return read_json(RULES_TEMPLATE)


def alerts_template() -> dict[str, Any]:
    return read_json(ALERTS_TEMPLATE)


def saved_objects() -> Traversable:
    """The Kibana saved-objects NDJSON file."""
    return resource(SAVED_OBJECTS)


def _files(folder: str, suffixes: tuple[str, ...]) -> dict[str, Traversable]:
    found = {
        item.name.rsplit(".", 1)[0]: item
        for item in resource(folder).iterdir()
        if item.is_file() and item.name.endswith(suffixes)
    }
    return dict(sorted(found.items()))


def kibana_rules() -> dict[str, Traversable]:
    """The Kibana alerting rule files, by rule id (the file name without `.json`)."""
    return _files(KIBANA_RULES, (".json",))


def kibana_rule(rule_id: str) -> dict[str, Any]:
    """One Kibana alerting rule (the body of `POST /api/alerting/rule`)."""
    return read_json(f"{KIBANA_RULES}/{rule_id}.json")


def default_rules() -> Traversable:
    """The folder of the default alert rules."""
    return resource(DEFAULT_RULES)


def default_rule_files() -> dict[str, Traversable]:
    """The default alert rule files, by rule id (the file name without `.yaml`)."""
    return _files(DEFAULT_RULES, (".yaml", ".yml"))


@contextmanager
def rules_folder(directory: Path | None = None) -> Iterator[Path]:
    """The folder of rule files to use, as a real folder: `directory` when given (an
    operator's own, e.g. `WIREWATCH_RULES_DIR`), else the packaged default rules (copied to
    a temporary folder for the duration only when the package is not on the file system,
    e.g. imported from a zip)."""
    if directory is not None:
        yield directory
        return
    folder = default_rules()
    if isinstance(folder, Path):
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix="wirewatch-rules-") as tmp:
        for item in folder.iterdir():
            if item.is_file():
                (Path(tmp) / item.name).write_bytes(item.read_bytes())
        yield Path(tmp)


def check() -> list[str]:
    """Read and parse every packaged resource (JSON, NDJSON lines, YAML); returns their names.
    Raises if one is missing or does not parse: the image build runs this against the
    installed package."""
    checked = list(TEMPLATES)
    for name in TEMPLATES:
        read_json(name)
    for line in saved_objects().read_text(encoding="utf-8").splitlines():
        if line.strip():
            json.loads(line)
    checked.append(SAVED_OBJECTS)
    for rule_id in kibana_rules():
        kibana_rule(rule_id)
        checked.append(f"{KIBANA_RULES}/{rule_id}.json")
    rules = default_rule_files()
    if not rules:
        raise FileNotFoundError(f"{PACKAGE}/{FOLDER}/{DEFAULT_RULES}/ has no rule files")
    for item in rules.values():
        if not isinstance(yaml.safe_load(item.read_text(encoding="utf-8")), dict):
            raise ValueError(f"{PACKAGE}/{FOLDER}/{DEFAULT_RULES}/{item.name}: not a mapping")
        checked.append(f"{DEFAULT_RULES}/{item.name}")
    return checked
