"""The form of an import: ``POST /applications/{applicationId}/import`` (multipart).

A bundle given as a path is opened lazily, at the transport's first read
(``_multipart.LazyFile``), and closed at its end; the façade closes it too,
so nothing stays open if the request fails or is cancelled.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import IO, Any, cast

import attrs

from .._models import ImportIntoApplicationOptions
from .._multipart import Multipart, file_field
from ._bodies import build_body, check_json

__all__ = ["Bundle", "Multipart", "import_multipart"]

Bundle = bytes | str | os.PathLike[str] | IO[bytes]
# API.md "Bodies": bytes and nameless file objects are sent under this name.
_DEFAULT_BUNDLE_NAME = "bundle.zip"
_BUNDLE_FIELD = "importBundle"
_ZIP = "application/zip"


def import_multipart(bundle: object, email: str | None, options: object) -> Multipart:
    """The form of ``POST /applications/{applicationId}/import``.

    - ``bundle``: a path (``str`` / ``os.PathLike``, streamed, sent under the
      file's name), ``bytes`` (sent as ``bundle.zip``), a binary file object
      (sent under the base name of its ``name``, else ``bundle.zip``), or None;
      field ``importBundle``, type ``application/zip``.
    - ``email``: a text field.
    - ``options``: an ``ImportIntoApplicationOptions`` (or the older
      ``ApplicationImportOptions``) or a camelCase mapping, sent as a JSON text
      field.

    Returns ``(data, files)``; ``files`` is empty without a bundle, and the
    transport must still send ``multipart/form-data`` then.
    """
    data: dict[str, str] = {}
    files: dict[str, tuple[str, IO[bytes] | bytes, str]] = {}
    if email is not None:
        if not isinstance(email, str):
            raise TypeError(f"email must be a str, not {type(email).__name__}")
        check_json(email, "email")
        data["email"] = email
    if options is not None:
        if not isinstance(options, Mapping) and not attrs.has(type(options)):
            raise TypeError(
                "options must be an ImportIntoApplicationOptions or a mapping, "
                f"not {type(options).__name__}"
            )
        body = build_body(ImportIntoApplicationOptions, cast(Any, options), {})
        data["options"] = json.dumps(body, separators=(",", ":"))
    if bundle is not None:
        files[_BUNDLE_FIELD] = _bundle_field(bundle)
    return data, files


def _bundle_field(bundle: object) -> tuple[str, IO[bytes] | bytes, str]:
    return file_field(bundle, "bundle", default_name=_DEFAULT_BUNDLE_NAME, content_type=_ZIP)
