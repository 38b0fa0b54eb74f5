"""Following the jobs that ``202 Accepted`` answers enqueue.

- ``_values``: what users see: ``JobProgress``, ``JobOutcome``, ``JobError``.
- ``_matching``: log entries reduced to what matching needs, the job-name
  table, the matching rules (README, "How jobs are matched") and the
  server-side query of the job logs.
- ``_handle``: ``JobHandle`` and its poll loop (delays: ``_retry.JobPollBackoff``).
"""

from __future__ import annotations

from ._handle import JobHandle
from ._values import JobError, JobOutcome, JobProgress

__all__ = ["JobError", "JobHandle", "JobOutcome", "JobProgress"]
