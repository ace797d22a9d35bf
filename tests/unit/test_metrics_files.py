"""The gunicorn master's metrics directory (orchestrator/metrics_files.py), in a real process: it
must run before prometheus-client is imported, which this test process has long done."""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MASTER = """
import json, os, sys
from orchestrator import metrics_files
path = metrics_files.prepare()
print(json.dumps({"path": path, "env": os.environ.get("PROMETHEUS_MULTIPROC_DIR"),
                  "exists": os.path.isdir(path), "left": sorted(os.listdir(path))}))
metrics_files.remove()
"""


def run_master(env, code=MASTER, clear=False):
    """`code` in a fresh interpreter with `env` (added to ours, or alone with `clear`)."""
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env if clear else {**os.environ, **env},
                          capture_output=True, text=True, timeout=60)


def dead_pid():
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    return finished.pid


def test_a_run_gets_its_own_directory_and_a_killed_masters_is_removed():
    env = {key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
    left_behind = Path(tempfile.mkdtemp(prefix=f"orchestrator-metrics-{dead_pid()}-"))
    (left_behind / "counter_12.db").write_bytes(b"x")
    done = run_master(env, clear=True)
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    assert made["env"] == made["path"] and made["exists"] and made["left"] == []
    assert Path(made["path"]).name.startswith("orchestrator-metrics-")
    assert not Path(made["path"]).exists()  # removed on exit
    assert not left_behind.exists()


def test_an_operators_directory_is_emptied_of_old_figures_and_kept(tmp_path):
    (tmp_path / "counter_12.db").write_bytes(b"a previous run's")
    (tmp_path / "notes.txt").write_text("not ours")
    done = run_master({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["left"] == ["notes.txt"]
    assert tmp_path.is_dir()


def test_prometheus_client_imported_first_is_refused(tmp_path):
    done = run_master({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}, "import prometheus_client\n" + MASTER)
    assert done.returncode != 0 and "imported before the metrics directory was set" in done.stderr
