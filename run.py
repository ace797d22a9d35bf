"""Entry point: `python run.py orchestrator|tournament ...` picks which service to serve."""
import argparse
import sys


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Tournament platform")
    commands = parser.add_subparsers(dest="command", required=True)
    orchestrator = commands.add_parser("orchestrator", help="serve the orchestrator (dashboard, API, SSE)")
    orchestrator.add_argument("--host", default="127.0.0.1")
    orchestrator.add_argument("--port", type=int, default=5000)
    orchestrator.add_argument("--workers", type=int, default=1)
    tournament = commands.add_parser("tournament", help="serve one tournament's server")
    tournament.add_argument("--id", required=True, dest="tournament_id")
    tournament.add_argument("--host", default="127.0.0.1")
    tournament.add_argument("--port", type=int, required=True)
    return parser.parse_args(argv)


def serve_tournament(args):
    # gevent first: everything imported after it gets cooperative sockets and locks.
    from gevent import monkey

    monkey.patch_all()
    import os
    import signal

    import gevent
    from gevent.pywsgi import WSGIServer

    os.environ["TOURNAMENT_ID"] = args.tournament_id
    from tournament_service import create_app

    app = create_app()
    http = WSGIServer((args.host, args.port), app, log=None)

    def stop(*_):
        # Finish in-flight requests, then let the publisher drain before exiting.
        http.stop(timeout=5)
        app.extensions["tournament_server"].publisher.close()

    gevent.signal_handler(signal.SIGTERM, stop)
    gevent.signal_handler(signal.SIGINT, stop)
    http.serve_forever()


def serve_orchestrator(args):
    # gunicorn's gevent worker patches too, but only after the app's imports (ssl, redis) happened.
    from gevent import monkey

    monkey.patch_all()
    from orchestrator.serve import serve

    serve(args.host, args.port, args.workers)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "tournament":
        serve_tournament(args)
    else:
        serve_orchestrator(args)


if __name__ == "__main__":
    main()
