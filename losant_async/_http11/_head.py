"""The response head: status line and header fields, parsed I/O-free.

The grammar follows h11 (``h11/_abnf.py``, ``h11/_readers.py``) so that both
accept and reject the same responses; ``tests/unit/test_http11.py`` fuzzes
the two against each other. It is written out here rather than driven through
``h11.Connection`` because the event machinery costs more per request than the
whole parse below. ``_framing`` reads the body this head announces;
``_request`` shares the token grammar.
"""

from __future__ import annotations

import re
from typing import Final

from ._errors import protocol_error

# RFC 9110 5.6.2 / 5.5 as h11 spells them.
TOKEN: Final = rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+"
_FIELD_VCHAR: Final = rb"[^\x00\s]"
_FIELD_CONTENT: Final = _FIELD_VCHAR + rb"+(?:[ \t]+" + _FIELD_VCHAR + rb"+)*"
_HEADER_RE: Final = re.compile(rb"(" + TOKEN + rb"):[ \t]*((?:" + _FIELD_CONTENT + rb")?)[ \t]*")
# Servers that leave out the reason phrase are common enough to accept.
_STATUS_RE: Final = re.compile(
    rb"HTTP/([0-9]\.[0-9]) ([0-9]{3})(?: ((?:[ \t]|" + _FIELD_VCHAR + rb")*))?"
)
# Only these versions are HTTP/1.x as RFC 9112 defines it; "HTTP/5.6" is not.
_VERSIONS = frozenset({b"1.0", b"1.1"})
# Whether blank lines before a status line are skipped, as llhttp does (a real
# aiohttp server sends a stray CRLF after a body); the h11 fuzz turns it off.
_SKIP_BLANK_LINES = True
_BLANK_RE: Final = re.compile(rb"\n\r?\n")
DIGITS_RE: Final = re.compile(rb"[0-9]+")
_FOLD_RE: Final = re.compile(rb"[ \t]+")
_CONTENT_LENGTH_MAX_DIGITS: Final = 20
# The same grammar over a whole head block at once, line ends included: a block
# these accept is split by C code alone; anything else (folding, stray CRs,
# errors) goes through the line-by-line path, which has the last word.
# After the colon, "[ \t]* field-content? [ \t]*" is exactly "no NUL and no
# whitespace but SP / HTAB", so a line is checked by one character class and
# its value is what lies between the outer SP / HTAB runs.
_FIELD_LINES_RE: Final = re.compile(rb"(?:" + TOKEN + rb":[^\x00\n\r\x0b\x0c]*\r?\n)*\r?\n")
_FIELD_LINE_RE: Final = re.compile(rb"(" + TOKEN + rb"):[ \t]*([^\r\n]*[^\s]|)[ \t]*\r?\n")
_STATUS_LINE_RE: Final = re.compile(_STATUS_RE.pattern + rb"\r?\n")

# len(b"connection"), len(b"content-length"), len(b"transfer-encoding").
_FRAMING_NAME_LENGTHS: Final = frozenset({10, 14, 17})

MAX_HEADER_BYTES: Final = 64 * 1024
MAX_LINE_BYTES: Final = 16 * 1024
MAX_HEADERS: Final = 256
# Interim (1xx) responses before the final one: how many, and how many bytes
# in all, before the server is cut off (issue 11, defect 9).
MAX_INTERIM: Final = 32
MAX_INTERIM_BYTES: Final = 64 * 1024

Headers = list[tuple[bytes, bytes]]


class Head:
    """A parsed status line and header block, with its body framing."""

    __slots__ = (
        "ambiguous",
        "chunked",
        "content_length",
        "headers",
        "http_version",
        "keep_alive",
        "reason",
        "status",
    )

    def __init__(
        self,
        status: int,
        reason: bytes,
        http_version: bytes,
        headers: Headers,
        content_length: int | None,
        chunked: bool,
        keep_alive: bool,
        ambiguous: bool = False,
    ) -> None:
        self.status = status
        self.reason = reason
        self.http_version = http_version
        self.headers = headers
        self.content_length = content_length
        self.chunked = chunked
        # What h11 would decide; ``reusable`` adds our own refusal below.
        self.keep_alive = keep_alive
        # Both Transfer-Encoding and Content-Length: smells of request smuggling.
        self.ambiguous = ambiguous

    @property
    def reusable(self) -> bool:
        """Whether the connection may carry another request after this response."""
        return self.keep_alive and not self.ambiguous


def split_lines(block: bytes) -> list[bytes]:
    """Lines of a block that ends in a blank line, without their terminators."""
    lines = block.split(b"\n")
    del lines[-2:]
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def _unfold(lines: list[bytes]) -> list[bytes]:
    """Join obsolete line folding (RFC 9112 5.2) with one space, as h11 does."""
    out: list[bytes] = []
    for line in lines:
        fold = _FOLD_RE.match(line)
        if fold is None:
            out.append(line)
        elif not out:
            raise protocol_error("continuation line at start of headers")
        else:
            out[-1] = out[-1] + b" " + line[fold.end() :]
    return out


