"""`python run.py orchestrator`: the same gunicorn + gevent setup as production, in one command."""
import logging
import os
import sys

from gunicorn.app.base import BaseApplication
from gunicorn.config import KNOWN_SETTINGS

from orchestrator import gunicorn_conf


class _Orchestrator(BaseApplication):
    def __init__(self, options):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from orchestrator import create_app

        return create_app()


def serve(host, port, workers):
    # Every setting and hook gunicorn_conf.py defines, as `gunicorn -c` would read them.
    known = {setting.name for setting in KNOWN_SETTINGS}
    options = {key: value for key, value in vars(gunicorn_conf).items() if key in known}
    options.update(bind=f"{host}:{port}", workers=workers or gunicorn_conf.workers)
    try:
        _Orchestrator(options).run()
    except SystemExit as stop:
        _exit_now(stop.code)
    _exit_now(0)


def _exit_now(code):
    """The master's last act, once gunicorn has stopped the workers and run on_exit: leave without
    the interpreter's teardown. run.py monkey-patched this process for gevent, and greenlet (3.5)
    refuses getcurrent() once finalization starts: every logging handler collected then printed a
    traceback from the patched logging lock. Nothing is left to tear down that matters."""
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)
