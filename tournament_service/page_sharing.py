"""What a server forked from the zygote offers the kernel to share again.

A forked server starts with all of the zygote's memory shared (copy on write) and gets its own copy
of a page when it writes to it. CPython 3.11 writes a reference count into every object the
server's code touches and its specializing interpreter writes into the code it runs, so a server
copies ~4,400 of the zygote's pages (~17 MiB) in its first seconds, most of them only to put the
same bytes back or to make the same change every sibling makes. The kernel's samepage merging
(KSM) can map one read-only copy of identical pages for all the processes that have one, but only
for memory offered to it (madvise MADV_MERGEABLE), and only where the host runs ksmd.

A server offers exactly the pages it has to itself, not all of its memory: the ~11,500 pages it
still shares with the zygote are already one copy, and scanning them (ksmd looks at every offered
page, 200 servers' worth) would only make the pages that can be merged wait their turn longer at
the host's scan rate. The offer is made once the server has settled (`KSM_OFFER_AFTER_SECONDS`),
then for what it copied since 5 minutes later, 10 after that, 20, ... up to every hour, and only
while ksmd runs (`KSM_OFFER=auto`; `always` offers regardless, `never` not at all): marking pages
splits the process's mappings, which is no use to a host that merges nothing.
"""
import ctypes
import logging
import os
import re
import time

log = logging.getLogger(__name__)

KSM_RUN = "/sys/kernel/mm/ksm/run"
MADV_MERGEABLE = 12
# An idle server copies few pages after its first minute; a look costs ~10 ms of CPU (200 servers).
OFFER_AGAIN = (300.0, 3600.0)
MODES = ("auto", "always", "never")
PAGE = os.sysconf("SC_PAGE_SIZE")
# /proc/PID/pagemap's entry per page, bits 63 (present) and 56 (mapped by this process only), as
# bits of the entry's top byte.
_OWN_BYTE = bytes(1 if flags & 0x81 == 0x81 else 0 for flags in range(256))
_RUN = re.compile(b"\x01+")
# Not memory the server owns in the sense meant here: the stack changes with every call, and the
# kernel's own mappings cannot be merged.
_SKIPPED = ("[stack]", "[vvar]", "[vvar_vclock]", "[vdso]", "[vsyscall]")


def offer_settings(environ):
    """(mode, seconds before the first offer) from KSM_OFFER and KSM_OFFER_AFTER_SECONDS.

    :raise ValueError: a value that is not one of the allowed ones.
    """
    mode = environ.get("KSM_OFFER", "auto")
    if mode not in MODES:
        raise ValueError(f"KSM_OFFER must be one of {', '.join(MODES)}, not {mode!r}")
    after = environ.get("KSM_OFFER_AFTER_SECONDS", "30")
    try:
        seconds = float(after)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 86400:
        raise ValueError(f"KSM_OFFER_AFTER_SECONDS must be a number of seconds under a day, not {after!r}")
    return mode, seconds


def ksmd_runs(path=KSM_RUN):
    """True when the host's ksmd merges pages (its run file reads 1)."""
    try:
        with open(path) as run:
            return run.read().strip() == "1"
    except OSError:
        return False


def own_page_runs(pid="self"):
    """[(address, length)] of the pages process `pid` has to itself (copied or new) in its private
    writable mappings, in runs of adjacent pages (a forked server: ~4,400 pages in ~1,940 runs).

    Never joined across a page still shared with the zygote, though each run offered splits the
    mapping holding it (~4,400 mappings a server instead of ~500: ~0.8 MiB of kernel memory). ksmd
    does not merge a page that processes share by fork, yet visits it at every pass at the highest
    cost of any page (both of its trees searched, the page checksummed): with runs joined across
    up to 3 pages, a third of what a server offered was such pages, and ksmd took 2.0-3.0% of a
    core at its default rate, against 1.2-1.3% offering the own pages only (40 forked servers, all
    merged, back to back; ~1,900 mappings a server then)."""
    runs = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for line in maps:
            fields = line.split()
            perms = fields[1]
            if perms[1] != "w" or perms[3] != "p" or (len(fields) > 5 and fields[5] in _SKIPPED):
                continue
            low, high = (int(bound, 16) for bound in fields[0].split("-"))
            pagemap.seek(low // PAGE * 8)
            # An entry's flags are its top byte (little-endian): one byte per page, 1 where the
            # page is ours, then runs of ones found by the regex engine, not a loop over pages.
            own = pagemap.read((high - low) // PAGE * 8)[7::8].translate(_OWN_BYTE)
            runs += [(low + run.start() * PAGE, (run.end() - run.start()) * PAGE) for run in _RUN.finditer(own)]
    return runs


def offer_own_pages(runs=None):
    """Mark `runs` (default: `own_page_runs()`) mergeable; returns the bytes offered."""
    libc = ctypes.CDLL(None, use_errno=True)
    madvise = libc.madvise
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    offered = 0
    for address, length in own_page_runs() if runs is None else runs:
        # A mapping the kernel will not merge (EINVAL) is skipped; the others are still offered.
        if madvise(address, length, MADV_MERGEABLE) == 0:
            offered += length
    return offered


def keep_offering(mode, first_after, again=OFFER_AGAIN, sleep=time.sleep, ksmd_runs=ksmd_runs, offer=offer_own_pages):
    """A forked server's background loop: offer its own pages after `first_after` seconds, then
    after `again[0]` seconds, twice that, ... up to every `again[1]`, as `mode` says (see the
    module's docstring). Never returns."""
    if mode == "never":
        return
    sleep(first_after)
    first, every = True, again[0]
    while True:
        if mode == "always" or ksmd_runs():
            started = time.perf_counter()
            try:
                offered = offer()
            except OSError as exc:  # /proc unreadable here (a sandbox, say): the server goes on
                log.warning("could not offer this server's pages to samepage merging: %s", exc)
            else:
                (log.info if first else log.debug)(
                    "offered %.1f MiB of this server's own pages to samepage merging in %.0f ms",
                    offered / 2 ** 20, (time.perf_counter() - started) * 1000)
                first = False
        sleep(every)
        every = min(every * 2, again[1])
