"""Writing many notifications at once (shared/feeds.py `append_notifications`) on the real PostgreSQL."""
import random
import threading

import sqlalchemy as sa

from shared import events
from shared.db.tables import notifications
from shared.feeds import NOTIFICATION_BATCH, append_notifications


def note(number):
    return events.make_event(events.MATCH_READY, "t_store", match_id=f"r1_match_{number}")


def feeds_of(db_engine, user_ids):
    """{user: [(seq, match id)] oldest first}."""
    query = (sa.select(notifications.c.user_id, notifications.c.seq, notifications.c.payload)
             .where(notifications.c.user_id.in_(user_ids)).order_by(notifications.c.user_id, notifications.c.seq))
    with db_engine.connect() as conn:
        rows = conn.execute(query).all()
    feeds = {user_id: [] for user_id in user_ids}
    for user_id, seq, payload in rows:
        feeds[user_id].append((seq, events.decode(payload)["match_id"]))
    return feeds


def test_a_batch_gives_each_user_consecutive_seqs_in_the_order_given(db_engine):
    base = random.randrange(10**8, 2 * 10**9)
    users = [base + k for k in range(3)]
    # More rows than one statement takes, so the batches must continue each user's count.
    notices = [(users[k % 3], note(k)) for k in range(2 * NOTIFICATION_BATCH + 7)]
    with db_engine.begin() as conn:
        first = append_notifications(conn, notices[:5])
    with db_engine.begin() as conn:
        rest = append_notifications(conn, notices[5:])
    returned = first + rest
    assert [(user_id, events.decode(text)["seq"]) for user_id, _seq, text in returned] == \
        [(user_id, seq) for user_id, seq, _text in returned]
    feeds = feeds_of(db_engine, users)
    for user_id in users:
        mine = [event["match_id"] for owner, event in notices if owner == user_id]
        assert feeds[user_id] == list(zip(range(1, len(mine) + 1), mine))


def test_writers_sharing_users_in_opposite_orders_neither_deadlock_nor_leave_gaps(db_engine):
    """Two tournament servers notifying the same users, each in its own order, at the same time:
    the counters are locked in one order, so neither transaction is chosen as a deadlock victim."""
    base = random.randrange(10**8, 2 * 10**9)
    users = [base + k for k in range(60)]
    rounds = 15
    errors = []
    start = threading.Barrier(2)

    def writer(order):
        try:
            start.wait()
            for number in range(rounds):
                with db_engine.begin() as conn:
                    append_notifications(conn, [(user_id, note(number)) for user_id in order])
        except Exception as exc:  # a deadlock victim, or any failure, fails the test below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(order,)) for order in (users, users[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    for feed in feeds_of(db_engine, users).values():
        assert [seq for seq, _match in feed] == list(range(1, 2 * rounds + 1))
