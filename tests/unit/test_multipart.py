"""``LazyFile``: a bundle given as a path, opened at the first read."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from losant_async._multipart import LazyFile


@pytest.mark.parametrize("error", [FileNotFoundError, IsADirectoryError])
def test_lazy_file_whose_init_raised_closes_quietly(tmp_path: Path, error: type[OSError]) -> None:
    """A ``LazyFile`` whose ``__init__`` raised can still be closed (``IOBase.__del__`` does)."""
    path = tmp_path / "nope.zip" if error is FileNotFoundError else tmp_path
    half_made = LazyFile.__new__(LazyFile)
    with pytest.raises(error):
        half_made.__init__(path)  # type: ignore[misc]
    half_made.close()
    assert half_made.closed
    del half_made
    gc.collect()


def test_lazy_file_opens_at_first_read_and_closes_at_end(tmp_path: Path) -> None:
    """The file is opened only when read, closed at its end, and can be re-read after a seek."""
    path = tmp_path / "bundle.zip"
    path.write_bytes(b"PK\x03\x04zip")
    lazy = LazyFile(path)
    assert lazy.name == "bundle.zip"
    assert lazy.seek(0, 2) == 7
    assert lazy._file is None
    lazy.seek(0)
    assert lazy.read() == b"PK\x03\x04zip"
    assert lazy._file is None  # released at end of file
    lazy.seek(2)
    assert lazy.read(2) == b"\x03\x04"
    assert lazy._file is not None
    lazy.close()
    assert lazy._file is None
