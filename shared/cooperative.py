"""CPU-bound work in a process served by gevent, without stalling everything else it serves."""
import contextvars

import gevent
from gevent import monkey


def off_the_hub(work, *args):
    """`work(*args)`, CPU-bound and touching no greenlet-bound state (no database session, no
    request): in a worker thread when serving under gevent, so the hub keeps answering health
    checks, reads and SSE viewers meanwhile (the thread gives up the GIL every few milliseconds);
    called directly elsewhere (tests, a plain thread)."""
    if monkey.is_module_patched("threading"):
        # In the caller's context, so what `work` logs carries the request's id.
        return gevent.get_hub().threadpool.apply(contextvars.copy_context().run, (work, *args))
    return work(*args)
