"""The proxy the environment names, read exactly as httpx reads it (issue 11, defect 12).

The library's own HTTP/1.1 pool cannot speak to a proxy, so when one applies
the transport falls back to httpx's. Which one applies must be decided as an
``httpx.AsyncClient`` would decide it: this mirrors httpx's
``get_environment_proxies`` and its mount lookup (``URLPattern``).
"""

from __future__ import annotations

import ipaddress
import re
import urllib.request

import httpx

__all__: list[str] = []


def _is_ip(hostname: str, kind: type[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> bool:
    try:
        kind(hostname.split("/")[0])
    except ValueError:
        return False
    return True


class _Pattern:
    """One key of httpx's proxy mounts (``httpx._utils.URLPattern``), matched the same way."""

    __slots__ = ("host", "port", "regex", "scheme")

    def __init__(self, pattern: str) -> None:
        url = httpx.URL(pattern)
        self.scheme = "" if url.scheme == "all" else url.scheme
        self.host = "" if url.host == "*" else url.host
        self.port = url.port
        self.regex: re.Pattern[str] | None
        if not url.host or url.host == "*":
            self.regex = None
        elif url.host.startswith("*."):
            # *.example.com matches www.example.com, not example.com
            self.regex = re.compile(f"^.+\\.{re.escape(url.host[2:])}$")
        elif url.host.startswith("*"):
            # *example.com matches www.example.com and example.com
            self.regex = re.compile(f"^(.+\\.)?{re.escape(url.host[1:])}$")
        else:
            self.regex = re.compile(f"^{re.escape(url.host)}$")

    def matches(self, url: httpx.URL) -> bool:
        if self.scheme and self.scheme != url.scheme:
            return False
        if self.host and self.regex is not None and not self.regex.match(url.host):
            return False
        return self.port is None or self.port == url.port

    @property
    def priority(self) -> tuple[int, int, int]:
        # httpx tries the most specific pattern first: with a port, longer
        # host, longer scheme.
        return (0 if self.port is not None else 1, -len(self.host), -len(self.scheme))


def env_proxy(base_url: str) -> str | None:
    """The proxy that ``HTTPS_PROXY`` & co. name for ``base_url``, exactly as httpx reads them.

    Mirrors httpx's ``get_environment_proxies`` and its mount lookup: a proxy
    given without a scheme (``HTTPS_PROXY=host:port``) is ``http://`` it, and
    each ``NO_PROXY`` entry (``*``, a domain, ``.domain``, an IP, ``localhost``,
    ``host:port``, a URL) bypasses what httpx bypasses (issue 11, defect 12).
    """
    info = urllib.request.getproxies()
    mounts: dict[str, str | None] = {}
    for scheme in ("http", "https", "all"):
        if info.get(scheme):
            proxy = info[scheme]
            mounts[f"{scheme}://"] = proxy if "://" in proxy else f"http://{proxy}"
    for entry in (host.strip() for host in info.get("no", "").split(",")):
        if entry == "*":
            return None
        if not entry:
            continue
        if "://" in entry:
            mounts[entry] = None
        elif _is_ip(entry, ipaddress.IPv4Address):
            mounts[f"all://{entry}"] = None
        elif _is_ip(entry, ipaddress.IPv6Address):
            mounts[f"all://[{entry}]"] = None
        elif entry.lower() == "localhost":
            mounts[f"all://{entry}"] = None
        else:
            mounts[f"all://*{entry}"] = None
    url = httpx.URL(base_url)
    patterns: list[tuple[_Pattern, str | None]] = []
    for key, target in mounts.items():
        try:
            patterns.append((_Pattern(key), target))
        except httpx.InvalidURL:
            continue  # httpx would refuse to start; no proxy is the safer reading
    for pattern, target in sorted(patterns, key=lambda item: item[0].priority):
        if pattern.matches(url):
            return target
    return None
