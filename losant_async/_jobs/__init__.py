"""Following the jobs that ``202 Accepted`` answers enqueue.

- ``_matching``: log entries reduced to what matching needs, the job-name
  table and the matching rules (README, "How jobs are matched").
- ``_handle``: ``JobHandle`` and its poll loop, ``JobOutcome``, ``JobProgress``.
"""

from __future__ import annotations

from ._handle import JobHandle, JobOutcome, JobProgress
from ._matching import JobError

__all__ = ["JobError", "JobHandle", "JobOutcome", "JobProgress"]
