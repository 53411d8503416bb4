"""The admin's beat rows drive ``make run`` (the embedded worker and beat, no Redis), end to end: an analyst
re-times a collector's row in the Django admin in a real browser, and the running main job follows it
within one beat interval; disabling the row stops the collector within one beat interval."""

import itertools
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.processes import MainJob, embedded_main_job

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]  # see test_pages.py

ROW = "ethereum: collect whale activity from new blocks"
BEAT_INTERVAL_S = 5  # CELERY_BEAT_MAX_LOOP_INTERVAL: how long beat may take to see a changed row


@pytest.fixture
def main_job(tmp_path):
    with embedded_main_job(tmp_path) as job:
        yield job


def ethereum_runs(job: MainJob, since: datetime, until: datetime | None = None) -> list[datetime]:
    """Start times of the ethereum collector's runs in (since, until], from the running job's own API."""
    runs = job.get("/api/v1/collectors/ethereum")["runs"]
    times = [datetime.fromisoformat(run["started_at"].replace("Z", "+00:00")) for run in runs]
    return sorted(t for t in times if t > since and (until is None or t <= until))


def save_row(page, base: str, **changes) -> datetime:
    """Open ``ROW``'s change form from the admin's list, apply ``changes`` like a person would, save;
    return when it was saved."""
    page.goto(f"{base}/admin/django_celery_beat/periodictask/?q=ethereum")
    page.click(f"text={ROW}")
    if "interval" in changes:
        page.select_option("#id_interval", label=changes["interval"])
    if "enabled" in changes:
        page.set_checked("#id_enabled", changes["enabled"])
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    return datetime.now(tz=UTC)


def test_retiming_and_disabling_a_row_in_the_admin_changes_what_make_run_does(main_job, browser):
    base = main_job.url
    page = browser.new_page()
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "pw-admin-embedded")
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")

    # The shipped row: every 15 s. Add "every 2 seconds" and put the row on it, as an analyst would.
    page.goto(f"{base}/admin/django_celery_beat/intervalschedule/add/")
    page.fill("#id_every", "2")
    page.select_option("#id_period", "seconds")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    retimed = save_row(page, base, interval="every 2 seconds")

    time.sleep(BEAT_INTERVAL_S + 1 + 8)
    fast = ethereum_runs(main_job, retimed + timedelta(seconds=BEAT_INTERVAL_S + 1),
                         retimed + timedelta(seconds=BEAT_INTERVAL_S + 1 + 8))
    assert len(fast) >= 3, f"runs every 2 s expected after re-timing, saw {fast}"  # every 15 s: at most 1
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(fast)]
    assert max(gaps) < 4, gaps

    disabled = save_row(page, base, enabled=False)
    time.sleep(BEAT_INTERVAL_S + 1 + 8)
    after = ethereum_runs(main_job, disabled + timedelta(seconds=BEAT_INTERVAL_S + 1))
    assert after == [], f"no run expected more than one beat interval after disabling, saw {after}"
    assert main_job.process.poll() is None
    page.screenshot(path=str(main_job.log.parent / "beat-row.png"))
