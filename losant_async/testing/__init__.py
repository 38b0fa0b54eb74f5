"""A local, in-process Losant for tests and demos: `LocalLosant`.

Needs the `testing` extra (`pip install "losant-async[testing]"`). See the
README section "Testing your code against the local Losant" and the pytest
fixture `local_losant` (module `losant_async.testing._plugin`).
"""

from __future__ import annotations

from losant_async.testing._faults import Faults
from losant_async.testing._server import LocalLosant

__all__ = ["Faults", "LocalLosant"]
