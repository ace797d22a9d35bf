"""The flask-sse baseline of bench/sse_fanout.py: flask-sse's own example app, nothing added.

    REDIS_URL=redis://... gunicorn -k gevent 'bench.flask_sse_app:app'   (viewers GET /stream?channel=...)
"""
import os

from flask import Flask
from flask_sse import sse

NOT_A_BENCHMARK = "the flask-sse app that bench/sse_fanout.py --baseline serves with gunicorn"

app = Flask(__name__)
app.config["REDIS_URL"] = os.environ["REDIS_URL"]
app.register_blueprint(sse, url_prefix="/stream")
