"""What a forked server offers to samepage merging: the pages it has to itself, read from the
kernel's page map of a real forked process, and when it offers them."""
import mmap
import os

import pytest

from tournament_service import page_sharing
from tournament_service.page_sharing import PAGE, keep_offering, offer_settings, own_page_runs


def _in_forked_child(work):
    """Run `work()` in a forked child of this process; returns what it returned (a repr'd value)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(write, repr(work()).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer:
        text = answer.read()
    os.waitpid(pid, 0)
    return eval(text)  # noqa: S307 - our own child's repr of tuples of ints


def test_a_forked_child_owns_the_pages_it_wrote_and_offers_those_only():
    region = mmap.mmap(-1, 64 * PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    region.write(b"x" * (64 * PAGE))  # all present, and shared with the child once it forks
    base = _address(region)

    def child():
        for page in (3, 10, 11, 12, 40):
            region[page * PAGE] = ord("y")
        runs = [(address - base) // PAGE for address, length in own_page_runs()
                for address in range(address, address + length, PAGE) if base <= address < base + 64 * PAGE]
        offered = page_sharing.offer_own_pages([(base + 10 * PAGE, 3 * PAGE)])
        return runs, offered, _mergeable(base + 10 * PAGE), _mergeable(base + 20 * PAGE)

    runs, offered, offered_flag, other_flag = _in_forked_child(child)
    assert runs == [3, 10, 11, 12, 40]
    assert offered == 3 * PAGE and offered_flag and not other_flag


def test_adjacent_own_pages_are_one_run_and_a_page_still_shared_between_runs_is_not_offered():
    # ksmd never merges a page shared by fork, yet visits it at every pass at the highest cost.
    region = mmap.mmap(-1, 64 * PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    region.write(b"x" * (64 * PAGE))
    base = _address(region)

    def child():
        for page in (3, 4, 6, 30):
            region[page * PAGE] = ord("y")
        return [((address - base) // PAGE, length // PAGE) for address, length in own_page_runs()
                if base <= address < base + 64 * PAGE]

    assert _in_forked_child(child) == [(3, 2), (6, 1), (30, 1)]


def test_the_settings_say_when_and_whether_to_offer():
    assert offer_settings({}) == ("auto", 30.0)
    assert offer_settings({"KSM_OFFER": "never", "KSM_OFFER_AFTER_SECONDS": "0"}) == ("never", 0.0)
    for bad in ({"KSM_OFFER": "yes"}, {"KSM_OFFER_AFTER_SECONDS": "soon"}, {"KSM_OFFER_AFTER_SECONDS": "-1"},
                {"KSM_OFFER_AFTER_SECONDS": "nan"}):
        with pytest.raises(ValueError):
            offer_settings(bad)


class _Stop(Exception):
    pass


def _offers(mode, ksmd_running, rounds=3):
    """How many times keep_offering offers in `rounds` rounds, and what it slept."""
    offers, slept = [], []

    def sleep(seconds):
        slept.append(seconds)
        if len(slept) > rounds:
            raise _Stop

    try:
        keep_offering(mode, 30, again=(300, 1000), sleep=sleep, ksmd_runs=lambda: ksmd_running,
                      offer=lambda: offers.append(1) or 0)
    except _Stop:
        pass
    return len(offers), slept


def test_an_offer_that_cannot_read_proc_is_logged_and_tried_again_later(caplog):
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        if len(slept) > 2:
            raise _Stop

    def offer():
        raise PermissionError("/proc/self/pagemap")

    with pytest.raises(_Stop):
        keep_offering("always", 30, again=(300, 1000), sleep=sleep, offer=offer)
    assert slept == [30, 300, 600]
    assert [r.levelname for r in caplog.records if "could not offer" in r.getMessage()] == ["WARNING", "WARNING"]


def test_auto_offers_only_while_ksmd_runs_always_does_and_never_does_not():
    assert _offers("auto", ksmd_running=True) == (3, [30, 300, 600, 1000])
    assert _offers("auto", ksmd_running=False) == (0, [30, 300, 600, 1000])
    assert _offers("always", ksmd_running=False)[0] == 3
    assert _offers("never", ksmd_running=True) == (0, [])


def _address(region):
    import ctypes

    return ctypes.addressof(ctypes.c_char.from_buffer(region))


def _mergeable(address):
    """True when the mapping holding `address` in this process was offered (VmFlags "mg")."""
    with open("/proc/self/smaps") as smaps:
        inside = False
        for line in smaps:
            head = line.split()[0]
            if "-" in head and not head.endswith(":"):
                low, high = (int(bound, 16) for bound in head.split("-"))
                inside = low <= address < high
            elif inside and head == "VmFlags:":
                return "mg" in line.split()
    return False
