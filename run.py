"""Entry point: `python run.py orchestrator|tournament ...` picks which service to serve."""
import argparse
import os
import sys


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Tournament platform")
    commands = parser.add_subparsers(dest="command", required=True)
    orchestrator = commands.add_parser("orchestrator", help="serve the orchestrator (dashboard, API, SSE)")
    # BIND (host:port) is gunicorn_conf's setting too; the image sets it.
    bind_host, _, bind_port = os.environ.get("BIND", "127.0.0.1:5000").rpartition(":")
    orchestrator.add_argument("--host", default=bind_host or "127.0.0.1")
    orchestrator.add_argument("--port", type=int, default=int(bind_port or 5000))
    orchestrator.add_argument("--workers", type=int, default=None,
                              help="gunicorn workers (default: WEB_CONCURRENCY, else 1)")
    tournament = commands.add_parser("tournament", help="serve one tournament's server")
    # A container (Dockerfile.tournament) gives these in its environment instead.
    tournament.add_argument("--id", dest="tournament_id", default=os.environ.get("TOURNAMENT_ID"),
                            required="TOURNAMENT_ID" not in os.environ)
    tournament.add_argument("--host", default=os.environ.get("SERVER_HOST", "127.0.0.1"))
    tournament.add_argument("--port", type=int, default=os.environ.get("SERVER_PORT"),
                            required="SERVER_PORT" not in os.environ)
    tournament.add_argument("--listen-fd", type=int, default=None,
                            help="serve on this inherited listening socket (the spawner bound it)")
    zygote = commands.add_parser("zygote", help="the preloaded parent that forks tournament servers")
    zygote.add_argument("--instance", required=True, help="the instance folder it serves")
    zygote.add_argument("--idle-exit", type=float, default=60.0, help="leave after this many seconds unasked")
    # Room for a forked server's longer command line, written over the zygote's own (zygote.py).
    zygote.add_argument("--title-room", default="")
    admin = commands.add_parser("create-admin", help="make an existing user a site admin")
    admin.add_argument("username")
    return parser.parse_args(argv)


def serve_tournament(args):
    # gevent first: everything imported after it gets cooperative sockets and locks.
    from gevent import monkey

    monkey.patch_all()
    from tournament_service.serve import serve

    serve(args.tournament_id, args.host, args.port, listen_fd=args.listen_fd)


def serve_zygote(args):
    # Detach for good: the launcher exits at once (so the orchestrator that started us reaps it),
    # and the zygote lives on as nobody's child, like the servers it forks.
    if os.fork():
        os._exit(0)
    # As a server starts: gevent first, and no multiprocess metrics (read at import), since the
    # children import nothing again.
    from gevent import monkey

    monkey.patch_all()
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    from tournament_service.zygote import main

    return main(args.instance, args.idle_exit)


def serve_orchestrator(args):
    # gunicorn's gevent worker patches too, but only after the app's imports (ssl, redis) happened.
    from gevent import monkey

    monkey.patch_all()
    from orchestrator.serve import serve

    serve(args.host, args.port, args.workers)


def create_admin(args):
    # A one-off process: its figures would linger in the running orchestrator's metrics directory.
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    from orchestrator import create_app
    from orchestrator.services.accounts import make_admin

    # Only the database is needed: no relay, no tournament servers.
    app = create_app({"START_SUPERVISOR": False, "START_RELAY": False})
    with app.app_context():
        try:
            make_admin(args.username)
        except LookupError as exc:
            print(f"create-admin: {exc}; register the account first", file=sys.stderr)
            return 1
    print(f"{args.username} is now a site admin")
    return 0


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "tournament":
        serve_tournament(args)
    elif args.command == "zygote":
        sys.exit(serve_zygote(args))
    elif args.command == "create-admin":
        sys.exit(create_admin(args))
    else:
        serve_orchestrator(args)


if __name__ == "__main__":
    main()
