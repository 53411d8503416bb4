"""Celery wrappers of the alerts services (all logic is in alerts.services and alerts.webhooks)."""

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from alerts.destinations import delivery_send, destinations_redeliver_pending
from alerts.services import alerts_deliver_pending, digests_flush, events_publish_pending, events_send
from alerts.webhooks import webhook_deliver, webhooks_redeliver_pending


@shared_task(
    name="alerts.publish_pending",  # permanent: PeriodicTask rows store this string
    soft_time_limit=25, time_limit=30, acks_late=True, reject_on_worker_lost=True, ignore_result=True,
)
def publish_pending() -> None:
    """Beat, every 30 s (migration 0002): events committed but never published, then alerts left
    ``pending``, both older than ALERTS_PUBLISH_SWEEP_AFTER_S. Safe to run twice at once (claims)."""
    events_publish_pending(older_than_s=settings.ALERTS_PUBLISH_SWEEP_AFTER_S)
    alerts_deliver_pending(older_than_s=settings.ALERTS_PUBLISH_SWEEP_AFTER_S)


@shared_task(
    name="alerts.publish_events",  # permanent: services enqueue it by name (whales.jobs.task_enqueue_on_commit)
    soft_time_limit=25, time_limit=30, acks_late=True, reject_on_worker_lost=True, ignore_result=True,
)
def publish_events(*, event_ids: list[int]) -> None:
    """Publish events another app stored (a high-impact catalyst: ``whales.context``) and could not publish
    itself: claimed and sent once (``events_send``); those already sent are skipped."""
    events_send(event_ids=[int(event_id) for event_id in event_ids][:10_000])


@shared_task(
    name="alerts.flush_digests",
    soft_time_limit=8, time_limit=10, acks_late=True, reject_on_worker_lost=True, ignore_result=True,
)
def flush_digests() -> None:
    """Beat, every 10 s (migration 0002): one digest per rule whose cooldown ended with alerts waiting."""
    digests_flush(now=timezone.now())


@shared_task(
    name="alerts.deliver_webhook",
    # No autoretry: webhook_deliver retries within the run (tenacity), recording each attempt on the
    # alert; 5 attempts x 5 s timeout + backoff stay well inside the limits.
    soft_time_limit=120, time_limit=150, acks_late=True, reject_on_worker_lost=True, ignore_result=True,
)
def deliver_webhook(alert_id: int) -> None:
    """Enqueued by ``alerts.services.webhook_dispatch`` after an alert with a webhook is delivered."""
    webhook_deliver(alert_id=alert_id)


@shared_task(
    name="alerts.redeliver_webhooks",
    soft_time_limit=50, time_limit=60, acks_late=True, reject_on_worker_lost=True, ignore_result=True,
)
def redeliver_webhooks() -> None:
    """Beat, every minute (migration 0004): webhook deliveries left pending for ALERTS_WEBHOOK_SWEEP_AFTER_S
    are queued again (``alerts.webhooks.webhooks_redeliver_pending``). Safe to overlap (claims)."""
    webhooks_redeliver_pending(older_than_s=settings.ALERTS_WEBHOOK_SWEEP_AFTER_S)


@shared_task(
    name="alerts.deliver_destination",
    # No autoretry: delivery_send retries within the run (tenacity), recording each attempt on the delivery;
    # 5 attempts x 10 s timeouts + backoff stay inside the limits.
    soft_time_limit=180, time_limit=210, acks_late=True, reject_on_worker_lost=True, ignore_result=True,
)
def deliver_destination(delivery_id: int) -> None:
    """Enqueued by ``alerts.destinations.alert_destinations_dispatch`` (and the sweep) for one AlertDelivery."""
    delivery_send(delivery_id=delivery_id)


@shared_task(
    name="alerts.redeliver_destinations",
    soft_time_limit=50, time_limit=60, acks_late=True, reject_on_worker_lost=True, ignore_result=True,
)
def redeliver_destinations() -> None:
    """Beat, every minute (migration 0007): deliveries left pending or sending for ALERTS_DESTINATION_SWEEP_AFTER_S
    are queued again (``alerts.destinations.destinations_redeliver_pending``). Safe to overlap (the task claims)."""
    destinations_redeliver_pending(older_than_s=settings.ALERTS_DESTINATION_SWEEP_AFTER_S)
