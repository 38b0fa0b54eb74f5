"""The response parser against nodejs/llhttp's response fixtures (issue 11, "Conformance").

The fixtures are read at test time from ``../shared/conformance/llhttp/test/
response/*.md`` (MIT, see the NOTICE there) and never copied here. Each
fixture is an ``http`` code block and the ``log`` llhttp prints for it; the
input is normalised as llhttp's ``test/md-test.ts`` does. For the first
response of each input: what llhttp accepts we parse to the same status,
headers and body; what llhttp rejects we reject. Where we deliberately
differ, ``DIFFERENCES`` says so with the rule behind it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from losant_async._http11 import _framing, _head

FIXTURES = (
    Path(__file__).parents[2].parent / "shared" / "conformance" / "llhttp" / "test" / "response"
)

# Fixture types that need one of llhttp's leniency flags, which loosen
# RFC 9112 on purpose; we parse strictly, so their verdicts do not apply.
LENIENT_TYPES = frozenset(
    {
        "response-lenient-all",
        "response-lenient-data-after-close",
        "response-lenient-headers",
        "response-lenient-keep-alive",
        "response-lenient-optional-cr-before-lf",
        "response-lenient-optional-lf-after-cr",
        "response-lenient-version",
    }
)

_LF_ONLY = (
    "RFC 9112 2.2: a recipient MAY recognize a single LF as a line terminator; "
    "h11 does, llhttp's strict mode does not"
)
_TE_NOT_CHUNKED = (
    "RFC 9112 6.1/6.3: no coding but chunked is ever asked for, so any other "
    "Transfer-Encoding is rejected (as h11 does) rather than read to EOF"
)
# Fixture id -> why our verdict differs from llhttp's (the rule we follow).
DIFFERENCES: dict[str, str] = {
    "connection:HTTP 101 response with Upgrade and Content-Length header": (
        "RFC 9110 15.2.2: a 101 answers an Upgrade request; none is ever sent"
    ),
    "connection:HTTP 101 response with Upgrade and Transfer-Encoding header": (
        "RFC 9110 15.2.2: a 101 answers an Upgrade request; none is ever sent"
    ),
    "invalid:Only LFs present and no body": _LF_ONLY,
    "invalid:Only LFs present": _LF_ONLY,
    "sample:No carriage ret": _LF_ONLY,
    "sample:RTSP response": "RFC 9112 2.3: HTTP-version is 'HTTP/' DIGIT '.' DIGIT",
    "sample:ICE response": "RFC 9112 2.3: HTTP-version is 'HTTP/' DIGIT '.' DIGIT",
    "sample:HTTP version 0.9": "RFC 9112 2.3: only HTTP/1.0 and HTTP/1.1 responses are read",
    "transfer-encoding:Trailing space on chunked body": (
        "RFC 9112 7.1.1 allows BWS around chunk extensions; whitespace after a "
        "bare chunk size is tolerated as h11 does, for servers in the wild"
    ),
    "transfer-encoding:`chunked` before other transfer-encoding": _TE_NOT_CHUNKED,
    "transfer-encoding:multiple transfer-encoding where chunked is not the last one": (
        _TE_NOT_CHUNKED
    ),
    "transfer-encoding:`chunkedchunked` transfer-encoding does not enable chunked enconding": (
        _TE_NOT_CHUNKED
    ),
}


@dataclass
class Case:
    """One fixture: its input bytes and llhttp's verdict on the first response."""

    file: str
    name: str
    meta: dict[str, object]
    data: bytes
    accepted: bool = False
    status: int | None = None
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    complete: bool = False

    @property
    def id(self) -> str:
        return f"{self.file}:{self.name}"


def _normalise(raw: str) -> bytes:
    """The bytes llhttp's md-test.ts feeds for a code block."""
    text = re.sub(r"\n\Z", "", raw, count=1)
    text = re.sub(r"\\(\r\n|\r|\n)", "", text)
    text = re.sub(r"\r\n|\r|\n", "\r\n", text)
    text = text.replace("\\r", "\r").replace("\\n", "\n").replace("\\t", "\t").replace("\\f", "\f")
    text = re.sub(r"\\x([0-9a-fA-F]+)", lambda m: chr(int(m[1], 16)), text)
    text = re.sub(r"\\([0-7]{1,3})", lambda m: chr(int(m[1], 8)), text)
    return text.encode("utf-8")  # as Node's Buffer.from(string)


