"""The local Losant's handlers: plain async functions ``handler(ctx, call) -> Response``.

One module per part of the Application resource, each beside the module that
holds its logic: ``application`` (the application itself, its readme and
search; ``_state``), ``usage`` (the four counts; ``_usage``), ``mqtt``
(publish and the SSE stream; ``_sse``), ``jobs`` (the eight actions that may
answer 202, and the downloads they produce; ``_jobs``) and ``logs`` (the
import and job logs a client follows a job through; ``_query``). The route
table that reaches them is ``_routes.ROUTES``.
"""
