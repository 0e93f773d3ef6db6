"""The architecture of `processors/` and `streams/`, checked on the source with `ast`.

1. No import cycles (imports inside functions count too).
2. Imports run one way, by layer (`LAYERS`; `streams.topology`'s docstring): a module may
   import its own layer and the layers below it, never a higher one.
3. No module over `MAX_LINES` lines.
4. One durable send: only the two `Sender` adapters of `streams/clients/kafka.py` call a
   producer's or a topic's `.send(`; everything else goes through `send_durably`.
5. One retry loop: `streams.core.retry.backoff` is used only in `streams/core/retry.py` (and
   the allow-listed schedule of `streams/publishing/follow.py`); no sleep in an `except`
   handler (a hand-written retry) outside `streams/core/retry.py`.
6. No attributes hung on the Faust app from outside its class; no
   `# type: ignore[attr-defined]` in `streams/`.

Each checker is a small function on one source text (or on the import graph) and is tested
against a deliberately bad snippet at the end of this file, so every rule can fail.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.astutil import dotted as _dotted

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("processors", "streams")
MAX_LINES = 400

# ----------------------------------------------------------------------------- the sources


def _module_of(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, Path]:
    """Every module of processors/ and streams/ -> its file."""
    return {
        _module_of(path): path
        for package in PACKAGES
        for path in sorted((REPO / package).rglob("*.py"))
    }


SOURCES = _sources()
PACKAGE_MODULES = frozenset(m for m, p in SOURCES.items() if p.name == "__init__.py")


def _file(module: str) -> str:
    path = SOURCES.get(module)
    return str(path.relative_to(REPO)) if path else module.replace(".", "/") + ".py"


def _text(module: str) -> str:
    return SOURCES[module].read_text("utf-8")


def _streams() -> list[str]:
    return [m for m in SOURCES if m == "streams" or m.startswith("streams.")]


@dataclass(frozen=True)
class Site:
    """One finding: where (module, enclosing function, line) and what."""

    module: str
    function: str
    """Dotted name of the enclosing functions and classes; `<module>` at the top level."""
    line: int
    what: str

    def __str__(self) -> str:
        return f"{_file(self.module)}:{self.line} in {self.function}: {self.what}"


def _listing(sites: Iterable[object]) -> str:
    return "\n".join(f"  {s}" for s in sites)


# ------------------------------------------------------------------ names, scopes, aliases

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _nodes(tree: ast.AST) -> Iterator[tuple[ast.AST, tuple[ast.AST, ...]]]:
    """Every node with its ancestors (outermost first)."""
    stack: list[tuple[ast.AST, tuple[ast.AST, ...]]] = [(tree, ())]
    while stack:
        node, ancestors = stack.pop()
        yield node, ancestors
        inner = (*ancestors, node)
        stack.extend((child, inner) for child in reversed(list(ast.iter_child_nodes(node))))


def _scope(ancestors: tuple[ast.AST, ...]) -> str:
    names = [a.name for a in ancestors if isinstance(a, _SCOPES)]
    return ".".join(names) or "<module>"


def _absolute(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute module of `from <level dots><name> import ...` written in `module`."""
    if not level:
        return name or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def _aliases(tree: ast.Module, module: str, is_package: bool = False) -> dict[str, str]:
    """Local name -> qualified name: every import of the module (at any depth) and its own
    top-level definitions."""
    out: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            out[node.name] = f"{module}.{node.name}"
    for imp in ast.walk(tree):
        if isinstance(imp, ast.Import):
            for a in imp.names:
                if a.asname:
                    out[a.asname] = a.name
                else:
                    top = a.name.split(".", 1)[0]
                    out[top] = top
        elif isinstance(imp, ast.ImportFrom):
            base = _absolute(module, is_package, imp.level, imp.module)
            for a in imp.names:
                out[a.asname or a.name] = f"{base}.{a.name}"
    return out


