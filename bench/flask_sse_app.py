"""The flask-sse baseline the SSE benchmarks compare against: the library's own five-line app,
served by gunicorn with the orchestrator's gevent settings (one worker, 20,000 connections).

    REDIS_URL=redis://... gunicorn -k gevent -w 1 --worker-connections 20000 bench.flask_sse_app:app

Viewers read `GET /stream?channel=<name>`; the bench publishes with `sse.publish` in an app context
of this same app. flask-sse holds one Redis subscription per viewer.
"""
import os

from flask import Flask
from flask_sse import sse

NOT_A_BENCHMARK = "the flask-sse app the SSE benchmarks start as their baseline"

app = Flask(__name__)
app.config["REDIS_URL"] = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
app.register_blueprint(sse, url_prefix="/stream")
