"""Publishing (alerts.services): after commit only, exactly once, the sweep, alerts, cooldown and digests.

Transactional tests: publishing happens at a real COMMIT, and the concurrency tests run two threads
with their own PostgreSQL connections. The in-memory channel layer unless a test says Redis.
"""

import asyncio
import json
import threading
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connections, transaction
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from alerts import services, tasks
from alerts.groups import FEED_GROUP, chain_group, user_group, whale_group
from alerts.models import Alert, AlertKind, AlertRule, AlertStatus, WebhookStatus
from alerts.payloads import alert_payload, event_payload
from alerts.services import (
    alerts_create,
    alerts_deliver_pending,
    digests_flush,
    events_publish,
    events_publish_pending,
    events_send,
)
from tests.alerts.factories import AlertFactory, AlertRuleFactory, UserFactory, listen, memory_layer, received
from tests.requirements import require
from tests.whales.factories import WhaleEventFactory, WhaleFactory
from whales.chains import Chain
from whales.models import WhaleEvent

__all__ = ["memory_layer"]  # fixture imported from the factories module

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

MILLION = Decimal("1000000")


def without_published_at(payload: dict) -> dict:
    """An event payload minus ``published_at`` (the clock at send time)."""
    return {k: v for k, v in payload.items() if k != "published_at"}


def expected_event_payload(event_id: int) -> dict:
    event = WhaleEvent.objects.select_related("whale", "whale__entity").get(pk=event_id)
    return without_published_at(event_payload(event))


def publish(*event_ids: int) -> None:
    """What a collector does: publish inside its transaction."""
    with transaction.atomic():
        events_publish(event_ids=event_ids)


def run_together(target, args_list: list[tuple]) -> list:
    """Run ``target(*args)`` for each args in threads released at the same instant; return results."""
    barrier = threading.Barrier(len(args_list))
    results: list = [None] * len(args_list)
    errors: list[BaseException] = []

    def work(index: int, args: tuple) -> None:
        try:
            barrier.wait()
            results[index] = target(*args)
        except BaseException as exc:  # re-raised in the test thread below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i, a)) for i, a in enumerate(args_list)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    if errors:
        raise errors[0]
    return results


# --- feed: after commit, exactly once ------------------------------------------------------------


def test_nothing_is_sent_inside_the_transaction_and_everything_after_commit(memory_layer):
    whale = WhaleFactory(chain=Chain.ETHEREUM)
    feed = listen(memory_layer, FEED_GROUP, channel="test.feed")
    chain = listen(memory_layer, chain_group(Chain.ETHEREUM), channel="test.chain")
    whale_channel = listen(memory_layer, whale_group(whale.pk), channel="test.whale")
    with transaction.atomic():
        event = WhaleEventFactory(whale=whale, value_usd=MILLION)
        events_publish(event_ids=[event.pk])
        assert [received(memory_layer, c) for c in (feed, chain, whale_channel)] == [[], [], []]
        assert WhaleEvent.objects.get(pk=event.pk).published_at is None
    expected = expected_event_payload(event.pk)
    for channel in (feed, chain, whale_channel):
        messages = received(memory_layer, channel)
        assert [m["type"] for m in messages] == ["whale.event"]
        frame = json.loads(messages[0]["text"])  # the client frame, encoded once by the publisher
        assert frame["type"] == "event" and without_published_at(frame["event"]) == expected
        assert frame["event"]["published_at"].endswith("Z")
        # ...and the fields consumers filter on, as a small dict
        assert messages[0]["event"] == {"id": event.pk, "chain": expected["chain"], "type": expected["type"],
                                        "value_usd": expected["value_usd"],
                                        "whale": {"chain": whale.chain, "address": whale.address}}
    assert WhaleEvent.objects.get(pk=event.pk).published_at is not None


