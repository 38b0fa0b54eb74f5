"""The package's shape: no import circles, modules of a readable size, one dependency direction."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import losant_async

PACKAGE = Path(losant_async.__file__).parent
ROOT = "losant_async"

# Modules exempt from the size rule (issue 12): the command line, the local
# Losant and the façade (one class of thin documented methods).
SIZE_EXEMPT = ("_cli/", "testing/", "_application.py")
MAX_LINES = 500
# Over the limit today and named here so the test stays useful; a split is due.
# The test fails when an entry is no longer over the limit (remove it then).
KNOWN_OVER: frozenset[str] = frozenset()


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements run at import: not in functions or classes, not under TYPE_CHECKING."""
    for node in body:
        if _is_type_checking(node):
            continue
        yield node
        if isinstance(node, ast.If | ast.Try):
            for block in (node.body, node.orelse, *(h.body for h in getattr(node, "handlers", []))):
                yield from _module_level(block)
            yield from _module_level(getattr(node, "finalbody", []))


def _imported(module: str, path: Path, known: dict[str, Path], *, nested: bool) -> set[str]:
    """The package's modules that ``module`` imports (at import time unless ``nested``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    nodes = ast.walk(tree) if nested else _module_level(tree.body)
    found: set[str] = set()
    for node in nodes:
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        for target in targets:
            # Importing a.b.c runs a, a.b and a.b.c (those not already running).
            parts = target.split(".")
            for i in range(1, len(parts) + 1):
                name = ".".join(parts[:i])
                if name in known and not (module + ".").startswith(name + "."):
                    found.add(name)
    found.discard(module)
    return found


def _graph() -> dict[str, set[str]]:
    known = _modules()
    return {name: _imported(name, path, known, nested=False) for name, path in known.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_walk_sees_the_package() -> None:
    """The import walk finds the modules and the edges it is meant to judge."""
    graph = _graph()
    assert "losant_async._convert" in graph["losant_async._params._bodies"]
    assert "losant_async._models" in graph["losant_async._convert._hooks"]
    # Names under TYPE_CHECKING are not edges: __init__ imports only _lazy at run time.
    assert graph[ROOT] == {"losant_async._lazy"}


def test_no_import_circles() -> None:
    """No module imports, at import time, one that (indirectly) imports it back."""
    assert _cycles(_graph()) == []


def test_circle_detection_works() -> None:
    """The circle finder reports a circle it is given."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_hand_written_modules_are_readable_in_one_sitting() -> None:
    """No hand-written module outside the exempt places is over 500 lines."""
    over, stale = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        text = path.read_text(encoding="utf-8")
        if rel.startswith(SIZE_EXEMPT) or text.startswith("# Generated by"):
            continue
        lines = len(text.splitlines())
        if lines > MAX_LINES and rel not in KNOWN_OVER:
            over.append(f"{rel}: {lines} lines")
        elif lines <= MAX_LINES and rel in KNOWN_OVER:
            stale.append(rel)
    assert not over, over
    assert not stale, f"no longer over {MAX_LINES} lines, drop from KNOWN_OVER: {stale}"


def _imports_anywhere(prefix: str) -> dict[str, set[str]]:
    known = _modules()
    return {
        name: _imported(name, path, known, nested=True)
        for name, path in known.items()
        if name == prefix or name.startswith(prefix + ".")
    }


def test_transport_knows_nothing_of_models() -> None:
    """STYLE.md: the transport knows HTTP, not the models or the converter."""
    graph = _graph()
    forbidden = ("losant_async._models", "losant_async._convert", "losant_async._params")
    for module in ("losant_async._transport", "losant_async._http11"):
        for name, imports in graph.items():
            if name == module or name.startswith(module + "."):
                assert not {i for i in imports if i.startswith(forbidden)}, name


def test_testing_does_not_reuse_the_clients_code() -> None:
    """STYLE.md: the local Losant imports none of _transport, _convert or _models, even lazily."""
    forbidden = ("losant_async._transport", "losant_async._convert", "losant_async._models")
    for name, imports in _imports_anywhere("losant_async.testing").items():
        assert not {i for i in imports if i.startswith(forbidden)}, name


