"""The upload form of a multipart request, and rewinding its files for a retry.

An import bundle goes up as ``multipart/form-data``: data fields plus file
fields, in httpx's ``files=`` shape. A form with no file at all is encoded
here, because httpx would send it urlencoded. Before a retry (or the re-send
after a 401) every file must be back where it started; a file that cannot be
rewound (a pipe, a consumed stream) means no re-send. A bundle given as a
path goes up as a ``LazyFile``: opened at the first read, closed at its end.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from collections.abc import Mapping
from typing import IO, Any, Final, TypeAlias, cast

import httpx

__all__: list[str] = []

# Data fields and file fields (as httpx `files=`) of a multipart request.
Multipart: TypeAlias = tuple[Mapping[str, str], Mapping[str, tuple[str, "IO[bytes] | bytes", str]]]

_FORM_PARAM_ESCAPES: Final = {
    0x22: "%22",
    0x5C: "\\\\",
    **{c: f"%{c:02X}" for c in range(0x20) if c != 0x1B},
}


def _encode_fields(data: Mapping[str, str]) -> tuple[bytes, str]:
    """A multipart body of plain fields (httpx sends urlencoded when no file is given)."""
    boundary = os.urandom(16).hex()
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="'
        f'{name.translate(_FORM_PARAM_ESCAPES)}"\r\n\r\n'.encode()
        + value.encode()
        + b"\r\n"
        for name, value in data.items()
    ]
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def file_positions(multipart: Multipart) -> dict[str, int | None]:
    """Where each file object starts (``None``: it cannot be rewound)."""
    positions: dict[str, int | None] = {}
    for name, (_, content, _) in multipart[1].items():
        if isinstance(content, (bytes, bytearray)):
            continue
        try:
            positions[name] = content.tell() if content.seekable() else None
        except (OSError, ValueError):
            positions[name] = None
    return positions


def rewind(multipart: Multipart, positions: Mapping[str, int | None]) -> bool:
    """Seek every file back to its start; ``False`` if one cannot be (no retry then)."""
    for name, position in positions.items():
        if position is None:
            return False
        content = multipart[1][name][1]
        if isinstance(content, (bytes, bytearray)):
            continue
        try:
            content.seek(position)
        except (OSError, ValueError):
            return False
    return True


def build_request(
    method: str,
    url: httpx.URL,
    headers: httpx.Headers,
    timeout: dict[str, float | None],
    multipart: Multipart,
) -> httpx.Request:
    """The request carrying ``multipart`` as ``multipart/form-data``."""
    extensions = {"timeout": timeout}
    data, files = multipart
    if files:
        return httpx.Request(
            method, url, headers=headers, data=data, files=files, extensions=extensions
        )
    content, content_type = _encode_fields(data)
    headers = headers.copy()
    headers["Content-Type"] = content_type
    return httpx.Request(method, url, headers=headers, content=content, extensions=extensions)


def file_field(
    value: object, argument: str, *, default_name: str, content_type: str | None = None
) -> tuple[str, IO[bytes] | bytes, str]:
    """A file part of an upload form, in httpx's ``files=`` shape.

    A path is streamed (``LazyFile``: opened at the first read), bytes are sent
    under ``default_name``, a binary file object under the base name of its
    ``name`` (else ``default_name``). ``content_type`` ``None``: guessed from
    the file name.

    Raises:
        TypeError: anything else, or a file opened in text mode.
    """
    if isinstance(value, str | os.PathLike):
        lazy = LazyFile(cast("str | os.PathLike[str]", value))
        name: str = lazy.name
        part: IO[bytes] | bytes = cast(IO[bytes], lazy)
    elif isinstance(value, bytes | bytearray | memoryview):
        name, part = default_name, bytes(value)
    elif isinstance(value, io.TextIOBase):
        raise TypeError(f"{argument} must be opened in binary mode ('rb')")
    elif callable(getattr(value, "read", None)):
        given = getattr(value, "name", None)
        name = (os.path.basename(given) if isinstance(given, str) and given else "") or default_name
        part = cast(IO[bytes], value)
    else:
        raise TypeError(
            f"{argument} must be bytes, a path or a binary file object, not {type(value).__name__}"
        )
    if content_type is None:
        import mimetypes  # only for uploads: its table is read on first use

        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return (name, part, content_type)


class LazyFile(io.RawIOBase):
    """A file on disk that is opened at the first read and closed at its end.

    httpx reads it chunk by chunk (the bundle is streamed, never read whole),
    seeks it back to 0 for a retry, and learns its size via ``seek(0, 2)``
    without opening it. Nothing is left open if the request is never sent.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        # Set first: if the checks below raise, ``IOBase.__del__`` still calls
        # ``close()`` (and Python 3.13 reports what that raises).
        self._file: IO[bytes] | None = None
        self._path = os.fspath(path)
        self.name = os.path.basename(self._path)
        info = os.stat(self._path)  # a missing file fails here, before any request
        if not stat.S_ISREG(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "bundle is not a regular file", self._path)
        self._size = info.st_size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        if self._file is not None:
            self._file.seek(self._pos)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        if self._file is None:
            self._file = open(self._path, "rb")  # noqa: SIM115 - closed at EOF / close()
            self._file.seek(self._pos)
        count = self._file.readinto(buffer)  # type: ignore[attr-defined]
        if not count:
            self._release()
            return 0
        self._pos += count
        return int(count)

    def _release(self) -> None:
        if self._file is not None:
            file, self._file = self._file, None
            file.close()

    def close(self) -> None:
        self._release()
        super().close()
