"""The public surface: `__all__` is exactly the public names, and no asyncio in the package."""

from __future__ import annotations

import ast
import types
from pathlib import Path

import losant_async
from losant_async import _exceptions, _jobs, _models, _sse

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
        "JobHandle",
        "JobOutcome",
        "JobProgress",
        *_models.__all__,
        *_exceptions.__all__,
        *_jobs.__all__,
        *_sse.__all__,
    }
    missing = required - set(losant_async.__all__)
    assert not missing, f"not exported: {sorted(missing)}"
    for name in losant_async.__all__:
        assert getattr(losant_async, name).__name__ == name


def test_exported_classes_have_docstrings() -> None:
    """Every exported class says what it is."""
    undocumented = [
        name for name in losant_async.__all__ if not (getattr(losant_async, name).__doc__ or "")
    ]
    assert not undocumented


def test_no_asyncio_import_in_the_package() -> None:
    """No module under losant_async/ imports asyncio: anyio only, so trio works too."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            if any(m == "asyncio" or m.startswith("asyncio.") for m in modules):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not offenders, f"asyncio imported in {offenders}"
    assert len(list(PACKAGE.rglob("*.py"))) > 5  # the walk did find the package