def test_models_and_converter_sit_below_the_requests() -> None:
    """STYLE.md: _models, _convert and _params import nothing that sends requests."""
    graph = _graph()
    above = (
        "losant_async._transport",
        "losant_async._client",
        "losant_async._application",
        "losant_async._jobs",
        "losant_async._streams",
        "losant_async._cli",
    )
    for low in ("losant_async._models", "losant_async._convert", "losant_async._params"):
        for name, imports in graph.items():
            if name == low or name.startswith(low + "."):
                assert not {i for i in imports if i.startswith(above)}, name


def _loaded_after(statement: str) -> list[str]:
    """Modules of interest that ``statement`` loads in a fresh interpreter (not there before)."""
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        f"{statement}\n"
        "print('\\n'.join(sorted(set(sys.modules) - before)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.split()


# What a request needs but the client's class does not: the façade, the
# transport, the converter and what they stand on (issue 17, "First use").
NOT_AT_FIRST_USE = (
    "attr",
    "attrs",
    "cattrs",
    "anyio",
    "losant_async._application",
    "losant_async._convert",
    "losant_async._jobs",
    "losant_async._models",
    "losant_async._options",
    "losant_async._params",
    "losant_async._streams",
    "losant_async._transport",
)


def _heavy(loaded: list[str]) -> list[str]:
    below = tuple(f"{name}." for name in NOT_AT_FIRST_USE)
    return [m for m in loaded if m in NOT_AT_FIRST_USE or m.startswith(below)]


def _resources(loaded: list[str]) -> list[str]:
    """The resource modules (``losant_async._api.devices``), not ``_api``'s own helpers."""
    prefix = "losant_async._api."
    return [m for m in loaded if m.startswith(prefix) and not m[len(prefix) :].startswith("_")]


def test_the_clients_class_loads_no_models_nor_converter() -> None:
    """``from losant_async import AsyncLosant`` loads neither attrs, cattrs, anyio nor the models.

    Only httpx comes with it (its ``Timeout`` is the documented default of
    ``timeout``); the rest loads when a client is built or a request sent.
    """
    loaded = _loaded_after("from losant_async import AsyncLosant")
    assert _heavy(loaded) == []
    assert "httpx" in loaded
    # No resource module either: each accessor imports its own on first use.
    assert _resources(loaded) == []


def test_a_resource_loads_only_its_own_module() -> None:
    """``app.devices`` imports the ``devices`` resource (and its models), no other resource."""
    loaded = _loaded_after(
        "from losant_async import AsyncLosant\n"
        "app = AsyncLosant('t' * 12).application('a' * 24)\n"
        "app.devices"
    )
    assert _resources(loaded) == ["losant_async._api.devices"]


def test_names_the_facade_loads_show_the_public_path() -> None:
    """What the façade loads (itself, models, job classes) says ``losant_async``.

    They are no longer imported with ``AsyncLosant`` (whose lookup publishes
    every loaded name): ``application()`` publishes them when it loads them.
    """
    code = (
        "import sys\n"
        "from losant_async import AsyncLosant\n"
        "app = AsyncLosant('t' * 12).application('a' * 24)\n"
        "app.job('j' * 24, 'export')\n"  # the façade loads the job classes on first use
        "from losant_async._jobs import JobError, JobHandle\n"
        "from losant_async._models import Application\n"
        "print(type(app).__module__, JobError.__module__, JobHandle.__module__,"
        " Application.__module__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["losant_async"] * 4


def test_the_query_checks_use_the_models_safe_integer() -> None:
    """``_constants.SAFE_INTEGER`` (read by ``_api._encode``) is the models' own limit."""
    from losant_async._constants import SAFE_INTEGER
    from losant_async._models._base import SAFE_INTEGER as MODELS_SAFE_INTEGER

    assert SAFE_INTEGER == MODELS_SAFE_INTEGER == 2**53 - 1
