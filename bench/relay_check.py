"""The relay's check of each Redis message against the log: what it costs per event.

Writes a published tournament's log of --events events (its publication, then team registrations)
straight into a fresh PostgreSQL database, then dispatches each event's JSON
through a FeedHub with one viewer on the channel: trusting the message (no record), checking it
against the log as the orchestrator's relay does one message at a time (one read per event per
process, whatever the number of viewers), and checking --batch messages that arrived together
(one read per channel per batch, as the relay does when events come faster than it reads).
Prints microseconds per event for each.

    .venv/bin/python -m bench.relay_check [--events 5000] [--batch 50]
"""
import argparse
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.harness import parse_args, print_header, write_results  # noqa: E402
from orchestrator.relay import stored_payload  # noqa: E402
from shared import events  # noqa: E402
from shared.db.engine import make_engine  # noqa: E402
from tests.support.services import scratch_database  # noqa: E402
from shared.db.tables import tournament_events  # noqa: E402
from shared.pubsub import FeedHub  # noqa: E402
from tests.support.big_events import write_registered_tournament  # noqa: E402


def timed_dispatch(hub, channel, texts, batch=1):
    viewer = hub.join(channel)
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        hub.dispatch_all([(channel, text) for text in texts[start:start + batch]])
        viewer.take(0)  # the viewer takes each frame, so its queue never overflows
    elapsed = time.perf_counter() - started
    hub.leave(viewer)
    return elapsed / len(texts) * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--name", default="relay_check", help="results file name")
    args = parse_args(parser, smoke={"events": 300, "batch": 10, "name": "relay_check_smoke"})
    info = print_header("relay check against the log", vars(args))
    with scratch_database(f"bench_relay_{uuid.uuid4().hex[:8]}") as url:
        engine = make_engine(url)
        try:
            # A published tournament's log as a server writes it: its publication (two events), then
            # registrations.
            tournament_id, _seq = write_registered_tournament(engine, "round_robin", max(1, args.events - 2))
            with engine.connect() as conn:
                texts = list(conn.execute(sa.select(tournament_events.c.payload).where(
                    tournament_events.c.tournament_id == tournament_id).order_by(tournament_events.c.seq)).scalars())
            if len(texts) != max(3, args.events):
                raise RuntimeError(f"the log holds {len(texts)} events, not {args.events}")
            channels = events.Channels("bench:")
            channel = channels.tournament_events(tournament_id)
            trusting = timed_dispatch(FeedHub(), channel, texts)
            record = stored_payload(channels, engine)
            checking = timed_dispatch(FeedHub(record=record), channel, texts)
            batched = timed_dispatch(FeedHub(record=record), channel, texts, args.batch)
            print(f"per event: trusting the message {trusting:.0f} us; checking it against the log {checking:.0f} us "
                  f"one at a time, {batched:.0f} us in batches of {args.batch} (once per orchestrator process)")
            write_results(args.name, {"machine": info, "parameters": vars(args), "figures": {
                "us_per_event_trusting": trusting, "us_per_event_checking_one_at_a_time": checking,
                "us_per_event_checking_in_batches": batched}})
        finally:
            engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