def test_a_rolled_back_transaction_sends_nothing(memory_layer):
    feed = listen(memory_layer, FEED_GROUP)
    committed = WhaleEventFactory(value_usd=MILLION)
    AlertRuleFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        rolled_back = WhaleEventFactory(value_usd=MILLION)
        events_publish(event_ids=[committed.pk, rolled_back.pk])
        raise RuntimeError("collector failed")
    assert received(memory_layer, feed) == []
    assert list(WhaleEvent.objects.values_list("pk", "published_at")) == [(committed.pk, None)]
    assert Alert.objects.count() == 0


def test_an_event_without_whale_goes_to_the_feed_and_its_chain_only(memory_layer):
    event = WhaleEventFactory(whale=None, chain=Chain.BITCOIN, type="reorg_retraction")
    feed = listen(memory_layer, FEED_GROUP, chain_group(Chain.BITCOIN), channel="test.both")
    other_chain = listen(memory_layer, chain_group(Chain.ETHEREUM), channel="test.other")
    publish(event.pk)
    assert [m["event"]["id"] for m in received(memory_layer, feed)] == [event.pk, event.pk]
    assert received(memory_layer, other_chain) == []


def test_a_batch_is_sent_in_block_time_order():
    layer_settings = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 100}}}
    from django.test import override_settings

    with override_settings(CHANNEL_LAYERS=layer_settings):
        layer = get_channel_layer()
        feed = listen(layer, FEED_GROUP)
        now = timezone.now()
        late = WhaleEventFactory(block_time=now)
        early = WhaleEventFactory(block_time=now - timedelta(minutes=5))
        publish(late.pk, early.pk)
        assert [m["event"]["id"] for m in received(layer, feed)] == [early.pk, late.pk]


def test_publishing_again_sends_nothing(memory_layer):
    feed = listen(memory_layer, FEED_GROUP)
    event = WhaleEventFactory()
    publish(event.pk)
    publish(event.pk)
    assert events_send(event_ids=[event.pk]) == []
    assert len(received(memory_layer, feed)) == 1


@pytest.fixture
def redis_layer(settings):
    """A channels-redis layer on the test Redis, with a prefix of its own (flushed afterwards)."""
    require(bool(settings.REDIS_URL), "needs REDIS_URL")
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [settings.REDIS_URL], "prefix": f"test-alerts-{uuid.uuid4().hex[:8]}"},
    }}
    layer = get_channel_layer()
    yield layer
    async_to_sync(layer.flush)()


def redis_received(layer, channel: str, *, wait_s: float = 0.5) -> list[dict]:
    """Messages on ``channel`` until none arrives for ``wait_s`` seconds (``layer.receive``)."""
    async def collect() -> list[dict]:
        messages = []
        while True:
            try:
                messages.append(await asyncio.wait_for(layer.receive(channel), wait_s))
            except TimeoutError:
                return messages

    return async_to_sync(collect)()


def test_a_concurrent_double_publish_sends_and_alerts_once_over_redis(redis_layer):
    owner = UserFactory()
    rule = AlertRuleFactory(owner=owner)
    events = [WhaleEventFactory(value_usd=MILLION) for _ in range(3)]
    ids = [e.pk for e in events]
    listen(redis_layer, FEED_GROUP, channel="test.feed")
    listen(redis_layer, user_group(owner.pk), channel="test.user")
    claimed = run_together(lambda: events_send(event_ids=ids), [(), ()])
    assert sorted(claimed[0] + claimed[1]) == ids  # every id claimed by exactly one thread
    assert sorted(m["event"]["id"] for m in redis_received(redis_layer, "test.feed")) == ids
    assert sorted(m["alert"]["events"][0] for m in redis_received(redis_layer, "test.user")) == ids
    assert sorted(Alert.objects.filter(rule=rule).values_list("event_id", flat=True)) == ids