def parse_fields(lines: list[bytes], max_headers: int) -> Headers:
    """Validate header (or trailer) lines into ``(name, value)`` pairs."""
    if len(lines) > max_headers:
        raise protocol_error("too many header fields")
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            lines = _unfold(lines)
            break
    fields: Headers = []
    match = _HEADER_RE.fullmatch
    for line in lines:
        m = match(line)
        if m is None:
            raise protocol_error(f"illegal header line: {line[:80]!r}")
        fields.append((m[1], m[2]))
    return fields


def find_blank(buf: bytes, max_bytes: int) -> int:
    """The end of the first blank line in ``buf``, or -1 while more is needed."""
    m = _BLANK_RE.search(buf, 0, max_bytes + 2)
    if m is None:
        if len(buf) > max_bytes:
            raise protocol_error("response header block too large")
        return -1
    return m.end()


class HeadParser:
    """Parses one response head incrementally, the 1xx interim responses before it included.

    Each byte is scanned once for the blank line that ends a head block, and
    each complete block is parsed once: a server dripping a head, or sending
    megabytes of ``100 Continue``, costs time linear in what it sent, and is
    cut off at ``MAX_INTERIM`` interim responses or ``MAX_INTERIM_BYTES``
    bytes of them (issue 11, defect 9).
    """

    __slots__ = (
        "_buf",
        "_max_header_bytes",
        "_max_headers",
        "_max_line_bytes",
        "_method",
        "_scan",
        "interim",
        "interim_bytes",
    )

    def __init__(
        self,
        method: bytes,
        *,
        max_header_bytes: int = MAX_HEADER_BYTES,
        max_line_bytes: int = MAX_LINE_BYTES,
        max_headers: int = MAX_HEADERS,
    ) -> None:
        self._method = method
        self._max_header_bytes = max_header_bytes
        self._max_line_bytes = max_line_bytes
        self._max_headers = max_headers
        self._buf = b""
        # Where the search for the blank line resumes in ``_buf``.
        self._scan = 0
        self.interim = 0
        self.interim_bytes = 0

    @property
    def pending(self) -> bool:
        """Whether bytes of an unfinished head are held."""
        return bool(self._buf)

    def feed(self, data: bytes) -> tuple[Head, bytes] | None:
        """Take one network read; the final head and the bytes after it, once complete."""
        buf = self._buf + data if self._buf else data
        start = 0
        scan = self._scan
        n = len(buf)
        max_bytes = self._max_header_bytes
        while True:
            if scan == start and _SKIP_BLANK_LINES:
                skip = start
                while skip < n and buf[skip] in b"\r\n":
                    skip += 1
                if skip > start:
                    self._count_interim(skip - start, blocks=0)
                    start = scan = skip
            if n > start and buf[start] < 0x21:
                # h11 rejects a leading blank or control byte at once (a stray
                # CR, or a TLS record sent to a plain-text port).
                raise protocol_error("illegal status line")
            m = _BLANK_RE.search(buf, max(scan - 2, start), start + max_bytes + 2)
            if m is None:
                if n - start > max_bytes:
                    raise protocol_error("response header block too large")
                self._buf = buf[start:] if start else buf
                self._scan = n - start
                return None
            end = m.end()
            block = buf[start:end]
            parsed = _parse_block_fast(block, self._max_line_bytes, self._max_headers)
            if parsed is None:
                parsed = _parse_block(block, self._max_line_bytes, self._max_headers)
            sm, fields = parsed
            if sm[1] not in _VERSIONS:
                raise protocol_error(f"unsupported HTTP version {sm[1].decode('ascii')}")
            status = int(sm[2])
            start = scan = end
            if status >= 200:
                break
            if status < 100 or status == 101:
                # No upgrade is ever requested, so a 101 cannot be followed.
                raise protocol_error(f"unexpected status {status}")
            _frame(fields, status, self._method, sm[1])
            self._count_interim(len(block), blocks=1)
        self._buf = b""
        self._scan = 0
        head = _frame(fields, status, self._method, sm[1])
        head.reason = sm[3] or b""
        return head, buf[start:] if start < n else b""

    def _count_interim(self, size: int, *, blocks: int) -> None:
        self.interim += blocks
        self.interim_bytes += size
        if self.interim > MAX_INTERIM or self.interim_bytes > MAX_INTERIM_BYTES:
            raise protocol_error(
                f"too many interim (1xx) responses: over {MAX_INTERIM} "
                f"or {MAX_INTERIM_BYTES} bytes before the final response"
            )


