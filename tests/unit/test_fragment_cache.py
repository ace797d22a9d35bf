"""The orchestrator's cache of the servers' live fragments (orchestrator/fragment_cache.py) on its
own: what it shares, for how long, how many fetches a crowd costs, and how much it keeps."""
import threading

from orchestrator.fragment_cache import Answer, SharedFragments

ENDPOINT = "127.0.0.1:6001"


def shared(body, seq=5):
    return Answer(200, [("Content-Type", "text/html"), ("X-Fragment-Seq", str(seq))], body)


class Server:
    """Counts fetches; answers `answer()`, optionally holding each fetch until released."""

    def __init__(self, answer, hold=False):
        self.answer, self.fetches = answer, 0
        self.release = threading.Event()
        if not hold:
            self.release.set()

    def fetch(self):
        self.fetches += 1
        self.release.wait(5)
        return self.answer()


def ask(cache, server, path="/fragments/bracket", query=b"", tournament="t_1", endpoint=ENDPOINT):
    return cache.answer(tournament, endpoint, path, query, server.fetch)


def test_a_crowd_asking_at_once_costs_one_fetch_and_gets_the_same_bytes():
    cache = SharedFragments(live=lambda: True)
    server = Server(lambda: shared(b"<div>bracket</div>"), hold=True)
    answers = []
    crowd = [threading.Thread(target=lambda: answers.append(ask(cache, server))) for _ in range(20)]
    for viewer in crowd:
        viewer.start()
    server.release.set()
    for viewer in crowd:
        viewer.join(5)
    assert server.fetches == 1
    assert sorted(outcome for _a, outcome in answers) == ["HIT"] * 19 + ["MISS"]
    assert {a.body for a, _o in answers} == {b"<div>bracket</div>"}


def test_an_answer_not_marked_as_everyones_is_never_given_to_another():
    cache = SharedFragments(live=lambda: True)
    own = iter([b"alice's", b"bob's"])
    server = Server(lambda: Answer(200, [("Content-Type", "text/html")], next(own)), hold=True)
    answers = []
    crowd = [threading.Thread(target=lambda: answers.append(ask(cache, server)[0].body)) for _ in range(2)]
    for viewer in crowd:
        viewer.start()
    server.release.set()
    for viewer in crowd:
        viewer.join(5)
    assert sorted(answers) == [b"alice's", b"bob's"] and server.fetches == 2


def test_a_newer_seq_a_command_or_another_server_means_a_fresh_fetch():
    cache = SharedFragments(live=lambda: True)
    seq = [5]
    server = Server(lambda: shared(b"seq %d" % seq[0], seq[0]))
    assert ask(cache, server)[1] == "MISS" and ask(cache, server)[1] == "HIT"
    cache.note("t_1", 5)  # an event the kept answer already shows
    assert ask(cache, server)[1] == "HIT"
    seq[0] = 6
    cache.note("t_1", 6)
    assert ask(cache, server)[0].body == b"seq 6" and ask(cache, server)[1] == "HIT"
    cache.note("t_2", 99)  # another tournament's news
    assert ask(cache, server)[1] == "HIT"
    cache.changed("t_1")
    assert ask(cache, server)[1] == "MISS" and ask(cache, server)[1] == "HIT"
    assert ask(cache, server, endpoint="127.0.0.1:6002")[1] == "MISS"
    assert ask(cache, server, query=b"round=w2")[1] == "MISS"
    assert server.fetches == 5


def test_nothing_is_shared_while_the_relay_is_away_nor_for_longer_than_max_age():
    live, now = [False], [100.0]
    cache = SharedFragments(live=lambda: live[0], max_age=10, clock=lambda: now[0])
    server = Server(lambda: shared(b"x"))
    assert [ask(cache, server)[1] for _ in range(2)] == ["MISS", "MISS"]
    live[0] = True
    assert [ask(cache, server)[1] for _ in range(2)] == ["MISS", "HIT"]
    now[0] += 10.5
    assert ask(cache, server)[1] == "MISS"
    cache.reset()  # the relay resubscribed: it may have missed events meanwhile
    assert ask(cache, server)[1] == "MISS"


def test_the_bytes_kept_stay_under_the_bound_least_recently_used_out_first():
    cache = SharedFragments(live=lambda: True, max_bytes=4000)
    server = Server(lambda: shared(b"x" * 900))
    for round_no in range(10):
        ask(cache, server, query=b"round=%d" % round_no)
    assert cache.bytes <= 4000
    assert ask(cache, server, query=b"round=9")[1] == "HIT" and ask(cache, server, query=b"round=0")[1] == "MISS"
    big = Server(lambda: shared(b"x" * 1001))  # over a quarter of the bound: passed on, not kept
    assert [ask(cache, big, path="/fragments/standings")[1] for _ in range(2)] == ["MISS", "MISS"]
