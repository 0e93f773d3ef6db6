"""`wirewatch kibana import` against a stand-in for Kibana's saved objects import API.

Kibana cannot run on this machine, so a small local HTTP server plays its part: it checks the
request the way Kibana's `POST /api/saved_objects/_import` route does (method, `kbn-xsrf`,
`Authorization: ApiKey`, a multipart form with one `file` part of NDJSON, `overwrite=true`)
and answers with the response shapes Kibana 8 documents (`success`, `successCount`,
`successResults`, per-object `errors`; 401 and 400 bodies for requests refused as a whole).
It is a test double of Kibana, not Kibana; the field-level checks of the objects themselves
are in test_kibana_objects.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr

from streams.clients import resources
from streams.clients.kibana import (
    KibanaError,
    SavedObjectsFileError,
    import_saved_objects,
    parse_import_response,
)
from streams.settings import Settings

REPO = Path(__file__).resolve().parents[2]
SAVED_OBJECTS_FILE = resources.saved_objects()
API_KEY = "d2lyZXdhdGNoOnNlY3JldC1rZXktdmFsdWU="  # base64 "wirewatch:secret-key-value"
KIBANA_TYPES = {"index-pattern", "search", "visualization", "dashboard", "lens", "config"}


UNAUTHORIZED = {
    "statusCode": 401,
    "error": "Unauthorized",
    "message": "[security_exception]: unable to authenticate with provided credentials",
}


def _bad_request(message: str) -> dict[str, Any]:
    return {"statusCode": 400, "error": "Bad Request", "message": message}


@dataclass
class FakeKibana:
    """What the stand-in received, and how it should answer."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    existing: set[tuple[str, str]] = field(default_factory=set)
    """Objects already in this "Kibana" (a reference to them resolves)."""


def _import_answer(ndjson: bytes, kibana: FakeKibana, overwrite: bool) -> dict[str, Any]:
    """Kibana's per-object verdicts: unsupported types, unresolved references, conflicts."""
    objects = [json.loads(line) for line in ndjson.splitlines() if line.strip()]
    present = {(o["type"], o["id"]) for o in objects} | kibana.existing
    errors, results = [], []
    for obj in objects:
        meta = {"title": obj["attributes"].get("title", obj["id"]), "icon": "app"}
        base = {"id": obj["id"], "type": obj["type"], "title": meta["title"], "meta": meta}
        missing = [
            {"type": r["type"], "id": r["id"]}
            for r in obj.get("references", [])
            if (r["type"], r["id"]) not in present
        ]
        if obj["type"] not in KIBANA_TYPES:
            errors.append({**base, "error": {"type": "unsupported_type"}})
        elif missing:
            errors.append({**base, "error": {"type": "missing_references", "references": missing}})
        elif (obj["type"], obj["id"]) in kibana.existing and not overwrite:
            errors.append({**base, "error": {"type": "conflict"}})
        else:
            results.append({"type": obj["type"], "id": obj["id"], "meta": meta})
    answer: dict[str, Any] = {
        "success": not errors,
        "successCount": len(results),
        "successResults": results,
    }
    if errors:
        answer["errors"] = errors
    return answer


