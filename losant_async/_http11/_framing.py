"""The response body's framing, I/O-free: Content-Length, chunked, or read to EOF.

``BodyReader`` takes the bytes of each network read after the head (``_head``)
and hands up the body bytes in them, one block per read: chunked bodies are
de-chunked and the pieces of one read joined. Chunk lines and trailers follow
h11's grammar where it is safe and are stricter where a laxer parser lets a
proxy and a server disagree on where a message ends.
"""

from __future__ import annotations

import re
from typing import Final

from ._errors import protocol_error
from ._head import MAX_HEADERS, MAX_LINE_BYTES, TOKEN, Head, find_blank, parse_fields, split_lines

# RFC 9112 7.1.1: chunk-size *( BWS ";" BWS token [ BWS "=" BWS ( token /
# quoted-string ) ] ) CRLF. Stricter than h11's ";.*": a bare CR, a NUL, an
# unbalanced quote or an empty extension name ("2;") is how one parser's chunk
# boundary becomes another's behind a proxy (issue 11, defect 7). Trailing
# whitespace after the size is tolerated, as h11 does, for servers in the wild.
_QUOTED: Final = rb'"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"'
_CHUNK_EXT: Final = (
    rb"(?:[ \t]*;[ \t]*" + TOKEN + rb"(?:[ \t]*=[ \t]*(?:" + TOKEN + rb"|" + _QUOTED + rb"))?)*"
)
_CHUNK_RE = re.compile(rb"([0-9A-Fa-f]{1,20})" + _CHUNK_EXT + rb"[ \t]*\r\n")
# Framing fields may not ride in a trailer (RFC 9110 6.5.1): a Content-Length
# there is what h11 and llhttp reject as well.
_TRAILER_FORBIDDEN = frozenset({b"content-length", b"transfer-encoding"})

# Where a reader is in its body.
_LENGTH: Final = 0
_EOF: Final = 1
_SIZE: Final = 2
_CHUNK_DATA: Final = 3
_CRLF: Final = 4
_TRAILER: Final = 5


class BodyReader:
    """Frames one response body: Content-Length, chunked, or read to EOF.

    ``feed`` takes the bytes of one network read and returns the body bytes
    in them (de-chunked); ``done`` turns true at the end of the message, and
    ``trailing`` holds any bytes the server sent past it.
    """

    __slots__ = (
        "_crlf",
        "_left",
        "_line",
        "_max_headers",
        "_max_line",
        "_state",
        "done",
        "received",
        "trailing",
    )

    def __init__(
        self, head: Head, *, max_line_bytes: int = MAX_LINE_BYTES, max_headers: int = MAX_HEADERS
    ) -> None:
        self.done = False
        self.trailing = b""
        self.received = 0
        self._line = b""
        self._crlf = b""
        self._max_line = max_line_bytes
        self._max_headers = max_headers
        if head.chunked:
            self._state = _SIZE
            self._left = 0
        elif head.content_length is not None:
            self._state = _LENGTH
            self._left = head.content_length
            self.done = self._left == 0
        else:
            self._state = _EOF
            self._left = 0

    def feed(self, data: bytes) -> bytes:
        """Take one network read; return the body bytes it carried."""
        if self.done:
            self.trailing += data
            return b""
        state = self._state
        if state == _LENGTH:
            left = self._left
            if len(data) >= left:
                self.done = True
                self.trailing = data[left:]
                data = data[:left] if len(data) > left else data
            self._left = left - len(data)
        elif state != _EOF:
            data = self._feed_chunked(data)
        self.received += len(data)
        return data

    def feed_eof(self) -> None:
        """The peer closed: fine for a read-to-EOF body, an error otherwise."""
        if self.done:
            return
        if self._state == _EOF:
            self.done = True
            return
        raise protocol_error("peer closed connection without sending complete message body")

    def _feed_chunked(self, data: bytes) -> bytes:
        out: list[bytes] = []
        pos, n = 0, len(data)
        while pos < n:
            if self._state == _CHUNK_DATA:
                take = min(self._left, n - pos)
                out.append(data[pos : pos + take])
                pos += take
                self._left -= take
                if self._left == 0:
                    self._state, self._crlf = _CRLF, b"\r\n"
            elif self._state == _CRLF:
                got = data[pos : pos + len(self._crlf)]
                if got != self._crlf[: len(got)]:
                    raise protocol_error("malformed chunk footer")
                pos += len(got)
                self._crlf = self._crlf[len(got) :]
                if not self._crlf:
                    self._state = _SIZE
            elif self._state == _SIZE:
                pos = self._chunk_size(data, pos)
            else:
                pos = self._trailer(data, pos)
                if self.done:
                    self.trailing = data[pos:]
                    break
        return out[0] if len(out) == 1 else b"".join(out)

    def _chunk_size(self, data: bytes, pos: int) -> int:
        # The line is matched where it lies in ``data``: nothing after it is
        # copied, so a read of many small chunks costs time linear in its size
        # (issue 11, defect 6). Only a line split across reads is joined.
        max_line = self._max_line
        known = len(self._line)
        if known:
            line = self._line + data[pos : pos + max_line + 2]
            idx = line.find(b"\r\n", max(known - 1, 0))
            if idx < 0:
                if len(line) > max_line:
                    raise protocol_error("chunk size line too long")
                self._line = line
                return len(data)
            self._line = b""
            if idx > max_line:
                raise protocol_error("chunk size line too long")
            m = _CHUNK_RE.fullmatch(line, 0, idx + 2)
            after = pos + idx + 2 - known
        else:
            idx = data.find(b"\r\n", pos, pos + max_line + 2)
            if idx < 0:
                if len(data) - pos > max_line:
                    raise protocol_error("chunk size line too long")
                self._line = data[pos:]
                return len(data)
            m = _CHUNK_RE.fullmatch(data, pos, idx + 2)
            after = idx + 2
        if m is None:
            raise protocol_error("illegal chunk header")
        self._left = int(m[1], 16)
        self._state = _CHUNK_DATA if self._left else _TRAILER
        return after

    def _trailer(self, data: bytes, pos: int) -> int:
        known = len(self._line)
        buf = self._line + data[pos:]
        if buf[:1] == b"\n":
            end = 1
        elif buf[:2] == b"\r\n":
            end = 2
        else:
            end = find_blank(buf, self._max_line)
            if end < 0:
                self._line = buf
                return len(data)
            for name, _ in parse_fields(split_lines(buf[:end]), self._max_headers):
                if name.lower() in _TRAILER_FORBIDDEN:
                    raise protocol_error(f"{name.decode('ascii')} in a trailer")
        self._line = b""
        self.done = True
        return pos + end - known