def _qualified(node: ast.expr, aliases: Mapping[str, str]) -> str | None:
    parts = _dotted(node)
    if parts is None:
        return None
    return ".".join([aliases.get(parts[0], parts[0]), *parts[1:]])


# ================================================================ 1, 2: the import graph


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int

    def __str__(self) -> str:
        return f"{_file(self.importer)}:{self.line}: {self.importer} imports {self.imported}"


def _ours(name: str) -> bool:
    return any(name == p or name.startswith(f"{p}.") for p in PACKAGES)


def _known(name: str, modules: frozenset[str]) -> str | None:
    """The module `name` is, or the innermost module containing it (`a.b.func` -> `a.b`)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def imports_of(
    source: str, module: str, modules: frozenset[str], is_package: bool = False
) -> list[Import]:
    """Every import of one of `modules` in `source`, at any depth (functions,
    `if TYPE_CHECKING:` and all): `from x import y` is an import of `x.y` when that is a
    module, else of `x`; relative imports are resolved against `module`."""
    found: list[Import] = []

    def add(name: str, line: int) -> None:
        target = _known(name, modules)
        if target is not None and target != module:
            found.append(Import(module, target, line))

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for a in node.names:
                add(a.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, is_package, node.level, node.module)
            for a in node.names:
                sub = f"{base}.{a.name}"
                add(sub if sub in modules else base, node.lineno)
    return found


def _all_imports() -> list[Import]:
    modules = frozenset(SOURCES)
    return [
        i
        for module in SOURCES
        for i in imports_of(_text(module), module, modules, module in PACKAGE_MODULES)
    ]


def _graph(imports: Iterable[Import]) -> dict[str, dict[str, Import]]:
    """importer -> imported -> its first import statement."""
    graph: dict[str, dict[str, Import]] = {}
    for i in sorted(imports, key=lambda i: i.line):
        graph.setdefault(i.importer, {}).setdefault(i.imported, i)
    return graph


def _components(graph: Mapping[str, Mapping[str, object]]) -> list[list[str]]:
    """Strongly connected components (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    nodes = sorted(set(graph) | {t for ts in graph.values() for t in ts})
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph.get(root, {}))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    out.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, {})))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return out


def find_cycles(imports: Iterable[Import]) -> list[list[Import]]:
    """One shortest cycle per group of mutually importing modules, as its import edges."""
    graph = _graph(imports)
    cycles: list[list[Import]] = []
    for component in _components(graph):
        if len(component) < 2:
            continue
        members = set(component)
        start = component[0]
        came: dict[str, Import] = {}
        queue = deque([start])
        while queue:  # breadth first from `start` back to it, inside the component
            node = queue.popleft()
            for target, edge in sorted(graph.get(node, {}).items()):
                if target not in members or target in came:
                    continue
                came[target] = edge
                queue.append(target)
            if start in came:
                break
        path: list[Import] = [came[start]]
        while path[0].importer != start:
            path.insert(0, came[path[0].importer])
        cycles.append(path)
    return cycles


def _cycle_text(cycle: list[Import]) -> str:
    steps = [f"{e.importer} ({_file(e.importer)}:{e.line})" for e in cycle]
    return " -> ".join([*steps, cycle[0].importer])


# The layers, bottom up (`streams.topology`: settings -> core -> clients -> stages -> topology
# -> app -> operations -> CLI). A module belongs to the innermost entry containing it.
LAYERS: dict[str, int] = {
    "processors": 0,  # pure: may import nothing from streams
    "streams": 1,  # not in the brief: the package's __init__ (a docstring), under everything
    "streams.settings": 1,
    "streams.logs": 1,
    "streams.metrics": 1,
    "streams.core": 2,  # faults, retry, send, batches, deadletter
    "streams.clients": 3,
    "streams.offsets": 4,
    "streams.stages": 4,
    "streams.topology": 5,
    "streams.app": 6,
    "streams.publishing": 7,
    "streams.operations": 7,
    "streams.stack": 7,
    "streams.cli": 8,
    "streams.__main__": 8,
}
EXACT_ONLY = frozenset({"streams"})
"""Entries that are one module, not a package of modules (else `streams` would hold all)."""


