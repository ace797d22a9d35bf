"""`python run.py orchestrator`: the same gunicorn + gevent setup as production, in one command."""
from gunicorn.app.base import BaseApplication

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
    options = {key: getattr(gunicorn_conf, key) for key in
               ("worker_class", "worker_connections", "graceful_timeout", "timeout", "keepalive",
                "accesslog", "errorlog", "on_exit", "post_fork", "post_worker_init")}
    options.update(bind=f"{host}:{port}", workers=workers or gunicorn_conf.workers)
    _Orchestrator(options).run()