@pytest.mark.parametrize("cooldown", [0, 3600])
def test_concurrent_alert_creation_bypassing_the_claim_creates_one_alert(memory_layer, cooldown):
    rule = AlertRuleFactory(cooldown_seconds=cooldown)
    user_channel = listen(memory_layer, user_group(rule.owner_id))
    event_ids = [WhaleEventFactory(value_usd=MILLION).pk for _ in range(5)]

    def create(event_id: int) -> int:
        return len(alerts_create(events=[WhaleEvent.objects.select_related("whale").get(pk=event_id)]))

    for event_id in event_ids:
        assert sorted(run_together(create, [(event_id,), (event_id,)])) == [0, 1]
    assert Alert.objects.filter(rule=rule).count() == 5
    assert len(received(memory_layer, user_channel)) == (5 if cooldown == 0 else 1)


# --- the sweep -----------------------------------------------------------------------------------


def test_the_sweep_publishes_a_committed_unpublished_event_exactly_once(memory_layer):
    rule = AlertRuleFactory()
    feed = listen(memory_layer, FEED_GROUP)
    old = timezone.now() - timedelta(seconds=120)
    stranded = WhaleEventFactory(observed_at=old, value_usd=MILLION)  # committed; its process died before sending
    fresh = WhaleEventFactory(value_usd=MILLION)  # its publisher may still be about to send it
    published = WhaleEventFactory(observed_at=old, published_at=old)
    assert events_publish_pending(older_than_s=30) == 1
    assert events_publish_pending(older_than_s=30) == 0
    publish(stranded.pk)  # the original publisher coming back late sends nothing either
    assert [m["event"]["id"] for m in received(memory_layer, feed)] == [stranded.pk]
    assert list(Alert.objects.filter(rule=rule).values_list("event_id", flat=True)) == [stranded.pk]
    assert WhaleEvent.objects.get(pk=fresh.pk).published_at is None
    assert WhaleEvent.objects.get(pk=published.pk).published_at == old


