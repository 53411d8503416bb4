"""Model factories for the whale registry (tests/whales/...)."""

from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from whales.chains import Chain
from whales.models import (
    CollectorRun,
    Direction,
    Entity,
    EntityKind,
    KnownAddress,
    Label,
    Trade,
    TradeSource,
    Whale,
    WhaleLabel,
)


class EntityFactory(DjangoModelFactory):
    class Meta:
        model = Entity
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"entity-{n}")
    name = factory.Sequence(lambda n: f"Entity {n}")
    kind = EntityKind.EXCHANGE


class LabelFactory(DjangoModelFactory):
    class Meta:
        model = Label
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"label-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())


class WhaleFactory(DjangoModelFactory):
    class Meta:
        model = Whale

    chain = Chain.ETHEREUM
    address = factory.Sequence(lambda n: f"0x{n:040x}")
    name = factory.Sequence(lambda n: f"Whale {n}")


class WhaleLabelFactory(DjangoModelFactory):
    class Meta:
        model = WhaleLabel

    whale = factory.SubFactory(WhaleFactory)
    label = factory.SubFactory(LabelFactory)
    source = "analyst"
    evidence_url = "https://example.org/evidence"


class KnownAddressFactory(DjangoModelFactory):
    class Meta:
        model = KnownAddress

    chain = Chain.ETHEREUM
    address = factory.Sequence(lambda n: f"0x{n + 10**6:040x}")
    name = factory.Sequence(lambda n: f"Known {n}")
    source = "test"


class TradeFactory(DjangoModelFactory):
    class Meta:
        model = Trade

    whale = factory.SubFactory(WhaleFactory)
    chain = Chain.ETHEREUM
    block_time = factory.LazyFunction(timezone.now)
    block_number = factory.Sequence(lambda n: 19_000_000 + n)
    tx_hash = factory.Sequence(lambda n: f"0x{n:064x}")
    source = TradeSource.ONCHAIN
    direction = Direction.SEND
    base_asset = "ETH"
    amount_base = Decimal("1000")


class CollectorRunFactory(DjangoModelFactory):
    class Meta:
        model = CollectorRun

    collector = "ethereum.transfers"
