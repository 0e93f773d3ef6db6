"""Kibana saved objects: read the packaged NDJSON (`streams/resources/kibana/wirewatch.ndjson`,
see `streams.clients.resources`) or an operator's export, and import it over Kibana's API.

`POST /api/saved_objects/_import?overwrite=true` takes a multipart form with one `file` part
and answers 200 with `{success, successCount, successResults, errors}` even when some objects
fail; each entry of `errors` names the object and why (`missing_references`, `conflict`,
`unsupported_type`, `unknown` with a message). Only a request Kibana cannot take at all
(bad auth, malformed file, too large) gets a non-200 status.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from typing import Any

from processors.errors import WirewatchError
from streams.clients import resources
from streams.settings import Settings


class KibanaError(WirewatchError):
    """Kibana could not be reached or refused the whole request."""


class SavedObjectsFileError(WirewatchError):
    """The NDJSON file is not a list of saved objects; the message names the line."""


def read_saved_objects(path: Traversable) -> list[dict[str, Any]]:
    """The saved objects of an NDJSON export (a file, or the packaged one), checked for the
    keys the import API needs."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SavedObjectsFileError(f"{path}: cannot read: {exc}") from exc
    objects: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SavedObjectsFileError(f"{path}:{number}: not JSON: {exc.msg}") from exc
        if not isinstance(obj, dict):
            raise SavedObjectsFileError(f"{path}:{number}: not a JSON object")
        if "exportedCount" in obj:  # the summary line Kibana's export appends
            continue
        missing = [k for k in ("type", "id", "attributes") if k not in obj]
        if missing:
            raise SavedObjectsFileError(f"{path}:{number}: missing {', '.join(missing)}")
        objects.append(obj)
    if not objects:
        raise SavedObjectsFileError(f"{path}: no saved objects")
    return objects


DATA_VIEW_IDS = ("wirewatch-articles", "wirewatch-alerts")


def bind_data_views(objects: list[dict[str, Any]], settings: Settings) -> list[dict[str, Any]]:
    """The objects with the data views pointed at this deployment's alias and alerts index.

    The file carries the defaults (`articles`, `articles-alerts`); a deployment with another
    `WIREWATCH_ES_ALIAS` or `WIREWATCH_ALERTS_INDEX` gets data views over its own names.
    """
    titles = {
        "wirewatch-articles": settings.es_alias,
        "wirewatch-alerts": settings.alerts_index_name,
    }
    bound = []
    for obj in objects:
        if obj["type"] == "index-pattern" and obj["id"] in titles:
            obj = {**obj, "attributes": {**obj["attributes"], "title": titles[obj["id"]]}}
        bound.append(obj)
    return bound


def to_ndjson(objects: list[dict[str, Any]]) -> bytes:
    return b"".join(
        json.dumps(o, ensure_ascii=False, separators=(",", ":")).encode() + b"\n" for o in objects
    )


def multipart_file(field_name: str, filename: str, content: bytes) -> tuple[str, bytes]:
    """A multipart/form-data body with one file part: (content type header, body)."""
    boundary = f"wirewatch-{uuid.uuid4().hex}"
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{field_name}"; filename="{filename}"\r\n'
        "Content-Type: application/ndjson\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", head + content + tail


@dataclass(frozen=True)
class ImportFailure:
    """One object Kibana did not import, and why."""

    type: str
    id: str
    title: str
    reason: str

    def __str__(self) -> str:
        return f"{self.type} {self.id!r} ({self.title}): {self.reason}"


@dataclass(frozen=True)
class ImportReport:
    success_count: int
    failures: list[ImportFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def _failure_reason(error: dict[str, Any]) -> str:
    kind = str(error.get("type", "unknown"))
    if kind == "missing_references":
        refs = ", ".join(f"{r.get('type')} {r.get('id')!r}" for r in error.get("references", []))
        return f"missing references: {refs or '?'} (import the objects they point to first)"
    if kind == "unsupported_type":
        return "unsupported type (this Kibana has no such saved-object type)"
    if kind in {"conflict", "ambiguous_conflict"}:
        return f"{kind.replace('_', ' ')} with an existing object"
    message = error.get("message") or error.get("reason") or "no message"
    status = error.get("statusCode")
    return f"{kind}{f' ({status})' if status else ''}: {message}"


def parse_import_response(body: dict[str, Any]) -> ImportReport:
    """The import API's 200 answer as a report with one failure per rejected object."""
    failures = []
    for err in body.get("errors") or []:
        meta = err.get("meta") or {}
        failures.append(
            ImportFailure(
                type=str(err.get("type", "?")),
                id=str(err.get("id", "?")),
                title=str(err.get("title") or meta.get("title") or ""),
                reason=_failure_reason(err.get("error") or {}),
            )
        )
    return ImportReport(success_count=int(body.get("successCount", 0)), failures=failures)


def import_url(settings: Settings, base_url: str | None = None) -> str:
    base = (base_url or settings.kibana_url).rstrip("/")
    space = f"/s/{settings.kibana_space}" if settings.kibana_space else ""
    return f"{base}{space}/api/saved_objects/_import?overwrite=true"


def import_saved_objects(
    settings: Settings, path: Traversable | None = None, *, base_url: str | None = None
) -> ImportReport:
    """Import one NDJSON file (default: the packaged saved objects), overwriting objects with
    the same ids.

    The data views are bound to the configured alias and alerts index first (`bind_data_views`).

    Raises `SavedObjectsFileError` before sending a file that is not saved objects, and
    `KibanaError` when Kibana is unreachable or refuses the request as a whole.
    """
    path = path if path is not None else resources.saved_objects()
    # Parsed here so a broken file fails with a line number rather than inside Kibana.
    objects = bind_data_views(read_saved_objects(path), settings)
    content_type, body = multipart_file("file", path.name, to_ndjson(objects))
    url = import_url(settings, base_url)
    headers = {"kbn-xsrf": "true", "Content-Type": content_type}
    if settings.kibana_api_key is not None:
        headers["Authorization"] = f"ApiKey {settings.kibana_api_key.get_secret_value()}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=settings.kibana_timeout) as resp:
            payload = resp.read()
    except urllib.error.HTTPError as exc:
        raise KibanaError(_http_error_message(exc)) from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise KibanaError(f"Kibana at {url.split('/api/')[0]} is unreachable: {reason}") from exc
    try:
        answer = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise KibanaError(
            f"Kibana answered with something that is not JSON: {payload[:200]!r}"
        ) from exc
    if not isinstance(answer, dict):
        raise KibanaError(f"unexpected answer from Kibana: {str(answer)[:200]}")
    return parse_import_response(answer)


def _http_error_message(exc: urllib.error.HTTPError) -> str:
    try:
        detail = json.loads(exc.read())
        message = detail.get("message") or detail.get("error") or str(detail)
    except (ValueError, AttributeError, OSError):
        message = exc.reason
    if exc.code in (401, 403):
        return (
            f"Kibana refused the request ({exc.code}): {message}; check WIREWATCH_KIBANA_API_KEY "
            "(an encoded API key with saved-object write privileges)"
        )
    if exc.code == 413:
        return f"Kibana refused the file as too large (413): {message}"
    return f"Kibana rejected the import ({exc.code}): {message}"