def test_the_pending_alert_sweep_delivers_once(memory_layer):
    alert = AlertFactory(status=AlertStatus.PENDING)
    Alert.objects.filter(pk=alert.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    recent = AlertFactory(status=AlertStatus.PENDING)
    channel = listen(memory_layer, user_group(alert.owner_id), channel="test.old")
    assert alerts_deliver_pending(older_than_s=30) == 1
    assert alerts_deliver_pending(older_than_s=30) == 0
    assert [m["alert"]["id"] for m in received(memory_layer, channel)] == [alert.pk]
    assert Alert.objects.get(pk=recent.pk).status == AlertStatus.PENDING


# --- alerts and delivery -------------------------------------------------------------------------


def test_a_matching_event_alerts_its_owner_only(memory_layer):
    owner, other = UserFactory(), UserFactory()
    rule = AlertRuleFactory(owner=owner, name="big moves")
    AlertRuleFactory(owner=other, chains=["bitcoin"])
    mine = listen(memory_layer, user_group(owner.pk), channel="test.mine")
    theirs = listen(memory_layer, user_group(other.pk), channel="test.theirs")
    event = WhaleEventFactory(chain=Chain.ETHEREUM, value_usd=MILLION)
    publish(event.pk)
    alert = Alert.objects.get()
    messages = received(memory_layer, mine)
    assert [m["type"] for m in messages] == ["alert.message"]
    payload = messages[0]["alert"]
    assert {**payload, "event": without_published_at(payload["event"])} == {
        "id": alert.pk, "rule": {"id": rule.pk, "name": "big moves"}, "kind": "event",
        "event": expected_event_payload(event.pk), "events": [event.pk], "count": 1,
        "created_at": alert.created_at.isoformat().replace("+00:00", "Z"), "summary": event.summary,
    }
    assert received(memory_layer, theirs) == []
    assert (alert.owner_id, alert.status, alert.webhook_status) == (owner.pk, AlertStatus.DELIVERED, WebhookStatus.NONE)
    assert alert.delivered_at is not None


def test_alert_payload_is_json_safe():
    import json

    alert = AlertFactory()
    payload = alert_payload(Alert.objects.select_related("rule", "event__whale__entity").get(pk=alert.pk))
    assert json.loads(json.dumps(payload)) == payload
    assert payload["event"]["value_usd"] == "1000000.00000000"


def test_a_rule_without_the_websocket_channel_sends_nothing_to_the_user(memory_layer, monkeypatch):
    dispatched = []
    monkeypatch.setattr(services, "webhook_dispatch", lambda *, alert_id: dispatched.append(alert_id))
    rule = AlertRuleFactory(channels=["webhook"], webhook_url="https://example.test/hook", webhook_secret="s" * 32)
    channel = listen(memory_layer, user_group(rule.owner_id))
    publish(WhaleEventFactory(value_usd=MILLION).pk)
    alert = Alert.objects.get()
    assert received(memory_layer, channel) == []
    assert dispatched == [alert.pk]
    assert (alert.status, alert.webhook_status) == (AlertStatus.DELIVERED, WebhookStatus.PENDING)


def test_a_channel_layer_failure_marks_the_alert_failed(memory_layer, monkeypatch):
    AlertRuleFactory()

    async def broken(group, message):
        raise OSError("redis is down")

    monkeypatch.setattr(memory_layer, "group_send", broken)
    event = WhaleEventFactory(value_usd=MILLION)
    publish(event.pk)  # the feed failure is logged, never raised into the collector
    assert Alert.objects.get().status == AlertStatus.FAILED
    # Not sent, so un-claimed: the sweep (events_publish_pending) sends it once the layer is back.
    assert WhaleEvent.objects.get(pk=event.pk).published_at is None


def test_webhook_dispatch_enqueues_the_delivery_task_once_the_transaction_commits(broker_queue):
    alert = AlertFactory(webhook_status="pending")
    with transaction.atomic():
        services.webhook_dispatch(alert_id=alert.pk)
        assert broker_queue() == []  # nothing before the commit
    assert broker_queue() == ["alerts.deliver_webhook"]
    alert.refresh_from_db()
    assert alert.webhook_updated_at is not None  # the pending-webhook sweep leaves it alone while fresh


# --- cooldown and digests ------------------------------------------------------------------------


def statuses(rule: AlertRule) -> list[str]:
    return list(Alert.objects.filter(rule=rule, kind=AlertKind.EVENT).order_by("pk").values_list("status", flat=True))


def test_cooldown_suppresses_then_one_digest_covers_every_suppressed_alert(memory_layer):
    rule = AlertRuleFactory(cooldown_seconds=60)
    channel = listen(memory_layer, user_group(rule.owner_id))
    events = [WhaleEventFactory(value_usd=MILLION) for _ in range(3)]
    for event in events:
        publish(event.pk)
    assert statuses(rule) == ["delivered", "suppressed", "suppressed"]
    assert [m["alert"]["kind"] for m in received(memory_layer, channel)] == ["event"]

    assert digests_flush(now=timezone.now()) == []  # still inside the cooldown
    after = timezone.now() + timedelta(seconds=61)
    digests = digests_flush(now=after)
    assert len(digests) == 1
    digest = Alert.objects.get(kind=AlertKind.DIGEST)
    assert (digest.event_id, digest.events, digest.status) == (None, [events[1].pk, events[2].pk], "delivered")
    assert statuses(rule) == ["delivered", "digested", "digested"]
    assert list(Alert.objects.filter(status=AlertStatus.DIGESTED).values_list("digest_id", flat=True)) == [
        digest.pk, digest.pk]
    messages = received(memory_layer, channel)
    assert [(m["alert"]["kind"], m["alert"]["count"], m["alert"]["events"], m["alert"]["event"])
            for m in messages] == [("digest", 2, [events[1].pk, events[2].pk], None)]
    assert digests_flush(now=after) == []  # once
    # Every event is in exactly one alert that went out: none dropped, none twice.
    sent = Alert.objects.filter(status=AlertStatus.DELIVERED).values_list("events", flat=True)
    assert sorted(i for ids in sent for i in ids) == sorted(e.pk for e in events)


def test_the_digest_restarts_the_cooldown(memory_layer):
    rule = AlertRuleFactory(cooldown_seconds=60)
    publish(WhaleEventFactory().pk)
    publish(WhaleEventFactory().pk)
    digests_flush(now=timezone.now() + timedelta(seconds=61))
    AlertRule.objects.filter(pk=rule.pk).update(last_alert_at=timezone.now())  # the digest just went out
    publish(WhaleEventFactory().pk)
    assert statuses(rule) == ["delivered", "digested", "suppressed"]


def test_a_match_after_the_cooldown_with_alerts_waiting_sends_the_digest_first(memory_layer):
    rule = AlertRuleFactory(cooldown_seconds=60)
    channel = listen(memory_layer, user_group(rule.owner_id))
    first, second, third = (WhaleEventFactory() for _ in range(3))
    publish(first.pk)
    publish(second.pk)
    AlertRule.objects.filter(pk=rule.pk).update(last_alert_at=timezone.now() - timedelta(seconds=90))
    publish(third.pk)  # the flush has not run yet: the waiting alert goes out first, as a digest
    messages = [(m["alert"]["kind"], m["alert"]["events"]) for m in received(memory_layer, channel)]
    assert messages == [("event", [first.pk]), ("digest", [second.pk])]
    assert statuses(rule) == ["delivered", "digested", "suppressed"]


def test_cooldown_zero_sends_every_match(memory_layer):
    rule = AlertRuleFactory(cooldown_seconds=0)
    channel = listen(memory_layer, user_group(rule.owner_id))
    ids = [WhaleEventFactory().pk for _ in range(3)]
    publish(*ids)
    assert statuses(rule) == ["delivered"] * 3
    assert [m["alert"]["events"] for m in received(memory_layer, channel)] == [[i] for i in ids]


def test_a_batch_inside_one_publish_applies_the_cooldown_in_event_order(memory_layer):
    rule = AlertRuleFactory(cooldown_seconds=300)
    now = timezone.now()
    late, early = WhaleEventFactory(block_time=now), WhaleEventFactory(block_time=now - timedelta(minutes=1))
    publish(late.pk, early.pk)
    assert dict(Alert.objects.filter(rule=rule).values_list("event_id", "status")) == {
        early.pk: "delivered", late.pk: "suppressed"}


# --- tasks and schedules -------------------------------------------------------------------------


@pytest.mark.django_db
def test_beat_rows_schedule_the_sweeps_and_the_flush():
    rows = {t.task: (t.interval.every, t.interval.period, t.enabled)
            for t in PeriodicTask.objects.filter(task__startswith="alerts.").select_related("interval")}
    assert rows == {"alerts.publish_pending": (30, "seconds", True), "alerts.flush_digests": (10, "seconds", True),
                    "alerts.redeliver_webhooks": (1, "minutes", True),
                    "alerts.redeliver_destinations": (1, "minutes", True)}


@pytest.mark.django_db
def test_tasks_call_their_services(monkeypatch, settings):
    calls = []
    monkeypatch.setattr(tasks, "events_publish_pending", lambda **kw: calls.append(("events", kw)))
    monkeypatch.setattr(tasks, "alerts_deliver_pending", lambda **kw: calls.append(("alerts", kw)))
    monkeypatch.setattr(tasks, "digests_flush", lambda **kw: calls.append(("flush", sorted(kw))))
    monkeypatch.setattr(tasks, "webhook_deliver", lambda **kw: calls.append(("webhook", kw)))
    settings.ALERTS_PUBLISH_SWEEP_AFTER_S = 30
    tasks.publish_pending()
    tasks.flush_digests()
    tasks.deliver_webhook(5)
    assert calls == [("events", {"older_than_s": 30}), ("alerts", {"older_than_s": 30}), ("flush", ["now"]),
                     ("webhook", {"alert_id": 5})]
    assert {t.name for t in (tasks.publish_pending, tasks.flush_digests, tasks.deliver_webhook)} == {
        "alerts.publish_pending", "alerts.flush_digests", "alerts.deliver_webhook"}
