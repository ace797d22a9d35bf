"""The supervisor's health-check budget: a healthy server is asked every HEALTH_CHECK_INTERVAL,
stretched when the fleet is so large that more than HEALTH_CHECKS_PER_SECOND checks a second
would be asked."""
from orchestrator.supervisor import Supervisor


def _interval(app, healthy, **settings):
    app.config.update(settings)
    return Supervisor(app, spawner=None).health_check_interval(healthy)


def test_a_small_fleet_is_asked_every_interval(app):
    assert _interval(app, 1, HEALTH_CHECK_INTERVAL=5, HEALTH_CHECKS_PER_SECOND=20) == 5
    assert _interval(app, 100, HEALTH_CHECK_INTERVAL=5, HEALTH_CHECKS_PER_SECOND=20) == 5


def test_a_large_fleet_stretches_the_interval_to_the_budget(app):
    assert _interval(app, 200, HEALTH_CHECK_INTERVAL=5, HEALTH_CHECKS_PER_SECOND=20) == 10
    assert _interval(app, 1000, HEALTH_CHECK_INTERVAL=5, HEALTH_CHECKS_PER_SECOND=20) == 50


def test_no_budget_means_no_stretch(app):
    assert _interval(app, 10000, HEALTH_CHECK_INTERVAL=5, HEALTH_CHECKS_PER_SECOND=0) == 5
