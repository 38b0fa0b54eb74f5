"""The public surface: `__all__` is exactly the public names, and no asyncio in the package."""

from __future__ import annotations

import ast
import subprocess
import sys
import types
from pathlib import Path

import losant_async
from losant_async import _exceptions, _jobs, _lazy, _models, _streams

PACKAGE = Path(losant_async.__file__).parent


def public_names() -> set[str]:
    # Names load lazily (PEP 562): touch each one so it lands in the module dict.
    for name in dir(losant_async):
        getattr(losant_async, name)
    return {
        name
        for name, value in vars(losant_async).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        # `from __future__ import annotations` leaves a name behind.
        and type(value).__name__ != "_Feature"
    }


def test_all_equals_public_names() -> None:
    """`losant_async.__all__` lists every public name once, and nothing else."""
    assert len(losant_async.__all__) == len(set(losant_async.__all__))
    assert set(losant_async.__all__) == public_names()


def test_all_is_sorted() -> None:
    """`__all__` is sorted case-insensitively, so additions are easy to review."""
    assert losant_async.__all__ == sorted(losant_async.__all__, key=str.casefold)


def test_contract_names_are_exported() -> None:
    """The client, façade, every model, stream, job and error class are importable at the top."""
    required = {
        "AsyncLosant",
        "AsyncApplication",
        "MqttStream",
        "MqttMessage",
        "StreamGap",
        "StreamState",
        "JobError",
        "JobHandle",
        "JobOutcome",
        "JobProgress",
        *_models.__all__,
        *_exceptions.__all__,
        *_jobs.__all__,
        *_streams.__all__,
    }
    missing = required - set(losant_async.__all__)
    assert not missing, f"not exported: {sorted(missing)}"
    for name in losant_async.__all__:
        assert getattr(losant_async, name).__name__ == name


def test_all_equals_the_type_checking_names() -> None:
    """`__all__` lists exactly the names of the `TYPE_CHECKING` block that drives lazy loading."""
    block = _lazy.lazy_names(str(PACKAGE / "__init__.py"))
    assert set(losant_async.__all__) == set(block)
    assert all(name == attr for name, (_home, attr) in block.items())


def test_public_classes_show_the_public_path() -> None:
    """Every exported class has `__module__` "losant_async", so reprs and tracebacks show it."""
    for name in losant_async.__all__:
        assert getattr(losant_async, name).__module__ == "losant_async", name
    assert repr(losant_async.NotFoundError) == "<class 'losant_async.NotFoundError'>"


def test_a_loaded_home_publishes_every_name_in_it() -> None:
    """Touching one name gives its siblings the public path before they are looked up."""
    code = (
        "import losant_async, sys; losant_async.AsyncLosant; "
        "from losant_async._exceptions import NotFoundError; "
        "sys.exit(NotFoundError.__module__ != 'losant_async')"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_import_does_not_load_heavy_dependencies() -> None:
    """`import losant_async` loads neither httpx, attrs nor cattrs (nor ast for the name list)."""
    # Compared with what was loaded before: under coverage (CI measures
    # subprocesses) the interpreter has already imported ast for coverage itself.
    code = (
        "import sys; before = set(sys.modules); import losant_async; "
        "new = set(sys.modules) - before; "
        "sys.exit(any(m in new for m in ('httpx', 'attrs', 'attr', 'cattrs', 'ast')))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_version_comes_from_the_metadata_when_asked() -> None:
    """`__version__` is the installed distribution's; `import losant_async` does not read it."""
    from importlib.metadata import version

    assert losant_async.__version__ == version("losant-async")
    assert "__version__" in dir(losant_async)
    code = (
        "import sys; import losant_async; "
        "sys.exit('importlib.metadata' in sys.modules or '__version__' in vars(losant_async))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_exported_classes_have_docstrings() -> None:
    """Every exported class says what it is."""
    undocumented = [
        name for name in losant_async.__all__ if not (getattr(losant_async, name).__doc__ or "")
    ]
    assert not undocumented


# The one exception: the HTTP/1.1 transport's asyncio fast path, which imports
# asyncio inside the function that runs only when sniffio reports asyncio
# (a bare protocol costs about half the CPU of anyio streams per request).
_ASYNCIO_FAST_PATH = "_http11/_net.py"


def _imports_asyncio(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        modules = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        modules = [node.module or ""]
    else:
        return False
    return any(m == "asyncio" or m.startswith("asyncio.") for m in modules)


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def test_no_asyncio_import_in_the_package() -> None:
    """No module under losant_async/ imports asyncio, so trio works too.

    Only the transport's asyncio fast path may, lazily inside a function (or
    under TYPE_CHECKING for annotations): importing the package never loads it.
    """
    offenders = []
    lazy = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        top_level = [n for n in tree.body if _imports_asyncio(n)]
        for block in (n for n in tree.body if _is_type_checking_block(n)):
            assert isinstance(block, ast.If)
            if rel != _ASYNCIO_FAST_PATH:
                top_level += [n for n in block.body if _imports_asyncio(n)]
        offenders += [f"{rel}:{n.lineno}" for n in top_level]
        nested = [n for n in ast.walk(tree) if _imports_asyncio(n)]
        if rel == _ASYNCIO_FAST_PATH:
            lazy += nested
        else:
            offenders += [f"{rel}:{n.lineno}" for n in nested if n not in top_level]
    assert not offenders, f"asyncio imported in {offenders}"
    assert lazy, "the fast-path exception is stale: remove it"
    assert len(list(PACKAGE.rglob("*.py"))) > 5  # the walk did find the package


def test_importing_the_package_does_not_load_asyncio() -> None:
    """`import losant_async` (and its transport) leaves asyncio unloaded, for trio users."""
    code = (
        "import sys; import losant_async, losant_async._transport, losant_async._application; "
        "sys.exit('asyncio' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