def quick_head(
    data: bytes,
    method: bytes,
    max_header_bytes: int = MAX_HEADER_BYTES,
    max_line_bytes: int = MAX_LINE_BYTES,
    max_headers: int = MAX_HEADERS,
) -> tuple[Head, bytes] | None:
    """A final head whole at the start of one read, and the bytes after it.

    The common case without ``HeadParser``'s bookkeeping; ``None`` (a partial
    head, an interim response, a stray CRLF) hands the read to ``HeadParser``,
    which gives the same result or error for everything this accepts.
    """
    m = _BLANK_RE.search(data, 0, max_header_bytes + 2)
    if m is None or data[:5] != b"HTTP/":
        return None
    end = m.end()
    block = data[:end] if end < len(data) else data
    parsed = _parse_block_fast(block, max_line_bytes, max_headers)
    if parsed is None:
        parsed = _parse_block(block, max_line_bytes, max_headers)
    sm, fields = parsed
    if sm[1] not in _VERSIONS:
        raise protocol_error(f"unsupported HTTP version {sm[1].decode('ascii')}")
    status = int(sm[2])
    if status < 200:
        return None
    head = _frame(fields, status, method, sm[1])
    head.reason = sm[3] or b""
    return head, data[end:] if end < len(data) else b""


def parse_head(
    buf: bytes,
    method: bytes,
    *,
    max_header_bytes: int = MAX_HEADER_BYTES,
    max_line_bytes: int = MAX_LINE_BYTES,
    max_headers: int = MAX_HEADERS,
) -> tuple[Head, int] | None:
    """Parse a final response head at the start of ``buf``.

    Returns the head and the number of bytes it used (1xx interim responses
    before it included), or ``None`` when ``buf`` holds no complete head yet.
    """
    parser = HeadParser(
        method,
        max_header_bytes=max_header_bytes,
        max_line_bytes=max_line_bytes,
        max_headers=max_headers,
    )
    parsed = parser.feed(buf)
    if parsed is None:
        return None
    head, rest = parsed
    return head, len(buf) - len(rest)


def _parse_block(
    block: bytes, max_line_bytes: int, max_headers: int
) -> tuple[re.Match[bytes], Headers]:
    """Status line match and fields of one head block, line by line (the reference)."""
    lines = split_lines(block)
    for line in lines:
        if len(line) > max_line_bytes:
            raise protocol_error("header line too long")
    m = _STATUS_RE.fullmatch(lines[0])
    if m is None:
        raise protocol_error(f"illegal status line: {lines[0][:80]!r}")
    return m, parse_fields(lines[1:], max_headers)


def _parse_block_fast(
    block: bytes, max_line_bytes: int, max_headers: int
) -> tuple[re.Match[bytes], Headers] | None:
    """What ``_parse_block`` returns, for a plain block; ``None`` to defer to it."""
    if len(block) > max_line_bytes:
        return None  # some line may be too long: the reference path says which
    m = _STATUS_LINE_RE.match(block)
    if m is None or _FIELD_LINES_RE.fullmatch(block, m.end()) is None:
        return None
    # Validated above as whole lines, so each match is exactly one line.
    fields: Headers = _FIELD_LINE_RE.findall(block, m.end())
    if len(fields) > max_headers:
        return None
    return m, fields


def _frame(fields: Headers, status: int, method: bytes, version: bytes) -> Head:
    """Normalise Content-Length / Transfer-Encoding and pick the body framing (RFC 9112 6.3)."""
    content_length: bytes | None = None
    chunked = False
    close = version < b"1.1"
    headers: Headers = []
    for name, value in fields:
        if len(name) not in _FRAMING_NAME_LENGTHS:
            headers.append((name, value))
            continue
        lower = name.lower()
        if lower == b"content-length":
            if not value.isdigit():  # a list ("7, 7") or garbage; digits alone stand as is
                values = {v.strip() for v in value.split(b",")}
                if len(values) != 1:
                    raise protocol_error("conflicting Content-Length headers")
                value = values.pop()
            if DIGITS_RE.fullmatch(value) is None or len(value) > _CONTENT_LENGTH_MAX_DIGITS:
                raise protocol_error("bad Content-Length")
            if content_length is None:
                content_length = value
            elif content_length != value:
                raise protocol_error("conflicting Content-Length headers")
            else:
                continue
        elif lower == b"transfer-encoding":
            if chunked:
                raise protocol_error("multiple Transfer-Encoding headers")
            value = value.lower()
            if value != b"chunked":
                raise protocol_error("only Transfer-Encoding: chunked is supported")
            chunked = True
        elif lower == b"connection":
            options = value.lower()
            if b"close" in options and b"close" in [v.strip() for v in options.split(b",")]:
                close = True
        headers.append((name, value))
    length: int | None
    ambiguous = False
    if status in (204, 304) or method == b"HEAD" or (method == b"CONNECT" and status < 300):
        length, chunked = 0, False
    elif chunked:
        # Transfer-Encoding wins over Content-Length; both at once smells of
        # request smuggling (RFC 9112 6.3), so the connection is not reused.
        length = None
        ambiguous = content_length is not None
    elif content_length is not None:
        length = int(content_length)
    else:
        length, close = None, True
    return Head(status, b"", version, headers, length, chunked, not close, ambiguous)
