"""Downloading what a finished job produced (``downloadUrls``), streamed, without the token.

The URLs Losant hands out point at another host (signed storage URLs), so
the download never goes through the API transport: it gets an
``httpx.AsyncClient`` of its own, with the client's timeouts and no
``Authorization`` (nor any other header of the client), closed when done.
Its errors are ours (``APIStatusError``, ``APIConnectionError``,
``APITimeoutError``), and a URL is named without its query: a signed URL's
query is a credential.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import anyio
import httpx

from .._constants import DEFAULT_TIMEOUT
from .._exceptions import APIConnectionError, APITimeoutError
from .._response import status_error
from .._retry import parse_retry_after

__all__ = ["download_to", "open_download"]

_MAX_REDIRECTS: Final = 5
# An error body is read this far, for its message.
_ERROR_BODY: Final = 4096


def _shown(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{parts.path}"


def _timeout(timeout: Mapping[str, float | None] | None) -> httpx.Timeout:
    if timeout is None:
        return DEFAULT_TIMEOUT
    return httpx.Timeout(
        connect=timeout.get("connect"),
        read=timeout.get("read"),
        write=timeout.get("write"),
        pool=timeout.get("pool"),
    )


def _check_url(url: str) -> None:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"a download URL must be http(s), not {scheme or 'relative'!r}")


@contextlib.asynccontextmanager
async def open_download(
    url: str, timeouts: Mapping[str, float | None] | None
) -> AsyncIterator[AsyncIterator[bytes]]:
    """The body of ``url`` as blocks; the connection closes when the block is left."""
    _check_url(url)
    shown = _shown(url)
    client = httpx.AsyncClient(
        timeout=_timeout(timeouts), follow_redirects=True, max_redirects=_MAX_REDIRECTS
    )
    async with client:
        try:
            request = client.build_request("GET", url)
            # httpx adds no Authorization of its own; make sure of it.
            request.headers.pop("authorization", None)
            response = await client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise APITimeoutError(
                f"Download from {shown} timed out ({type(exc).__name__})."
            ) from None
        except httpx.HTTPError as exc:
            raise APIConnectionError(
                f"Download from {shown} failed ({type(exc).__name__})."
            ) from None
        try:
            if response.status_code >= 300:
                content = b""
                async for block in response.aiter_raw():
                    content += block
                    if len(content) >= _ERROR_BODY:
                        break
                raise status_error(
                    response.status_code,
                    response.headers,
                    content[:_ERROR_BODY],
                    None,
                    parse_retry_after(response.headers),
                )
            blocks = _blocks(response, shown)
            try:
                yield blocks
            finally:
                with anyio.CancelScope(shield=True):
                    await blocks.aclose()
        finally:
            with anyio.CancelScope(shield=True):
                await response.aclose()


async def _blocks(response: httpx.Response, shown: str) -> AsyncGenerator[bytes, None]:
    try:
        async for block in response.aiter_bytes():
            yield block
    except httpx.TimeoutException as exc:
        raise APITimeoutError(f"Download from {shown} timed out ({type(exc).__name__}).") from None
    except httpx.HTTPError as exc:
        raise APIConnectionError(f"Download from {shown} failed ({type(exc).__name__}).") from None


async def download_to(url: str, path: Path, timeouts: Mapping[str, float | None] | None) -> Path:
    """Stream ``url`` into ``path`` (through ``path.part``); return ``path``."""
    part = path.with_name(path.name + ".part")
    try:
        async with (
            open_download(url, timeouts) as blocks,
            await anyio.open_file(part, "wb") as file,
        ):
            async for block in blocks:
                await file.write(block)
        await anyio.Path(part).replace(path)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.Path(part).unlink(missing_ok=True)
        raise
    return path
