"""`processors/` is pure: no file, folder or network I/O in any of its modules.

Files are read in `streams/` and their contents passed in. Each module of `processors/` is
parsed with `ast` and every reference (not only calls: `opener = gzip.open` counts) to a
file-reading name or method is a violation, unless the (module, function) is on the
allow-list below, and then only for the names listed there.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.astutil import dotted as _dotted

REPO = Path(__file__).resolve().parents[2]
PROCESSORS = REPO / "processors"

BANNED_NAMES = frozenset(
    {
        "open",
        "builtins.open",
        "io.open",
        "io.open_code",
        "io.FileIO",
        "codecs.open",
        "gzip.open",
        "gzip.GzipFile",
        "bz2.open",
        "bz2.BZ2File",
        "lzma.open",
        "lzma.LZMAFile",
        "tarfile.open",
        "zipfile.ZipFile",
        "os.open",
        "os.fdopen",
        "os.listdir",
        "os.scandir",
        "os.walk",
        "os.fwalk",
        "os.stat",
        "os.lstat",
        "os.remove",
        "os.unlink",
        "os.rmdir",
        "os.mkdir",
        "os.makedirs",
        "os.rename",
        "os.replace",
        "os.path.exists",
        "os.path.isfile",
        "os.path.isdir",
        "os.path.getsize",
        "os.path.getmtime",
        "spacy.load",
        "py3langid.langid.LanguageIdentifier.from_model_file",
    }
)
"""Qualified names (after resolving imports and aliases) that read or touch files."""

BANNED_MODULES = frozenset(
    {
        "importlib.resources",
        "glob",
        "shutil",
        "tempfile",
        "fileinput",
        "shelve",
        "dbm",
        "sqlite3",
        "mmap",
        "socket",
        "subprocess",
        "urllib.request",
        "http.client",
        "requests",
        "httpx",
        "aiohttp",
    }
)
"""Modules of which any name is I/O (`importlib.resources` only in the allow-list)."""

BANNED_METHODS = frozenset(
    {
        "read_text",
        "read_bytes",
        "write_text",
        "write_bytes",
        "open",
        "iterdir",
        "glob",
        "rglob",
        "walk",
        "exists",
        "is_file",
        "is_dir",
        "stat",
        "touch",
        "mkdir",
        "rmdir",
        "unlink",
    }
)
"""Methods of `pathlib.Path` (and `Traversable`) that do I/O, whatever the receiver."""

RESOURCES = frozenset({"importlib.resources.files", "importlib.resources.files(…).read_text"})

ALLOWED: dict[tuple[str, str], frozenset[str]] = {
    # Packaged data files of processors/ (processors/data/*.yaml, shipped in the wheel), read
    # once through importlib.resources: the only file reads processors/ may do.
    ("processors.rules.schema", "known_event_types"): RESOURCES,  # data/events.yaml types
    ("processors.gazetteer", "read_data"): RESOURCES,  # every data/*.yaml
    ("processors.gazetteer", "read_package_text"): RESOURCES,  # the census name lists
    # Models installed as packages, loaded by their own library by name.
    ("processors.enrich", "load_pipeline"): frozenset({"spacy.load"}),
    ("processors.language", "_identifier"): frozenset(
        {"py3langid.langid.LanguageIdentifier.from_model_file"}
    ),
}
"""(module, function) -> the names it may use: packaged-data loaders only."""


@dataclass(frozen=True)
class Violation:
    module: str
    function: str
    """Dotted name of the enclosing function or class; `<module>` at the top level."""
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} in {self.function}: {self.what}"


def _aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> qualified name, for every import of the module (at any depth)."""
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    out[a.asname] = a.name
                else:
                    top = a.name.split(".", 1)[0]
                    out[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


def _root(node: ast.expr) -> list[str] | None:
    """The dotted name a chain of calls and attributes starts from: `a.b(…).c(…)` -> a.b."""
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Subscript) or (
            isinstance(node, ast.Attribute) and _dotted(node) is None
        ):
            node = node.value
        else:
            return _dotted(node)


def _banned(qualified: str) -> bool:
    return qualified in BANNED_NAMES or any(
        qualified == m or qualified.startswith(f"{m}.") for m in BANNED_MODULES
    )