def layer_of(module: str, layers: Mapping[str, int] = LAYERS) -> int | None:
    parts = module.split(".")
    while parts:
        key = ".".join(parts)
        if key in layers and (key == module or key not in EXACT_ONLY):
            return layers[key]
        parts.pop()
    return None


def upward_imports(
    imports: Iterable[Import], layer: Callable[[str], int | None] = layer_of
) -> list[tuple[Import, int, int]]:
    """Imports of a higher layer than the importer's, with both layers."""
    out: list[tuple[Import, int, int]] = []
    for i in imports:
        low, high = layer(i.importer), layer(i.imported)
        if low is not None and high is not None and high > low:
            out.append((i, low, high))
    return out


def test_no_import_cycles() -> None:
    cycles = find_cycles(_all_imports())
    assert not cycles, "import cycles:\n" + "\n".join(f"  {_cycle_text(c)}" for c in cycles)


def test_every_module_has_a_layer() -> None:
    missing = sorted(m for m in SOURCES if layer_of(m) is None)
    assert not missing, f"modules in no layer (add them to LAYERS): {missing}"


def test_every_layer_entry_is_a_module_or_package() -> None:
    stale = sorted(k for k in LAYERS if k not in SOURCES)
    assert not stale, f"LAYERS entries that are no module: {stale}"


def test_imports_run_one_way() -> None:
    bad = upward_imports(_all_imports())
    assert not bad, "imports of a higher layer (lower may not import higher):\n" + "\n".join(
        f"  {i} (layer {low} imports layer {high})" for i, low, high in bad
    )


# ========================================================================= 3: module size


def long_modules(sources: Mapping[str, str], limit: int = MAX_LINES) -> list[tuple[str, int]]:
    """Modules over `limit` lines, longest first."""
    counts = [(module, len(text.splitlines())) for module, text in sources.items()]
    return sorted(((m, n) for m, n in counts if n > limit), key=lambda x: (-x[1], x[0]))


def test_no_module_over_the_line_limit() -> None:
    bad = long_modules({m: _text(m) for m in SOURCES})
    assert not bad, f"modules over {MAX_LINES} lines (split them):\n" + "\n".join(
        f"  {_file(m)}: {n} lines" for m, n in bad
    )


# ===================================================================== 4: one durable send

SEND_ALLOWED = frozenset(
    {
        # The two `Sender` adapters: the only calls of a producer's / topic's own send.
        ("streams.clients.kafka", "ProducerSender.enqueue"),  # kafka-python KafkaProducer
        ("streams.clients.kafka", "FaustSender.enqueue"),  # a Faust topic
    }
)


def send_calls(source: str, module: str) -> list[Site]:
    """Every `<x>.send(` call, except `self.send(` inside a class that defines `send` (the
    class's own method, e.g. `Stage.send` = `send_durably`; its body is checked as well)."""
    found: list[Site] = []
    for node, ancestors in _nodes(ast.parse(source)):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "send"
        ):
            continue
        receiver = node.func.value
        classes = [a for a in ancestors if isinstance(a, ast.ClassDef)]
        if isinstance(receiver, ast.Name) and receiver.id == "self" and classes:
            own = {
                n.name
                for n in classes[-1].body
                if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            }
            if "send" in own:
                continue
        what = ".".join(_dotted(receiver) or ["…"]) + ".send(…)"
        found.append(Site(module, _scope(ancestors), node.lineno, what))
    return found


def _all_sends() -> list[Site]:
    return [s for m in _streams() for s in send_calls(_text(m), m)]


def test_only_the_sender_adapters_call_send() -> None:
    bad = [s for s in _all_sends() if (s.module, s.function) not in SEND_ALLOWED]
    assert not bad, (
        "producer/topic .send( outside the Sender adapters of streams/clients/kafka.py; "
        "use streams.core.send.send_durably:\n" + _listing(bad)
    )


