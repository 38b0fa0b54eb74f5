"""``python -m losant_async``: the ``losant-async`` command."""

from __future__ import annotations

from losant_async._cli import main

if __name__ == "__main__":
    main()
