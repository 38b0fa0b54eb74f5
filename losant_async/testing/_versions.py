"""`Accept-Version`: whether a node-semver range admits the API version the local Losant serves.

Losant's server answers 400 `VersionNotAllowed` to an `Accept-Version` its
API version does not satisfy (spec/losant-api/README.md). The header is a
node-semver range, as Losant's JavaScript client sends it (`^1.30.0` and the
like); this module implements the range forms of node-semver without
prerelease tags: `||` unions of space-separated comparators, `^`, `~`, `x`/`*`
wildcards, partial versions, `=`, `<`, `<=`, `>`, `>=` and hyphen ranges.
"""

from __future__ import annotations

import re

API_VERSION = (1, 30, 0)
"""The API version of `spec/api/application.json`: what the local Losant serves."""

Version = tuple[int, int, int]
_PARTIAL = re.compile(r"^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?$")
_COMPARATOR = re.compile(r"^(\^|~>?|<=|>=|<|>|=)?\s*(.+)$")


def _partial(text: str) -> list[int | None]:
    """`1.x` -> [1, None, None]; ValueError if `text` is not a (partial) version."""
    match = _PARTIAL.match(text)
    if match is None:
        raise ValueError(text)
    parts: list[int | None] = []
    for part in match.groups():
        parts.append(None if part is None or part in "xX*" else int(part))
    # Once a part is a wildcard, every later part is one too.
    for index in range(1, 3):
        if parts[index - 1] is None:
            parts[index] = None
    return parts


def _floor(parts: list[int | None]) -> Version:
    return (parts[0] or 0, parts[1] or 0, parts[2] or 0)


def _ceiling(parts: list[int | None]) -> Version | None:
    """The first version past a partial one (`1.2` -> 1.3.0), None for a bare `*`."""
    if parts[0] is None:
        return None
    if parts[1] is None:
        return (parts[0] + 1, 0, 0)
    if parts[2] is None:
        return (parts[0], parts[1] + 1, 0)
    return None


def _comparator_ok(text: str, version: Version) -> bool:
    match = _COMPARATOR.match(text)
    if match is None:
        raise ValueError(text)
    operator, rest = match.group(1) or "", match.group(2)
    parts = _partial(rest)
    low = _floor(parts)
    if operator in ("", "="):
        high = _ceiling(parts)
        if parts[0] is None:
            return True
        return low <= version < high if high is not None else version == low
    if operator == "^":
        major, minor, patch = low
        if major or parts[1] is None:
            high_caret: Version = (major + 1, 0, 0)
        elif minor or parts[2] is None:
            high_caret = (0, minor + 1, 0)
        else:
            high_caret = (0, 0, patch + 1)
        return low <= version < high_caret
    if operator in ("~", "~>"):
        high_tilde = _ceiling([parts[0], parts[1], None] if parts[1] is not None else parts)
        return low <= version and (high_tilde is None or version < high_tilde)
    if operator == ">=":
        return version >= low
    if operator == "<":
        return version < low
    if operator == ">":
        high = _ceiling(parts)
        return version >= high if high is not None else version > low
    # "<="
    high = _ceiling(parts)
    return version < high if high is not None else version <= low


def _set_ok(text: str, version: Version) -> bool:
    hyphen = re.fullmatch(r"(\S+)\s+-\s+(\S+)", text)
    if hyphen is not None:
        return _comparator_ok(">=" + hyphen.group(1), version) and _comparator_ok(
            "<=" + hyphen.group(2), version
        )
    # "> = 1.2" is one comparator: glue an operator to the version after it.
    tokens = re.sub(r"(\^|~>?|<=|>=|<|>|=)\s+", r"\1", text).split()
    if not tokens:
        return True
    return all(_comparator_ok(token, version) for token in tokens)


def accepts(header: str, version: Version = API_VERSION) -> bool:
    """Whether the `Accept-Version` range `header` admits `version`; False if it is not a range."""
    try:
        return any(_set_ok(part.strip(), version) for part in header.split("||"))
    except ValueError:
        return False
