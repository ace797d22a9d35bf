"""When the kubernetes spawner leaves a dead server to the kubelet (is_restarting) and when the
supervisor takes over, read from a pod's container status as a 1.20 kubelet reports it.

The end-to-end counterpart (tests/e2e/test_kubernetes_spawner.py) kills real containers, but
whether a supervisor round lands while the last allowed restart boots depends on timing; this
pins each state down.
"""
import datetime

import pytest
from kubernetes import client as k8s

from orchestrator.spawners.kubernetes import _kubelet_brings_back

AT = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
RUNNING = k8s.V1ContainerState(running=k8s.V1ContainerStateRunning(started_at=AT))
TERMINATED = k8s.V1ContainerState(terminated=k8s.V1ContainerStateTerminated(exit_code=137, reason="Error",
                                                                            finished_at=AT))
# A container created and not yet started: a 1.20 kubelet reports it as terminated, never finished.
CREATED = k8s.V1ContainerState(terminated=k8s.V1ContainerStateTerminated(exit_code=0))
BACKING_OFF = k8s.V1ContainerState(waiting=k8s.V1ContainerStateWaiting(reason="CrashLoopBackOff"))


def status(restart_count, state, started):
    return k8s.V1ContainerStatus(name="server", image="tournament", image_id="", ready=started,
                                 restart_count=restart_count, state=state, started=started)


@pytest.mark.parametrize("restart_count, state, started, kubelet_brings_back", [
    (0, RUNNING, True, True),  # just killed: the kubelet has not noticed yet
    (1, TERMINATED, False, True),  # died, restarts left
    (2, BACKING_OFF, False, True),
    (3, CREATED, False, True),  # the last allowed restart, its container made but not started
    (3, RUNNING, False, True),  # the last allowed restart, booting (the count includes it)
    (3, RUNNING, True, False),  # the last restart booted, then died or hung: the supervisor's turn
    (3, TERMINATED, False, False),  # died after the last restart
    (3, BACKING_OFF, False, False),
    (4, RUNNING, False, False),  # more restarts than allowed (the attempts were lowered)
    (4, CREATED, False, False),
])
def test_the_kubelet_gets_exactly_the_restart_attempts(restart_count, state, started, kubelet_brings_back):
    assert _kubelet_brings_back(status(restart_count, state, started), attempts=3) is kubelet_brings_back
