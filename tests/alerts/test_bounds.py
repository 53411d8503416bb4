"""Bounds on one user's alert work (issue 14, item 10): id lists in rules (capped, checked in one query),
rules per user, a simulation that streams its window, and min_value_usd digits over REST."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import alerts.selectors
from alerts.models import AlertRule
from tests.alerts import test_simulate
from tests.alerts.factories import AlertRuleFactory
from tests.api import assert_error
from tests.whales.factories import EntityFactory, LabelFactory, WhaleFactory

pytestmark = pytest.mark.django_db

RULES = "/api/v1/alerts/rules"


@pytest.fixture
def client(api_client, user):
    api_client.force_authenticate(user)
    return api_client


@pytest.mark.parametrize("field", ["whales", "labels", "entities"])
def test_an_id_list_over_the_cap_is_400_and_creates_nothing(client, settings, field):
    settings.LIMITS_MAX_IDS_PER_LIST = 3
    factory = {"whales": WhaleFactory, "labels": LabelFactory, "entities": EntityFactory}[field]
    ids = [factory().pk for _ in range(4)]  # all exist: only the count is wrong

    response = client.post(RULES, {"name": "many", field: ids}, format="json")

    detail = assert_error(response, 400, "invalid_parameter")
    assert detail == f"{field}: Ensure this field has no more than 3 elements."
    assert AlertRule.objects.count() == 0


def test_a_rule_with_many_ids_checks_them_in_one_query_per_list(client):
    whales, labels, entities = ([factory().pk for _ in range(20)]
                                for factory in (WhaleFactory, LabelFactory, EntityFactory))

    with CaptureQueriesContext(connection) as queries:
        response = client.post(RULES, {"name": "many", "whales": whales, "labels": labels, "entities": entities},
                               format="json")

    assert response.status_code == 201
    body = response.json()
    assert [sorted(body["whales"]), sorted(body["labels"]), sorted(body["entities"])] == [whales, labels, entities]
    lookups = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    for table in ("whales_whale", "whales_label", "whales_entity"):
        # one existence check per list while validating; the response re-reads the rule's lists by join
        assert sum(f'FROM "{table}" WHERE "{table}"."id" IN' in sql for sql in lookups) == 1, table
        assert sum(f'FROM "{table}" WHERE "{table}"."id" =' in sql for sql in lookups) == 0, table


def test_unknown_ids_are_named_in_the_400(client):
    whale = WhaleFactory()
    response = client.post(RULES, {"name": "x", "whales": [whale.pk, 987654321, whale.pk]}, format="json")
    assert assert_error(response, 400, "invalid_parameter") == "whales: Unknown ids: 987654321."
    assert AlertRule.objects.count() == 0


def test_a_rule_over_the_per_user_cap_is_400_and_not_created(client, user, django_user_model, settings):
    settings.LIMITS_MAX_RULES_PER_USER = 2
    AlertRuleFactory(owner=user, name="one")
    AlertRuleFactory(owner=user, name="two")
    AlertRuleFactory(owner=django_user_model.objects.create_user(username="other", password="pw-o-123456"))

    response = client.post(RULES, {"name": "three"}, format="json")

    assert assert_error(response, 400, "quota_exceeded") == (
        "alert rules: you have 2, the limit is 2; delete one to create another.")
    assert sorted(AlertRule.objects.filter(owner=user).values_list("name", flat=True)) == ["one", "two"]


@pytest.mark.parametrize("value", ["1e999999", "1e9999999", "1e-9999999", "1" * 2000])
def test_huge_min_value_usd_is_400_over_rest(client, value):
    detail = assert_error(client.post(RULES, {"name": "x", "min_value_usd": value}, format="json"),
                          400, "invalid_parameter")
    assert detail.startswith("min_value_usd: ")
    assert AlertRule.objects.count() == 0


def test_a_simulation_holds_one_batch_of_events_at_a_time(monkeypatch, settings):
    """The hand-worked cooldown case of test_simulate (10 candidate events, 9 in the window) with batches
    of 2: the same figures, and no step ever sees more than 2 events."""
    settings.LIMITS_SIMULATE_BATCH = 2
    seen: list[int] = []
    real = alerts.selectors.event_facts

    def spy(events):
        seen.append(len(events))
        return real(events)

    monkeypatch.setattr(alerts.selectors, "event_facts", spy)
    test_simulate.test_cooldown_digests_per_day_and_peak_hour()
    assert seen == [2, 2, 2, 2, 1]  # the 9 events of the window in order, two at a time
