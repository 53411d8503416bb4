"""Factories and helpers shared by the tests/alerts service and API modules.

Fixtures here are imported by the test modules that use them (``from tests.alerts.factories import
memory_layer``), since the package has no conftest of its own.
"""

from decimal import Decimal

import factory
import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from factory.django import DjangoModelFactory

from alerts.models import Alert, AlertKind, AlertRule, AlertStatus
from tests.whales.factories import WhaleEventFactory


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-user-1")


class AlertRuleFactory(DjangoModelFactory):
    class Meta:
        model = AlertRule
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"rule {n}")
    active = True
    chains = factory.LazyFunction(list)
    event_types = factory.LazyFunction(list)
    cooldown_seconds = 0
    channels = factory.LazyFunction(lambda: ["websocket"])

    @factory.post_generation
    def whales(self, create, extracted, **kwargs):
        if create and extracted:
            self.whales.set(extracted)

    @factory.post_generation
    def labels(self, create, extracted, **kwargs):
        if create and extracted:
            self.labels.set(extracted)

    @factory.post_generation
    def entities(self, create, extracted, **kwargs):
        if create and extracted:
            self.entities.set(extracted)


class AlertFactory(DjangoModelFactory):
    class Meta:
        model = Alert

    rule = factory.SubFactory(AlertRuleFactory)
    owner = factory.SelfAttribute("rule.owner")
    event = factory.SubFactory(WhaleEventFactory, value_usd=Decimal("1000000"))
    kind = AlertKind.EVENT
    events = factory.LazyAttribute(lambda o: [o.event.pk] if o.event else [])
    summary = factory.LazyAttribute(lambda o: o.event.summary if o.event else "digest")
    status = AlertStatus.PENDING


@pytest.fixture
def memory_layer(settings):
    """The in-memory channel layer for this test (the suite's default is Redis when REDIS_URL is set)."""
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}
    }
    return get_channel_layer()


def listen(layer, *groups: str, channel: str = "test.listener") -> str:
    """Add ``channel`` to ``groups`` on ``layer``; return the channel name."""
    for group in groups:
        async_to_sync(layer.group_add)(group, channel)
    return channel


def received(layer, channel: str) -> list[dict]:
    """Every message waiting on ``channel`` of the in-memory ``layer``, read with ``layer.receive``
    (only while one is queued, so it never blocks)."""
    messages = []
    while channel in layer.channels and not layer.channels[channel].empty():
        messages.append(async_to_sync(layer.receive)(channel))
    return messages