def test_both_sender_adapters_still_send() -> None:
    used = {(s.module, s.function) for s in _all_sends()}
    assert used >= SEND_ALLOWED, f"stale allow-list entries: {sorted(SEND_ALLOWED - used)}"


# ===================================================================== 5: one retry loop

BACKOFF = "streams.core.retry.backoff"
RETRY_MODULE = "streams.core.retry"

BACKOFF_ALLOWED = frozenset(
    {
        # Not a retry loop: a failing feed's *next poll* is scheduled `backoff(...)` seconds
        # later (`src.next_due`), and the follow loop polls what is due. Checked to stay a
        # schedule by `test_follow_backoff_is_a_schedule`.
        ("streams.publishing.follow", "Follower.poll"),
    }
)

SLEEPS = frozenset({"asyncio.sleep", "time.sleep"})


def backoff_uses(source: str, module: str, is_package: bool = False) -> list[Site]:
    """Every reference (call or not) to `streams.core.retry.backoff`, however imported."""
    tree = ast.parse(source)
    aliases = _aliases(tree, module, is_package)
    found: list[Site] = []
    for node, ancestors in _nodes(tree):
        if (
            isinstance(node, ast.Name | ast.Attribute)
            and isinstance(node.ctx, ast.Load)
            and _qualified(node, aliases) == BACKOFF
        ):
            found.append(Site(module, _scope(ancestors), node.lineno, "backoff"))
    return found


def _is_sleep(call: ast.Call, aliases: Mapping[str, str]) -> bool:
    """`asyncio.sleep`/`time.sleep` however imported, or any `sleep`/`x.sleep` (injected)."""
    func = call.func
    if isinstance(func, ast.Name) and func.id == "sleep":
        return True
    if isinstance(func, ast.Attribute) and func.attr == "sleep":
        return True
    return _qualified(func, aliases) in SLEEPS


def sleeps_in_handlers(source: str, module: str, is_package: bool = False) -> list[Site]:
    """Sleeps that run inside an `except` handler (not in a function defined inside one)."""
    tree = ast.parse(source)
    aliases = _aliases(tree, module, is_package)
    found: list[Site] = []
    for node, ancestors in _nodes(tree):
        if not (isinstance(node, ast.Call) and _is_sleep(node, aliases)):
            continue
        for a in reversed(ancestors):
            if isinstance(a, _FUNCTIONS):
                break
            if isinstance(a, ast.ExceptHandler):
                what = ".".join(_dotted(node.func) or ["sleep"]) + "(…) in an except handler"
                found.append(Site(module, _scope(ancestors), node.lineno, what))
                break
    return found


def schedule_problems(source: str, module: str, function: str) -> list[str]:
    """Why `backoff` in `function` (dotted, `Class.method`) is not a plain schedule: it must
    not be inside a loop, the function must not sleep, and it must set a `next_due`."""
    tree = ast.parse(source)
    aliases = _aliases(tree, module)
    target = None
    for node, ancestors in _nodes(tree):
        if (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and _scope((*ancestors, node)) == function
        ):
            target = node
    if target is None:
        return [f"no function {function}"]
    problems: list[str] = []
    calls = 0
    for node, ancestors in _nodes(target):
        if isinstance(node, ast.Call) and _qualified(node.func, aliases) == BACKOFF:
            calls += 1
            if any(isinstance(a, ast.For | ast.AsyncFor | ast.While) for a in ancestors):
                problems.append(f"line {node.lineno}: backoff inside a loop")
        if isinstance(node, ast.Call) and _is_sleep(node, aliases):
            problems.append(f"line {node.lineno}: sleeps")
    if not calls:
        problems.append("calls no backoff")
    sets_due = any(
        isinstance(t, ast.Attribute) and t.attr == "next_due"
        for n in ast.walk(target)
        if isinstance(n, ast.Assign)
        for t in n.targets
    )
    if not sets_due:
        problems.append("does not schedule (assigns no `.next_due`)")
    return problems


