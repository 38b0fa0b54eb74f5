"""Every argument check and wire shaping, before a request is sent.

A bad argument fails fast with ``TypeError`` (wrong kind of thing) or
``ValueError`` (right kind, wrong value), naming the argument or field. Three
seams, one module each:

- ``_values``: single values: ids, times (ms since the epoch), lists
  (comma-separated), ints and bools, query values and ``query()``, MQTT
  topics and payloads, the arguments of a re-created job.
- ``_bodies``: JSON bodies, from a model, a camelCase mapping or snake_case
  keyword arguments, checked down the whole tree.
- ``_form``: the import's multipart form and its lazily opened bundle file.
"""

from __future__ import annotations

from ._bodies import build_body, build_list_body, check_json
from ._form import Bundle, Multipart, import_multipart
from ._values import (
    MAX_MS,
    MAX_QUERY_VALUE_BYTES,
    Time,
    check_application_id,
    check_bool,
    check_job,
    check_limit,
    check_publish_topic,
    check_query_text,
    check_resolution,
    check_str,
    check_topic_filter,
    check_topics,
    csv_param,
    encode_message,
    is_object_id,
    ms_param,
    query,
    to_csv,
    to_ms,
)

__all__ = [
    "MAX_MS",
    "MAX_QUERY_VALUE_BYTES",
    "Bundle",
    "Multipart",
    "Time",
    "build_body",
    "build_list_body",
    "check_application_id",
    "check_bool",
    "check_job",
    "check_json",
    "check_limit",
    "check_publish_topic",
    "check_query_text",
    "check_resolution",
    "check_str",
    "check_topic_filter",
    "check_topics",
    "csv_param",
    "encode_message",
    "import_multipart",
    "is_object_id",
    "ms_param",
    "query",
    "to_csv",
    "to_ms",
]
