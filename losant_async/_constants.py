"""Every number and default of the library, in one place."""

from __future__ import annotations

from typing import Final

import httpx

DEFAULT_BASE_URL: Final = "https://api.losant.com"
ENV_TOKEN: Final = "LOSANT_API_TOKEN"
ENV_BASE_URL: Final = "LOSANT_API_URL"
# "debug", "info" or "warning": a stderr handler on the losant_async logger (_logging).
ENV_LOG: Final = "LOSANT_LOG"

# The API version the spec in shared/spec was taken from (losant-rest-js 4.2.0).
ACCEPT_VERSION: Final = "^1.30.0"
# What the official SDKs append to every request (spec/api/globalParams.json),
# so that our wire format matches theirs.
DEFAULT_QUERY: Final[tuple[tuple[str, str], ...]] = (
    ("_actions", "false"),
    ("_links", "true"),
    ("_embedded", "true"),
)
USER_AGENT: Final = "losant-async"

DEFAULT_TIMEOUT: Final = httpx.Timeout(30.0, connect=5.0)
DEFAULT_MAX_RETRIES: Final = 2

# The connection pool: connections per origin (shared by requests and streams)
# and how long an idle one may be reused (issue 11, defect 2).
DEFAULT_MAX_CONNECTIONS: Final = 100
DEFAULT_KEEPALIVE_EXPIRY: Final = 5.0
DEFAULT_LIMITS: Final = httpx.Limits(
    max_connections=DEFAULT_MAX_CONNECTIONS,
    max_keepalive_connections=None,
    keepalive_expiry=DEFAULT_KEEPALIVE_EXPIRY,
)
# Limits a hostile or broken server cannot exceed (issue 11, defect 10): the
# bytes of one response body, received and decompressed alike, and the time
# from sending a request to the last byte of its answer. Streams are exempt.
DEFAULT_MAX_RESPONSE_BYTES: Final = 64 * 1024 * 1024
DEFAULT_RESPONSE_DEADLINE: Final = 300.0
# Request extensions read by the HTTP/1.1 transport (``_http11``).
EXTENSION_STREAM: Final = "losant_async.stream"
EXTENSION_MAX_BODY: Final = "losant_async.max_body"
EXTENSION_DEADLINE: Final = "losant_async.deadline"
# Tokens remembered for redaction (the newest kept; a token callable may
# hand out a new one every hour for the life of the process).
MAX_REMEMBERED_SECRETS: Final = 64
# Shorter tokens (test placeholders like "t") are not redacted process-wide.
MIN_REMEMBERED_SECRET: Final = 8
INITIAL_RETRY_DELAY: Final = 0.5
MAX_RETRY_DELAY: Final = 8.0
# A Retry-After beyond this is not waited for: the error goes to the caller.
MAX_RETRY_AFTER: Final = 60.0
# Up to this fraction of a retry delay is taken off at random, so that clients
# that failed together do not retry together.
RETRY_JITTER: Final = 0.25

# Error bodies and unparseable responses are quoted up to this many characters.
BODY_SNIPPET_LIMIT: Final = 1024
# Bytes read or decoded for a snippet: a UTF-8 character takes at most 4.
BODY_SNIPPET_BYTES: Final = BODY_SNIPPET_LIMIT * 4

APPLICATION_ID_LENGTH: Final = 24
# JavaScript's Number.MAX_SAFE_INTEGER, as in ``_models._base`` (a test keeps
# the two equal): repeated here so that checking a query integer does not
# load the models.
SAFE_INTEGER: Final = 2**53 - 1

# Parsed URLs kept per transport: parsing one costs more than the rest of
# building a request, and most calls repeat the same few URLs.
URL_CACHE_SIZE: Final = 256

# Streams (API.md "Streams").
DEFAULT_KEEP_ALIVE_INTERVAL: Final = 2.0
# Silence longer than this many keep-alive intervals means a dead connection.
KEEP_ALIVE_MISSES: Final = 3
MIN_SILENCE_TIMEOUT: Final = 1.0
STREAM_BACKOFF_INITIAL: Final = 0.5
STREAM_BACKOFF_MAX: Final = 30.0
# A reconnect delay is scaled by a random factor in [1 - this, 1]: many clients
# dropped together do not reconnect together.
STREAM_RECONNECT_JITTER: Final = 0.5
# Messages an MqttStreamGroup reads ahead of its consumer, across its streams.
STREAM_GROUP_BUFFER: Final = 64
# Reads (and seconds) allowed to run a closed SSE body iterator to its end:
# httpx/httpcore on trio warn when nested body generators are dropped half-read.
STREAM_FINISH_READS: Final = 64
STREAM_FINISH_TIMEOUT: Final = 0.25
# keepAliveInterval is whole seconds (API.md, Details: Streams); beyond a day
# the silence watchdog would watch nothing.
KEEP_ALIVE_MAX: Final = 86_400
# Caps on what a server can make a stream hold (issue 10): a line or an event
# of more bytes is skipped without being kept, so memory stays bounded.
SSE_MAX_EVENT_BYTES: Final = 1 << 20
# A retry: field of more digits is ignored (10**9 ms is 11 days).
SSE_MAX_RETRY_DIGITS: Final = 9
# An event id longer than this is never sent back as Last-Event-ID.
SSE_MAX_EVENT_ID: Final = 1024
# Outages (StreamGap) a stream keeps: the most recent ones.
STREAM_MAX_GAPS: Final = 1000

# Jobs.
JOB_POLL_INITIAL: Final = 0.5
JOB_POLL_MAX: Final = 5.0
JOB_POLL_MULTIPLIER: Final = 1.5
# The server stamps runQueuedAt when the request arrives and clocks differ:
# a job log is a candidate from this long before the enqueue request was sent.
JOB_MATCH_SKEW: Final = 5.0
# Job/import log entries read per request, and job log pages read at most.
JOB_LOG_PAGE_SIZE: Final = 100
JOB_LOG_MAX_PAGES: Final = 5
# The window on the server's clock, around the Date header of the 202 answer
# (seconds). runQueuedAt is stamped on arrival, before the answer: at most the
# request's round trip, and at least JOB_DATE_BEFORE, before Date. Date has
# whole seconds (RFC 9110 5.6.7), so the answer left up to 1 s after it.
# JOB_DATE_MARGIN covers the clocks of Losant's own machines (the one that
# writes Date may not be the one that stamps runQueuedAt) and a Date rounded
# instead of truncated.
JOB_DATE_BEFORE: Final = 2.0
JOB_DATE_AFTER: Final = 1.0
JOB_DATE_MARGIN: Final = 1.0