def test_backoff_only_in_the_retry_loop() -> None:
    bad = [
        s
        for m in _streams()
        if m != RETRY_MODULE
        for s in backoff_uses(_text(m), m, m in PACKAGE_MODULES)
        if (s.module, s.function) not in BACKOFF_ALLOWED
    ]
    assert not bad, (
        "backoff outside streams/core/retry.py; retry with streams.core.retry.retry:\n"
        + _listing(bad)
    )


def test_follow_backoff_is_a_schedule() -> None:
    for module, function in sorted(BACKOFF_ALLOWED):
        problems = schedule_problems(_text(module), module, function)
        assert not problems, f"{_file(module)} {function} is no longer a schedule: {problems}"


def test_no_hand_written_retry() -> None:
    bad = [
        s
        for m in _streams()
        if m != RETRY_MODULE
        for s in sleeps_in_handlers(_text(m), m, m in PACKAGE_MODULES)
    ]
    assert not bad, (
        "sleep in an except handler (a hand-written retry); use streams.core.retry.retry:\n"
        + _listing(bad)
    )


# ============================================================ 6: nothing hung on the app

APP_BASES = frozenset({"faust.App", "faust.app.App", "faust.app.base.App"})
IGNORE = re.compile(r"#\s*type:\s*ignore\[([^\]]*)\]")


def _is_app(node: ast.expr) -> bool:
    """`app` or `<anything>.app` (`self.app`, `worker.app`)."""
    return (isinstance(node, ast.Name) and node.id == "app") or (
        isinstance(node, ast.Attribute) and node.attr == "app"
    )


def _targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        out: list[ast.expr] = []
        for t in node.targets:
            out.extend(t.elts if isinstance(t, ast.Tuple | ast.List) else [t])
        return out
    if isinstance(node, ast.AugAssign | ast.AnnAssign):
        return [node.target]
    return []


def app_attributes(source: str, module: str, is_package: bool = False) -> list[Site]:
    """`app.<x> = ...` (also augmented, annotated, `setattr(app, ...)`) outside a subclass
    of `faust.App`."""
    tree = ast.parse(source)
    aliases = _aliases(tree, module, is_package)
    found: list[Site] = []
    for node, ancestors in _nodes(tree):
        in_app_class = any(
            isinstance(a, ast.ClassDef)
            and any(_qualified(b, aliases) in APP_BASES for b in a.bases)
            for a in ancestors
        )
        if in_app_class:
            continue
        for t in _targets(node):
            if isinstance(t, ast.Attribute) and _is_app(t.value):
                where = ".".join(_dotted(t) or ["…", t.attr])
                found.append(Site(module, _scope(ancestors), t.lineno, f"{where} = …"))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "setattr"
            and node.args
            and _is_app(node.args[0])
        ):
            found.append(Site(module, _scope(ancestors), node.lineno, "setattr(app, …)"))
    return found


def attr_defined_ignores(source: str, module: str) -> list[Site]:
    """`# type: ignore[...attr-defined...]` comments (comments only, not strings)."""
    found: list[Site] = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type != tokenize.COMMENT:
            continue
        match = IGNORE.search(tok.string)
        if match and "attr-defined" in {c.strip() for c in match.group(1).split(",")}:
            found.append(Site(module, "<comment>", tok.start[0], tok.string))
    return found


def test_nothing_is_hung_on_the_faust_app() -> None:
    bad = [s for m in _streams() for s in app_attributes(_text(m), m, m in PACKAGE_MODULES)]
    assert not bad, (
        "attributes set on the Faust app from outside its class (declare and set them in "
        "the app class, e.g. a constructor argument):\n" + _listing(bad)
    )


def test_no_attr_defined_ignores() -> None:
    bad = [s for m in _streams() for s in attr_defined_ignores(_text(m), m)]
    assert not bad, "# type: ignore[attr-defined] in streams/:\n" + _listing(bad)


