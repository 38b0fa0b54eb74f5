"""A local, in-process Losant for tests and demos, and the test switch for retries.

- `LocalLosant`: a Losant-compatible server of the Application resource on
  127.0.0.1 (needs the `testing` extra: see the README's Set-up).
  See the README section "Testing your code against the local Losant" and the
  pytest fixture `local_losant` (module `losant_async.testing.pytest_plugin`).
- `Faults`: the fault injection a `LocalLosant` exposes as ``server.faults``.
- `set_testing(zero_delay=True)`: every retry backoff and stream reconnect
  delay becomes zero, so a test that makes the client retry a 503 or
  reconnect a dropped stream runs at once; ``set_testing(zero_delay=False)``
  restores the real delays. It is a process-wide switch (stamina's pattern);
  in pytest, set it in an autouse fixture::

      @pytest.fixture(autouse=True)
      def _zero_retry_delay():
          losant_async.testing.set_testing(zero_delay=True)
          yield
          losant_async.testing.set_testing(zero_delay=False)

The ``TYPE_CHECKING`` block below is the one list of public names (see
``losant_async._lazy``): it drives ``__all__``, ``dir()`` and each name's
``__module__`` (``losant_async.testing``), and names load on first use
(PEP 562): the pytest plugin imports this package in every session, and a
session that does not use the server should not pay for starlette, uvicorn
and jsonschema.
"""

from __future__ import annotations

import typing as _typing

from losant_async import _lazy

if _typing.TYPE_CHECKING:
    from losant_async._retry import set_testing as set_testing
    from losant_async.testing._faults import Faults as Faults
    from losant_async.testing._server import LocalLosant as LocalLosant

_lazy.install(__name__)

# The same hint as the command line's without its extra. Importing this
# package needs no extra (the pytest plugin imports it in every session, and
# set_testing is plain library code): the hint comes with the first name that
# needs the server's libraries.
_MISSING_EXTRA = (
    "losant_async.testing: the local Losant needs starlette, uvicorn, python-multipart "
    "and jsonschema: install the 'testing' extra, pip install -e '.[testing]' in a clone, "
    "or pip install 'losant-async[testing] @ git+<repository-url>'"
)
_EXTRA_MODULES = frozenset({"starlette", "uvicorn", "multipart", "python_multipart", "jsonschema"})
_lazy_getattr: _typing.Callable[[str], object] = globals()["__getattr__"]  # set by install

if not _typing.TYPE_CHECKING:  # a type checker sees the names above, not any name

    def __getattr__(name: str) -> object:
        try:
            return _lazy_getattr(name)
        except ModuleNotFoundError as exc:
            if (exc.name or "").partition(".")[0] not in _EXTRA_MODULES:
                raise
            raise ModuleNotFoundError(_MISSING_EXTRA, name=exc.name) from None
