"""The alerts page's destinations section in Debian's Chromium: add an Apprise destination, send a test message to a
real receiver on loopback (a failure first, then a success), choose it for a rule, pause and delete it."""

import pytest
from cryptography.fernet import Fernet

from tests.alerts.receivers import ServiceReceiver
from tests.browser.helpers import sign_in

# serialized_rollback, as every transactional test: a plain flush re-creates the content types, and the next
# serialized test then fails to restore its own over them.
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
PASSWORD = "pw-destinations-1"


@pytest.fixture
def destination_env(monkeypatch):
    """The daphne process's settings (read from its environment): a key, and loopback allowed (the receiver)."""
    monkeypatch.setenv("ALERT_DESTINATION_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("ALERTS_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8")


@pytest.fixture
def page_receiver():
    server = ServiceReceiver([500, 200])
    yield server
    server.close()


def create_user(user_model) -> None:
    user_model.objects.create_user(username="notified", password=PASSWORD)


def destination_rows() -> list[tuple]:
    from alerts.models import AlertDestination

    return list(AlertDestination.objects.values_list("name", "service", "hint", "status", "verified_at"))


def rule_destination_names() -> list[list[str]]:
    from alerts.models import AlertRule

    return [list(rule.destinations.values_list("name", flat=True)) for rule in AlertRule.objects.order_by("pk")]


def test_destinations_are_added_tested_chosen_for_a_rule_paused_and_deleted(
    destination_env, page_receiver, daphne_server, browser, run, django_user_model,
):
    base = daphne_server
    run(create_user, django_user_model)
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept())
    url = f"json://{page_receiver.host}/whale-hook"

    sign_in(page, base, "/alerts/", "notified", PASSWORD)
    page.wait_for_selector("#destination-rows tr.placeholder >> text=No destinations yet")

    page.fill("#destination-form input[name=name]", "Ops JSON")
    page.fill("#destination-form input[name=url]", url)
    page.click("#destination-save")
    row = page.locator("#destination-rows tr[data-destination-id]")
    row.wait_for()
    assert [row.locator(f"td.destination-{cell}").inner_text() for cell in ("name", "service", "hint", "verified")] \
        == ["Ops JSON", "json", f"json://…{url[-4:]}", "not yet"]
    assert url not in page.content()  # never shown back
    assert [r[:4] for r in run(destination_rows)] == [("Ops JSON", "json", "json://…hook", "active")]

    # The receiver answers 500 first: the page says why; then the test goes through and the row shows it verified.
    page.click("#destination-rows .destination-test")
    page.wait_for_selector("#destinations-error:not([hidden])")
    assert page.inner_text("#destinations-error") == (
        'Test of "Ops JSON" failed: The test message was not delivered: '
        "json: the service did not accept the message or could not be reached")
    page.click("#destination-rows .destination-test")
    page.wait_for_function(
        "() => document.querySelector('#destination-rows td.destination-verified').textContent !== 'not yet'")
    assert [r.json["title"] for r in page_receiver.requests] == ["WhaleTrack test message"] * 2
    assert run(destination_rows)[0][4] is not None

    # Choose it for a new rule.
    page.fill("#rule-form input[name=name]", "Everything to ops")
    page.select_option("#rule-form select[name=destinations]", label="Ops JSON (json)")
    page.click("#rule-save")
    page.wait_for_selector("#rule-rows tr[data-rule-id] >> text=Ops JSON")
    assert run(rule_destination_names) == [["Ops JSON"]]

    # Pause, then delete (the rule stops naming it).
    page.click("#destination-rows .destination-toggle")
    page.wait_for_selector("#destination-rows tr[data-status=paused]")
    assert run(destination_rows)[0][3] == "paused"
    page.click("#destination-rows .destination-delete")
    page.wait_for_selector("#destination-rows tr.placeholder")
    assert run(destination_rows) == []
    assert run(rule_destination_names) == [[]]
    assert errors == []
