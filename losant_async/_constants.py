"""Every number and default of the library, in one place."""

from __future__ import annotations

from typing import Final

import httpx

DEFAULT_BASE_URL: Final = "https://api.losant.com"
ENV_TOKEN: Final = "LOSANT_API_TOKEN"
ENV_BASE_URL: Final = "LOSANT_API_URL"

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