_BLOCK_RE = re.compile(r"```(http|log)\n(.*?)```", re.S)
_META_RE = re.compile(r"<!-- meta=(\{.*?\}) -->")
_SPAN_RE = re.compile(r"off=(\d+) len=(\d+) span\[(\w+)\]=")


def _verdict(case: Case, log: str) -> None:
    """Fill in llhttp's verdict on the first response from its log."""
    field_name: bytes | None = None
    value = b""
    last = ""
    for line in log.splitlines():
        if "error code=" in line:
            if "Pause on CONNECT/Upgrade" not in line:
                case.accepted = False
                return
            break  # a pause after the head: the first response stands as read
        if line.endswith("message complete"):
            if case.status is not None and 100 <= case.status < 200 and case.status != 101:
                # An interim response: ours are consumed on the way to the final one.
                case.status, case.headers, case.body = None, [], b""
                continue
            case.complete = True
            break
        if "headers complete" in line:
            m = re.search(r"status=(\d+)", line)
            case.status = int(m[1]) if m else None
            if field_name is not None:
                case.headers.append((field_name, value))
                field_name = None
            continue
        span = _SPAN_RE.match(line)
        if span is None:
            continue
        off, length, kind = int(span[1]), int(span[2]), span[3]
        piece = case.data[off : off + length]
        if kind == "header_field":
            if last != "header_field":
                if field_name is not None:
                    case.headers.append((field_name, value))
                field_name, value = b"", b""
            field_name = (field_name or b"") + piece
        elif kind == "header_value":
            value += piece
        elif kind == "body":
            case.body += piece
        last = kind
    case.accepted = case.status is not None


def _cases() -> list[Case]:
    cases: list[Case] = []
    for path in sorted(FIXTURES.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        # Each test is a heading followed by its meta, http and log blocks.
        for section in re.split(r"\n(?=#+ )", text):
            name = section.splitlines()[0].lstrip("# ").strip()
            meta_m = _META_RE.search(section)
            blocks: dict[str, str] = dict(_BLOCK_RE.findall(section))
            if meta_m is None or "http" not in blocks or "log" not in blocks:
                continue
            meta = json.loads(meta_m[1])
            case = Case(path.stem, name, meta, _normalise(blocks["http"]))
            _verdict(case, blocks["log"])
            cases.append(case)
    return cases


def _ours(case: Case) -> tuple[bool, int | None, list[tuple[bytes, bytes]], bytes]:
    """Our verdict on the first response of the input, read up to EOF."""
    method = b"HEAD" if case.meta.get("skipBody") else b"GET"
    try:
        parsed = _head.parse_head(case.data, method)
        if parsed is None:
            return False, None, [], b""
        head, used = parsed
        rest = case.data[used:]
        reader = _framing.BodyReader(head)
        body = reader.feed(rest) if rest else b""
        if not reader.done:
            if case.accepted and not case.complete:
                pass  # llhttp stopped at the end of input too: no EOF verdict
            else:
                reader.feed_eof()
    except httpx.RemoteProtocolError:
        return False, None, [], b""
    return True, head.status, head.headers, body


def _same_headers(ours: list[tuple[bytes, bytes]], theirs: list[tuple[bytes, bytes]]) -> bool:
    # llhttp's value span keeps trailing whitespace and folded lines as sent;
    # field values are compared as RFC 9110 5.5 defines them (OWS trimmed,
    # obs-fold replaced by one space, as RFC 9112 5.2 asks).
    def norm(pairs: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        return [(n.lower(), re.sub(rb"[ \t]*\r?\n[ \t]+", b" ", v).strip(b" \t")) for n, v in pairs]

    return norm(ours) == norm(theirs)


CASES = _cases() if FIXTURES.is_dir() else []


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="../shared/conformance is not present")
def test_fixtures_were_found() -> None:
    """The fixture folder yields dozens of response cases."""
    assert len(CASES) > 50


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="../shared/conformance is not present")
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parser_agrees_with_llhttp(case: Case) -> None:
    """We accept and parse what llhttp accepts, and reject what it rejects."""
    if case.meta.get("type") in LENIENT_TYPES:
        pytest.skip("needs an llhttp leniency flag; RFC 9112 is applied strictly here")
    accepted, status, headers, body = _ours(case)
    if case.id in DIFFERENCES:
        # A listed difference must still be one: the list stays true.
        assert accepted != case.accepted, DIFFERENCES[case.id]
        return
    assert accepted == case.accepted
    if accepted:
        assert status == case.status
        assert _same_headers(headers, case.headers)
        assert body == case.body