class _Finder(ast.NodeVisitor):
    def __init__(self, module: str, aliases: dict[str, str]) -> None:
        self.module = module
        self.aliases = aliases
        self.scope: list[str] = []
        self.found: list[Violation] = []

    def _qualify(self, parts: list[str]) -> str:
        return ".".join([self.aliases.get(parts[0], parts[0]), *parts[1:]])

    def _report(self, node: ast.AST, what: str) -> None:
        function = ".".join(self.scope) or "<module>"
        self.found.append(Violation(self.module, function, getattr(node, "lineno", 0), what))

    def _scoped(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scoped

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load) and _banned(self._qualify([node.id])):
            self._report(node, self._qualify([node.id]))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        parts = _dotted(node)
        if parts is not None:  # a.b.c: judge the whole name, its parts are only names
            name = self._qualify(parts)
            if _banned(name) or node.attr in BANNED_METHODS:
                self._report(node, name)
            return
        if node.attr in BANNED_METHODS:
            root = _root(node.value)
            prefix = f"{self._qualify(root)}(…)" if root else "…"
            self._report(node, f"{prefix}.{node.attr}")
        self.generic_visit(node)


def find_io(source: str, module: str) -> list[Violation]:
    """Every reference to a file-reading name or method in `source`, allowed or not."""
    tree = ast.parse(source)
    finder = _Finder(module, _aliases(tree))
    finder.visit(tree)
    return finder.found


def forbidden(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.what not in ALLOWED.get((v.module, v.function), frozenset())]


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PROCESSORS.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _all_violations() -> list[Violation]:
    return [v for module, path in _modules() for v in find_io(path.read_text("utf-8"), module)]


def test_processors_do_no_file_io() -> None:
    bad = forbidden(_all_violations())
    assert not bad, "processors/ must not read files; do it in streams/:\n" + "\n".join(
        map(str, bad)
    )


def test_every_allow_list_entry_is_still_a_loader() -> None:
    used = {(v.module, v.function) for v in _all_violations()}
    assert set(ALLOWED) <= used, f"stale allow-list entries: {sorted(set(ALLOWED) - used)}"


BAD = """
import gzip
import os.path
from os import listdir as ls
from pathlib import Path
from importlib import resources

def read(p):
    with open(p) as fh:
        return fh.read()

def listing(d):
    return ls(d) + [q for q in Path(d).iterdir()]

def check(p):
    return os.path.exists(p) and p.read_text()

opener = gzip.open

class Loader:
    def load(self, name):
        return Path(name).read_bytes()

def load_event_rules():
    return resources.files("processors").joinpath("x.yaml").read_text("utf-8")
"""


def test_the_check_finds_every_kind_of_file_read() -> None:
    found = {(v.function, v.what) for v in find_io(BAD, "processors.bad")}
    assert found == {
        ("read", "open"),
        ("listing", "os.listdir"),
        ("listing", "pathlib.Path(…).iterdir"),
        ("check", "os.path.exists"),
        ("check", "p.read_text"),
        ("<module>", "gzip.open"),
        ("Loader.load", "pathlib.Path(…).read_bytes"),
        ("load_event_rules", "importlib.resources.files"),
        ("load_event_rules", "importlib.resources.files(…).read_text"),
    }
    # An allow-listed function name in another module is no exemption.
    assert len(forbidden(find_io(BAD, "processors.bad"))) == len(found)


def test_the_allow_list_covers_only_its_names() -> None:
    source = (
        "from importlib import resources\n"
        "def read_data(name):\n"
        "    open('/etc/passwd')\n"
        "    return resources.files('processors').joinpath(f'data/{name}').read_text()\n"
    )
    bad = forbidden(find_io(source, "processors.gazetteer"))
    assert [(v.function, v.what) for v in bad] == [("read_data", "open")]


@pytest.mark.parametrize(
    "source",
    [
        "def f(text):\n    return text.replace('a', 'b').split()\n",
        "import json\ndef f(s):\n    return json.loads(s)\n",
        "from pathlib import PurePath\ndef f(s):\n    return PurePath(s).stem\n",
    ],
)
def test_pure_code_passes(source: str) -> None:
    assert find_io(source, "processors.ok") == []
