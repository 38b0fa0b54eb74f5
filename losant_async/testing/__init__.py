"""A local, in-process Losant for tests and demos: `LocalLosant`.

Needs the `testing` extra (`pip install "losant-async[testing]"`). See the
README section "Testing your code against the local Losant" and the pytest
fixture `local_losant` (module `losant_async.testing.pytest_plugin`).

Names load on first use (PEP 562): the pytest plugin imports this package in
every session, and a session that does not use the server should not pay for
starlette, uvicorn and jsonschema.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from losant_async.testing._faults import Faults
    from losant_async.testing._server import LocalLosant

__all__ = ["Faults", "LocalLosant"]

_HOMES = {"Faults": "._faults", "LocalLosant": "._server"}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