@pytest.fixture
def kibana() -> Iterator[FakeKibana]:
    state = FakeKibana(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            url = urlsplit(self.path)
            record = {"path": url.path, "query": parse_qs(url.query), "headers": self.headers}
            state.requests.append(record)
            if not url.path.endswith("/api/saved_objects/_import"):
                return self._answer(404, {"statusCode": 404, "error": "Not Found"})
            if self.headers.get("kbn-xsrf") is None:
                return self._answer(400, _bad_request("Request must contain a kbn-xsrf header."))
            if self.headers.get("Authorization") != f"ApiKey {API_KEY}":
                return self._answer(401, UNAUTHORIZED)
            message = BytesParser(policy=HTTP).parsebytes(
                b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + raw
            )
            parts = list(message.iter_parts()) if message.is_multipart() else []
            files = [
                p for p in parts if p.get_param("name", header="content-disposition") == "file"
            ]
            if len(files) != 1:
                return self._answer(
                    400, _bad_request("[request body.file]: expected value of type [Stream]")
                )
            ndjson = files[0].get_payload(decode=True)
            record["file"] = ndjson
            record["filename"] = files[0].get_filename()
            try:
                answer = _import_answer(ndjson, state, record["query"].get("overwrite") == ["true"])
            except (json.JSONDecodeError, KeyError):
                return self._answer(400, _bad_request("Unexpected token in JSON"))
            self._answer(200, answer)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _settings(**overrides: Any) -> Settings:
    return Settings(kibana_api_key=SecretStr(API_KEY), **overrides)


def test_import_sends_what_kibanas_import_api_requires(kibana: FakeKibana) -> None:
    report = import_saved_objects(_settings(), SAVED_OBJECTS_FILE, base_url=kibana.url)

    assert report.ok, [str(f) for f in report.failures]
    sent = SAVED_OBJECTS_FILE.read_bytes()
    assert report.success_count == len([line for line in sent.splitlines() if line.strip()])
    (req,) = kibana.requests
    assert req["path"] == "/api/saved_objects/_import"
    assert req["query"] == {"overwrite": ["true"]}
    assert req["headers"]["kbn-xsrf"] == "true"
    assert req["headers"]["Authorization"] == f"ApiKey {API_KEY}"
    assert req["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
    assert req["filename"] == "wirewatch.ndjson"
    assert [json.loads(line) for line in req["file"].splitlines()] == [
        json.loads(line) for line in sent.splitlines() if line.strip()
    ]  # the defaults: alias `articles`, alerts index `articles-alerts`


def test_the_data_views_follow_the_configured_alias_and_alerts_index(kibana: FakeKibana) -> None:
    settings = _settings(es_alias="news", alerts_index="news-alerts-2")
    assert import_saved_objects(settings, base_url=kibana.url).ok
    sent = [json.loads(line) for line in kibana.requests[0]["file"].splitlines()]
    views = {o["id"]: o["attributes"]["title"] for o in sent if o["type"] == "index-pattern"}
    assert views == {"wirewatch-articles": "news", "wirewatch-alerts": "news-alerts-2"}
    untouched = [json.loads(line) for line in SAVED_OBJECTS_FILE.read_text().splitlines()]
    assert [o for o in sent if o["type"] != "index-pattern"] == [
        o for o in untouched if o["type"] != "index-pattern"
    ]


def test_import_goes_to_the_configured_space(kibana: FakeKibana) -> None:
    import_saved_objects(_settings(kibana_space="news"), base_url=kibana.url + "/")
    assert kibana.requests[0]["path"] == "/s/news/api/saved_objects/_import"


def test_each_rejected_object_is_reported_with_its_reason(
    kibana: FakeKibana, tmp_path: Path
) -> None:
    lines = SAVED_OBJECTS_FILE.read_text().splitlines()
    objs = [json.loads(line) for line in lines]
    # Leave the alerts data view out and add an object of a type this Kibana does not know.
    kept = [o for o in objs if o["id"] != "wirewatch-alerts"]
    kept.append({"type": "wirewatch-rule", "id": "r1", "attributes": {"title": "A rule"}})
    path = tmp_path / "objects.ndjson"
    path.write_text("\n".join(json.dumps(o) for o in kept) + "\n")

    report = import_saved_objects(_settings(), path, base_url=kibana.url)

    reasons = {f.id: f.reason for f in report.failures}
    assert set(reasons) == {"wirewatch-search-latest-alerts", "r1"}
    assert (
        "missing references: index-pattern 'wirewatch-alerts'"
        in reasons["wirewatch-search-latest-alerts"]
    )
    assert "unsupported type" in reasons["r1"]
    assert report.success_count == len(kept) - 2
    assert not report.ok


def test_a_bad_api_key_is_a_clear_error_that_does_not_echo_the_key(kibana: FakeKibana) -> None:
    settings = Settings(kibana_api_key=SecretStr("not-the-key"))
    with pytest.raises(KibanaError) as info:
        import_saved_objects(settings, base_url=kibana.url)
    assert "refused the request (401)" in str(info.value)
    assert "WIREWATCH_KIBANA_API_KEY" in str(info.value)
    assert "not-the-key" not in str(info.value)


def test_an_unreachable_kibana_is_a_clear_error(kibana: FakeKibana) -> None:
    closed = kibana.url.rsplit(":", 1)[0] + ":9"  # discard port: nothing listens
    with pytest.raises(KibanaError, match=r"Kibana at http://127.0.0.1:9 is unreachable"):
        import_saved_objects(_settings(), base_url=closed)


def test_a_file_that_is_not_saved_objects_is_refused_before_sending(
    kibana: FakeKibana, tmp_path: Path
) -> None:
    path = tmp_path / "broken.ndjson"
    path.write_text('{"type": "search", "id": "x", "attributes": {"title": "t"}}\nnot json\n')
    with pytest.raises(SavedObjectsFileError, match=r"broken\.ndjson:2"):
        import_saved_objects(_settings(), path, base_url=kibana.url)
    assert kibana.requests == []


def test_parse_import_response_reads_kibanas_error_kinds() -> None:
    report = parse_import_response(
        {
            "success": False,
            "successCount": 1,
            "errors": [
                {
                    "id": "a",
                    "type": "search",
                    "meta": {"title": "A"},
                    "error": {"type": "conflict"},
                },
                {
                    "id": "b",
                    "type": "dashboard",
                    "title": "B",
                    "error": {"type": "unknown", "message": "boom", "statusCode": 400},
                },
            ],
        }
    )
    assert [str(f) for f in report.failures] == [
        "search 'a' (A): conflict with an existing object",
        "dashboard 'b' (B): unknown (400): boom",
    ]


def _cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The CLI run from a folder that is not the checkout: the packaged file is found
    through the package, not the working directory."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    path = os.pathsep.join(p for p in (str(REPO), clean.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, "-m", "streams", "kibana", "import", *args],
        env={**clean, "PYTHONPATH": path, "COLUMNS": "200", **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_cli_imports_and_reports_rejections(kibana: FakeKibana, tmp_path: Path) -> None:
    ok = _cli(["--url", kibana.url], tmp_path, WIREWATCH_KIBANA_API_KEY=API_KEY)
    assert ok.returncode == 0, ok.stderr
    assert "wirewatch.ndjson: 13 object(s) imported" in ok.stdout

    partial = tmp_path / "partial.ndjson"
    partial.write_text(
        "\n".join(
            line
            for line in SAVED_OBJECTS_FILE.read_text().splitlines()
            if json.loads(line)["id"] != "wirewatch-articles"
        )
    )
    bad = _cli(
        ["--url", kibana.url, "--file", str(partial)], tmp_path, WIREWATCH_KIBANA_API_KEY=API_KEY
    )
    assert bad.returncode == 1
    rejected = [line for line in bad.stderr.splitlines() if line.startswith("rejected:")]
    # The three article searches and the six visualisations point at the articles data view.
    assert len(rejected) == 9, bad.stderr
    assert "Kibana rejected 9 object(s)" in bad.stderr
    assert API_KEY not in bad.stdout + bad.stderr

    denied = _cli(["--url", kibana.url], tmp_path, WIREWATCH_KIBANA_API_KEY="wrong")
    assert denied.returncode == 1 and "refused the request (401)" in denied.stderr