# ================================================== the checkers fail on bad code: snippets


def _graph_of(sources: Mapping[str, str]) -> list[Import]:
    modules = frozenset(sources) | {"pkg"}
    return [
        i
        for m, s in sources.items()
        for i in imports_of(s, m, modules, is_package=m in {"pkg", "pkg.sub"})
    ]


def test_the_cycle_check_finds_cycles_through_function_level_and_relative_imports() -> None:
    imports = _graph_of(
        {
            "pkg.a": "from pkg import b\n",  # `b` is a module: an import of pkg.b
            "pkg.b": "def f():\n    from .c import thing\n",  # relative, inside a function
            "pkg.c": "import os\nimport pkg.a\n",
            "pkg.d": "from pkg.a import name\n",  # a name of pkg.a: an import of pkg.a
            "pkg.sub": "from . import e\n",  # a package's relative import: pkg.sub.e
            "pkg.sub.e": "from .. import d\n",
        }
    )
    assert {(i.importer, i.imported) for i in imports} == {
        ("pkg.a", "pkg.b"),
        ("pkg.b", "pkg.c"),
        ("pkg.c", "pkg.a"),
        ("pkg.d", "pkg.a"),
        ("pkg.sub", "pkg.sub.e"),
        ("pkg.sub.e", "pkg.d"),
    }
    cycles = find_cycles(imports)
    assert [_cycle_text(c) for c in cycles] == [
        "pkg.a (pkg/a.py:1) -> pkg.b (pkg/b.py:2) -> pkg.c (pkg/c.py:2) -> pkg.a"
    ]
    assert find_cycles(_graph_of({"pkg.a": "import pkg.b\n", "pkg.b": "x = 1\n"})) == []


def test_the_layer_check_finds_upward_imports() -> None:
    imports = _graph_of(
        {
            "processors.x": "def f():\n    from streams.settings import Settings\n",
            "streams.core.send": "from streams.clients.kafka import ProducerSender\n",
            "streams.clients.kafka": "from streams.core.send import Sender\n",
            "streams.stages.base": "from streams.offsets import Guard\n",  # same layer
            "streams.offsets": "import processors.x\n",
            "streams.settings": "",
        }
    )
    bad = {(i.importer, i.imported, low, high) for i, low, high in upward_imports(imports)}
    assert bad == {
        ("processors.x", "streams.settings", 0, 1),
        ("streams.core.send", "streams.clients.kafka", 2, 3),
    }
    assert layer_of("streams") == 1
    assert layer_of("streams.newthing") is None  # new modules must be placed in a layer
    assert layer_of("streams.cli.ops") == 8
    assert layer_of("processors.rules.query") == 0


def test_the_size_check_finds_long_modules() -> None:
    sources = {"a": "x = 1\n" * 401, "b": "x = 1\n" * 400, "c": "x = 1\n" * 900}
    assert long_modules(sources) == [("c", 900), ("a", 401)]


SENDS = """
class ProducerSender:
    async def enqueue(self, topic, key, value):
        return self.producer.send(topic, key=key, value=value)

class Stage:
    async def send(self, role, records):
        return await send_durably(self.sender, role, records)

    async def forward(self, records):
        await self.send("next", records)  # its own method: fine

class Sneaky:
    async def process(self, event):
        await self.topics["out"].send(value=event)
        await self.app.topic("x").send(value=event)
        await self.send(event)  # no own `send`: counted

async def post(session, url):
    await session.post(url)  # not a send
"""


def test_the_send_check_finds_direct_sends() -> None:
    found = {(s.function, s.line) for s in send_calls(SENDS, "streams.bad")}
    assert found == {
        ("ProducerSender.enqueue", 4),
        ("Sneaky.process", 15),
        ("Sneaky.process", 16),
        ("Sneaky.process", 17),
    }
    bad = [
        s for s in send_calls(SENDS, "streams.bad") if (s.module, s.function) not in SEND_ALLOWED
    ]
    assert len(bad) == 4  # an allowed function name in another module is no exemption


