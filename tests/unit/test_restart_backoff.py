"""The supervisor's restart schedule: at once after a lone crash, then exponential, capped, jittered."""
import pytest

from orchestrator.services.fleet import restart_delay


def test_a_lone_crash_is_restarted_at_once():
    assert restart_delay(1, base=0.5, cap=30, rand=lambda: 1.0) == 0.0


@pytest.mark.parametrize("failures, ceiling", [(2, 0.5), (3, 1.0), (4, 2.0), (5, 4.0), (9, 30.0), (40, 30.0)])
def test_later_failures_double_up_to_the_cap(failures, ceiling):
    assert restart_delay(failures, base=0.5, cap=30, rand=lambda: 1.0) == ceiling
    # Jitter keeps each delay in the upper half of its ceiling, so restarts don't line up.
    assert restart_delay(failures, base=0.5, cap=30, rand=lambda: 0.0) == ceiling / 2
