"""The wheel carries its own data: built from the checkout, installed into a fresh virtual
environment, it runs `wirewatch init` and `wirewatch rules sync` from a folder that is not
the checkout, against the real stack.

Isolation: the fresh venv gets the wheel only (`--no-deps`); its dependencies come from the
dev venv's site-packages through one plain path line in a `.pth` file. A plain line only
appends that folder to `sys.path`; the `.pth` files inside it (the editable install's, which
point at a checkout) are not processed, so `streams` and `processors` can only be imported
from the wheel. The test asserts that, and runs with no `PYTHONPATH` and a clean environment.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
import uuid
import zipfile
from pathlib import Path

import pytest

from streams.clients import resources
from streams.clients.elastic import make_client
from streams.operations.ops import drop_namespace
from streams.settings import Settings, namespace_env, settings_from_env
from tests.integration.conftest import REPO

pytestmark = pytest.mark.integration

DEFAULT_RULE = "north-korea-sanctions"


def _run(cmd: list[str | Path], env: dict[str, str], cwd: Path, timeout: float = 120) -> str:
    proc = subprocess.run(
        [str(c) for c in cmd], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, (
        f"{' '.join(map(str, cmd))} exited {proc.returncode}\n"
        f"--- stdout ---\n{proc.stdout[-3000:]}\n--- stderr ---\n{proc.stderr[-3000:]}"
    )
    return proc.stdout


def _clean_env(**extra: str) -> dict[str, str]:
    """The process environment without anything that would put a checkout on sys.path or
    change the settings."""
    drop = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONSAFEPATH")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_") and k not in drop}
    return {**env, "PYTHONNOUSERSITE": "1", "COLUMNS": "200", **extra}


def _build_wheel(out: Path) -> Path:
    if importlib.util.find_spec("hatchling") is None:
        pytest.fail("hatchling is not installed in the dev venv: pip install -e '.[dev]'")
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    _run([*cmd, "--no-index", "--quiet", "-w", out, REPO], _clean_env(), cwd=out)
    (wheel,) = out.glob("wirewatch-*.whl")
    return wheel


def _fresh_venv(root: Path, wheel: Path) -> tuple[Path, Path]:
    """A new venv with only the wheel installed, plus a `.pth` line to the dev venv's
    site-packages for the dependencies. Returns (bin folder, its site-packages)."""
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], _clean_env(), cwd=root)
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet"]
    _run([*pip, "--no-deps", "--no-index", wheel], _clean_env(), cwd=root)
    site = Path(
        _run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            _clean_env(),
            cwd=root,
        ).strip()
    )
    deps = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site / "wirewatch-dev-deps.pth").write_text("".join(f"{d}\n" for d in deps))
    return venv / "bin", site


def _editable_paths() -> set[str]:
    """Folders the dev venv's own `.pth` files add (e.g. the editable install's checkout)."""
    found: set[str] = set()
    for pth in Path(sysconfig.get_paths()["purelib"]).glob("*.pth"):
        for line in pth.read_text().splitlines():
            if line.strip() and not line.startswith(("#", "import ", "import\t")):
                found.add(str(Path(line.strip()).resolve()))
    return found


PROBE = """
import json, sys
import processors, streams
from streams.clients import resources
print(json.dumps({
    "streams": streams.__file__,
    "processors": processors.__file__,
    "template": str(resources.resource(resources.INDEX_TEMPLATE)),
    "checked": resources.check(),
    "sys_path": sys.path,
}))
"""


def test_the_installed_wheel_finds_its_data_and_sets_up_the_stack(
    base_settings: Settings, tmp_path: Path
) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    wheel = _build_wheel(dist)
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in resources.check():
        assert f"streams/resources/{name}" in names, f"the wheel lacks {name}"
    assert {"processors/data/events.yaml", "processors/data/gazetteer.yaml"} <= names

    bin_dir, site = _fresh_venv(tmp_path, wheel)
    work = tmp_path / "work"  # not the checkout, no .env
    work.mkdir()

    probe = json.loads(_run([bin_dir / "python", "-c", PROBE], _clean_env(), cwd=work))
    for key in ("streams", "processors", "template"):
        assert Path(probe[key]).resolve().is_relative_to(site.resolve()), (key, probe[key])
    assert probe["checked"] == resources.check()
    fresh_path = {str(Path(p).resolve()) for p in probe["sys_path"] if p}
    assert str(REPO.resolve()) not in fresh_path
    assert not fresh_path & _editable_paths(), "a dev .pth file was processed"

    prefix = f"it{uuid.uuid4().hex[:10]}"
    overrides = {
        **namespace_env(prefix),
        "WIREWATCH_KAFKA_BOOTSTRAP": base_settings.kafka_bootstrap,
        "WIREWATCH_ES_URL": base_settings.es_url,
    }
    settings = settings_from_env(overrides)
    es = make_client(settings)
    env = _clean_env(**overrides)
    try:
        out = _run([bin_dir / "wirewatch", "init"], env, cwd=work)
        assert f"behind alias {prefix!r}" in out
        out = _run([bin_dir / "wirewatch", "rules", "sync"], env, cwd=work)
        assert f"loaded    {DEFAULT_RULE}" in out, out

        assert es.indices.exists_index_template(name=f"{prefix}-template")
        assert es.indices.exists_alias(name=prefix)
        for index in (settings.rules_index_name, settings.alerts_index_name):
            assert es.indices.exists_index_template(name=f"{index}-template")
            assert es.indices.exists(index=index)
        rule = es.get(index=settings.rules_index_name, id=DEFAULT_RULE)["_source"]
        assert rule["id"] == DEFAULT_RULE
        assert Path(rule["source_file"]).resolve().is_relative_to(site.resolve())
    finally:
        drop_namespace(es, settings, prefix)
        es.close()