RETRIES = """
import asyncio
import time as t
from time import sleep as nap
from streams.core import retry as r
from streams.core.retry import backoff

def hand_rolled(call):
    for attempt in range(5):
        try:
            return call()
        except OSError:
            t.sleep(backoff(attempt))

async def also(call, sleep):
    while True:
        try:
            return await call()
        except Exception:
            await asyncio.sleep(1)
            sleep(2)
            nap(r.backoff(3))
        finally:
            t.sleep(0)  # not in a handler

def fine():
    try:
        pass
    except Exception:
        def later():
            t.sleep(1)  # defined in the handler, not run there
        return later
"""


def test_the_retry_checks_find_backoff_and_sleeps_in_handlers() -> None:
    uses = {(s.function, s.line) for s in backoff_uses(RETRIES, "streams.bad")}
    assert uses == {("hand_rolled", 13), ("also", 22)}
    sleeps = {(s.function, s.line) for s in sleeps_in_handlers(RETRIES, "streams.bad")}
    assert sleeps == {("hand_rolled", 13), ("also", 20), ("also", 21), ("also", 22)}
    relative = "from .retry import backoff\ndelay = backoff(1)\n"
    assert len(backoff_uses(relative, "streams.core.batches")) == 1


def test_the_schedule_check_rejects_a_loop() -> None:
    good = (
        "from streams.core.retry import backoff\n"
        "class Follower:\n"
        "    def poll(self, src):\n"
        "        src.next_due = self.clock() + backoff(src.failures)\n"
    )
    assert schedule_problems(good, "streams.bad", "Follower.poll") == []
    looping = (
        "import time\n"
        "from streams.core.retry import backoff\n"
        "class Follower:\n"
        "    def poll(self, src):\n"
        "        while True:\n"
        "            time.sleep(backoff(src.failures))\n"
    )
    assert sorted(schedule_problems(looping, "streams.bad", "Follower.poll")) == [
        "does not schedule (assigns no `.next_due`)",
        "line 6: backoff inside a loop",
        "line 6: sleeps",
    ]
    assert schedule_problems(good, "streams.bad", "Follower.other") == [
        "no function Follower.other"
    ]


APPS = """
import faust

class WirewatchApp(faust.App):
    def __init__(self, *args, hole=5.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.hole = hole
        app = self
        app.inside = 1  # inside the app class: fine

def build(settings):
    app = WirewatchApp("id")
    app.offset_hole_seconds = settings.hole
    app.stages, other = {}, 1
    app.count += 1
    setattr(app, "x", 1)
    worker.app.extra: int = 2
    app.conf.web_port = 6066  # the app's configuration, not an attribute of the app
    x = app.stages  # reading is fine
    app.service(x)  # type: ignore[arg-type]
    app.stage = x  # type: ignore[attr-defined]
    return "# type: ignore[attr-defined]"  # a string, not a comment
"""


def test_the_app_checks_find_attributes_and_ignores() -> None:
    found = {(s.function, s.line) for s in app_attributes(APPS, "streams.bad")}
    assert found == {("build", n) for n in (13, 14, 15, 16, 17, 21)}
    ignores = [s.line for s in attr_defined_ignores(APPS, "streams.bad")]
    assert ignores == [21]
    assert [
        s.line for s in attr_defined_ignores("x.y = 1  # type: ignore[misc, attr-defined]\n", "m")
    ] == [1]


@pytest.mark.parametrize(
    "source",
    [
        "def f(text):\n    return text.split()\n",
        "import asyncio\nasync def f():\n    await asyncio.sleep(1)\n",  # a poll, not a retry
        "async def f(session, url):\n    await session.post(url)\n",
    ],
)
def test_clean_code_passes_every_source_check(source: str) -> None:
    for check in (send_calls, backoff_uses, sleeps_in_handlers, app_attributes):
        assert check(source, "streams.ok") == []
    assert attr_defined_ignores(source, "streams.ok") == []
