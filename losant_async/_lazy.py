"""Public names that load on first use, listed once: in the ``TYPE_CHECKING`` block.

A public package (``losant_async``, ``losant_async.testing``) lists its names
once, as ``from .home import Name as Name`` lines under ``if TYPE_CHECKING:``
(the ``as`` marks an explicit re-export for ``mypy --strict``), and calls
``install(__name__)``. That block drives everything else (anyio's
``_lazyimport`` does the same):

- ``__getattr__`` (PEP 562) imports a name's home module on first use, so
  ``import losant_async`` stays cheap: no httpx, attrs or cattrs until needed;
- ``__all__`` (unless the package spells one out) and ``dir()`` are the
  block's names. ``mypy --strict`` sees a re-export only in an ``X as X``
  import or a literal ``__all__``: ``losant_async`` keeps a literal one,
  since ``as`` would push its long model names past the line length, and a
  test keeps it equal to the block;
- each public class and function gets ``__module__`` set to the package, so
  reprs and tracebacks show ``losant_async.NotFoundError``, the path users
  import, rather than a private module's (a class's string annotations are
  resolved first, in its home module, so ``typing.get_type_hints`` and cattrs
  still work).

The block is read with ``ast`` on the first attribute lookup, not at import:
parsing costs about 2 ms, and a lookup already imports far more than that.
Whenever a lookup loads a home module, every public name whose home is now
loaded gets its ``__module__`` too, so an error raised before the user ever
touched ``losant_async.NotFoundError`` still shows the public path.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["install", "lazy_names", "publish"]


def lazy_names(module_file: str) -> dict[str, tuple[str, str]]:
    """Map each name imported under ``if TYPE_CHECKING:`` to (home module, name there)."""
    import ast  # only on first use: about 2 ms that ``import losant_async`` does not pay

    with open(module_file, encoding="utf-8") as file:
        tree = ast.parse(file.read(), filename=module_file)
    names: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if not (isinstance(node, ast.If) and _is_type_checking(node.test)):
            continue
        for statement in node.body:
            if isinstance(statement, ast.ImportFrom):
                home = "." * statement.level + (statement.module or "")
                for alias in statement.names:
                    names[alias.asname or alias.name] = (home, alias.name)
    return names


def _is_type_checking(test: object) -> bool:
    import ast

    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _absolute(home: str, package: str) -> str:
    """``importlib.util.resolve_name`` without importing ``importlib.util``."""
    level = len(home) - len(home.lstrip("."))
    if not level:
        return home
    base = package.rsplit(".", level - 1)[0]
    return f"{base}.{home[level:]}" if home[level:] else base


def _resolve_annotations(cls: type) -> None:
    """Replace a class's string annotations by the types they name, in its home module.

    ``typing.get_type_hints`` (and so attrs' ``resolve_types`` and cattrs)
    evaluates a class's string annotations in ``sys.modules[cls.__module__]``;
    once ``__module__`` is the package, names its home imported (``datetime``)
    would no longer be found. A class whose annotations name something only
    imported under ``TYPE_CHECKING`` is left as it is.
    """
    import inspect
    import typing

    own = inspect.get_annotations(cls)
    if not own or not any(isinstance(value, str) for value in own.values()):
        return
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except NameError:
        return
    cls.__annotations__ = {name: hints.get(name, value) for name, value in own.items()}


def install(module_name: str, computed: Mapping[str, Callable[[], object]] | None = None) -> None:
    """Give the package ``module_name`` its lazy ``__getattr__`` and ``__dir__``.

    Call it at the bottom of the package's ``__init__.py`` as
    ``_lazy.install(__name__)``. Without a literal ``__all__``, the block's
    names are ``__all__``. ``computed`` maps further attributes (such as
    ``__version__``) to a function called on first use; its value is kept.
    """
    computed = dict(computed or {})
    module = sys.modules[module_name]
    namespace = module.__dict__
    module_file = module.__file__
    assert module_file is not None
    table: dict[str, tuple[str, str]] = {}
    # Names not yet published, by the absolute name of their home module.
    pending: dict[str, list[tuple[str, str]]] = {}

    def names() -> dict[str, tuple[str, str]]:
        if not table:
            table.update(lazy_names(module_file))
            namespace.setdefault("__all__", sorted(table, key=str.casefold))
            for name, (home, attr) in table.items():
                pending.setdefault(_absolute(home, module_name), []).append((name, attr))
        return table

    def publish() -> None:
        # Every public name whose home is loaded joins the package's namespace
        # (later lookups skip __getattr__) and takes the package's path. Homes
        # whose names are all out are dropped: a call with nothing new is cheap.
        names()
        for home, entries in list(pending.items()):
            home_module = sys.modules.get(home)
            if home_module is None:
                continue
            left = [entry for entry in entries if not _publish_one(*entry, home_module)]
            if left:
                pending[home] = left
            else:
                del pending[home]

    def _publish_one(name: str, attr: str, home_module: types.ModuleType) -> bool:
        if name in namespace:
            return True
        value = getattr(home_module, attr, None)
        if value is None:  # still initialising
            return False
        if isinstance(value, type):
            _resolve_annotations(value)
        # A name another public package already shows (``losant_async.models``
        # repeats ``losant_async``'s models) keeps that package's path.
        public = "._" not in f".{value.__module__}" if hasattr(value, "__module__") else False
        if isinstance(value, (type, types.FunctionType)) and not public:
            value.__module__ = module_name
        namespace[name] = value
        return True

    def __getattr__(name: str) -> object:
        if name == "__all__":  # only when the package has no literal one
            names()
            return namespace["__all__"]
        if name in computed:
            value = namespace[name] = computed[name]()
            return value
        try:
            home, attr = names()[name]
        except KeyError:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(home, module_name), attr)
        publish()
        return namespace.get(name, value)

    def __dir__() -> list[str]:
        return sorted({*namespace, *names(), *computed, "__all__"})

    namespace["__getattr__"] = __getattr__
    namespace["__dir__"] = __dir__
    _PUBLISHERS[module_name] = publish


# Each installed package's ``publish``, for ``publish(module_name)``.
_PUBLISHERS: dict[str, Callable[[], None]] = {}


def publish(module_name: str) -> None:
    """Publish the names of ``module_name`` whose home modules are loaded by now.

    A lookup does this by itself. Code that imports a home module on first
    use (``AsyncLosant.application`` imports the façade, and with it the
    models, jobs and streams) calls it so that those names show the public
    path (``losant_async.JobError``) as if they had been looked up.
    """
    publisher = _PUBLISHERS.get(module_name)
    if publisher is not None:
        publisher()
