"""Work run side by side on several instances, a bounded number at once: the threads
behind a target of many instances (``lxdapi.call``, ``lxdapi.sls``...) and behind
aggregated states that each run a job in their own instance.

Each job runs in a copy of the caller's :mod:`contextvars` context, so that what the
caller's context holds (Salt's loader keeps its dunders there) is what the job sees.
Plain Python: nothing here knows Salt.
"""

import contextvars
import os
from concurrent.futures import ThreadPoolExecutor

#: The most jobs run at once when the caller does not say: LXD runs an exec in the
#: instance, so the host's cores are what jobs wait on; never fewer than 2.
MAX_DEFAULT = 16


def default_concurrency():
    """How many jobs run at once by default: the host's CPU count (at least 2, at most
    :data:`MAX_DEFAULT`)."""
    return max(2, min(MAX_DEFAULT, os.cpu_count() or 2))


def check_concurrency(value, what="concurrency"):
    """``value`` as a number of jobs at once (None: :func:`default_concurrency`);
    ValueError naming ``what`` when it is not a whole number of 1 or more."""
    if value is None:
        return default_concurrency()
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a whole number of 1 or more, not {value!r}")
    return value


def run_each(items, job, concurrency=None):
    """``job(item)`` for every item of ``items``, at most ``concurrency`` at once
    (default :func:`default_concurrency`); returns ``{item: result}`` in the order of
    ``items``, where a job that raised an :class:`Exception` has that exception as its
    result (the others go on). One item runs in the caller's thread."""
    items = list(items)
    concurrency = check_concurrency(concurrency)
    if len(items) <= 1 or concurrency == 1:
        return {item: _guarded(job, item) for item in items}
    with ThreadPoolExecutor(max_workers=min(concurrency, len(items))) as pool:
        futures = [
            (item, pool.submit(contextvars.copy_context().run, _guarded, job, item))
            for item in items
        ]
        return {item: future.result() for item, future in futures}


def _guarded(job, item):
    try:
        return job(item)
    except Exception as exc:  # reported as the item's result, the others go on
        return exc
