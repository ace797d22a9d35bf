"""Reads shared by a crowd of viewers connecting at once (shared/crowd.SharedReads)."""
import threading
import time

import pytest

from shared.crowd import SharedReads


def ask(reads, key, fetch, answers, name):
    try:
        answers[name] = reads.read(key, fetch)
    except Exception as exc:
        answers[name] = exc


def start(reads, key, fetch, answers, *names):
    threads = [threading.Thread(target=ask, args=(reads, key, fetch, answers, name)) for name in names]
    for thread in threads:
        thread.start()
    return threads


def test_callers_asking_while_a_read_runs_share_the_next_one_never_the_running_one():
    reads, gate, calls, answers = SharedReads(), threading.Event(), [], {}

    def fetch():
        calls.append(None)
        number = len(calls)
        if number == 1:
            gate.wait(5)
        return f"read {number}"
    first = start(reads, "head", fetch, answers, "early")
    while not calls:
        time.sleep(0.01)
    # They asked after the first read began: what it returns may be older than their question.
    later = start(reads, "head", fetch, answers, "a", "b", "c")
    time.sleep(0.3)
    gate.set()
    for thread in first + later:
        thread.join(5)
    assert answers == {"early": "read 1", "a": "read 2", "b": "read 2", "c": "read 2"}
    assert len(calls) == 2
    assert reads.read("head", fetch) == "read 3"  # nothing kept: a later caller reads again


def test_every_caller_of_a_failed_read_gets_its_error_and_other_keys_are_read_apart():
    reads, gate, answers = SharedReads(), threading.Event(), {}

    def down():
        gate.wait(5)
        raise ConnectionError("database unreachable")
    threads = start(reads, "head", down, answers, "running")
    time.sleep(0.1)
    threads += start(reads, "head", down, answers, "x", "y")
    threads += start(reads, "other", lambda: "fine", answers, "other")
    time.sleep(0.3)
    gate.set()
    for thread in threads:
        thread.join(5)
    assert answers.pop("other") == "fine"
    assert set(answers) == {"running", "x", "y"}
    assert all(isinstance(error, ConnectionError) for error in answers.values())
    with pytest.raises(ValueError):
        reads.read("head", lambda: int("not a number"))


def test_a_key_in_demand_lingers_for_the_callers_close_behind_and_one_asked_now_and_then_does_not():
    now = [100.0]
    reads, calls, answers = SharedReads(linger=0.3, clock=lambda: now[0]), [], {}

    def fetch():
        calls.append(None)
        return f"read {len(calls)}"
    assert reads.read("head", fetch) == "read 1"  # never read before: at once
    # Read a moment ago: the next read waits for the callers close behind it, and they share it.
    leader = start(reads, "head", fetch, answers, "leader")
    time.sleep(0.1)
    assert calls == [None]  # still lingering
    behind = start(reads, "head", fetch, answers, "b", "c")
    for thread in leader + behind:
        thread.join(5)
    assert answers == {"leader": "read 2", "b": "read 2", "c": "read 2"}
    # Not asked for a while: read at once, no linger.
    now[0] += 60
    began = time.monotonic()
    assert reads.read("head", fetch) == "read 3"
    assert time.monotonic() - began < 0.2
