"""Model factories for the whale registry, shared by every tests/whales module."""

from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from whales.chains import Chain
from whales.models import (
    Entity,
    EntityKind,
    EventType,
    Holding,
    KnownAddress,
    Label,
    Trade,
    TradeSource,
    WalletMetrics,
    Whale,
    WhaleEvent,
    WhaleLabel,
)


class EntityFactory(DjangoModelFactory):
    class Meta:
        model = Entity
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"entity-{n}")
    name = factory.Sequence(lambda n: f"Entity {n}")
    kind = EntityKind.FUND


class LabelFactory(DjangoModelFactory):
    class Meta:
        model = Label
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"label-{n}")
    name = factory.Sequence(lambda n: f"Label {n}")


class WhaleFactory(DjangoModelFactory):
    class Meta:
        model = Whale

    chain = Chain.ETHEREUM
    address = factory.Sequence(lambda n: f"0x{n + 1:040x}")
    name = factory.Sequence(lambda n: f"Whale {n}")


class WhaleLabelFactory(DjangoModelFactory):
    class Meta:
        model = WhaleLabel

    whale = factory.SubFactory(WhaleFactory)
    label = factory.SubFactory(LabelFactory)
    source = "etherscan"


class KnownAddressFactory(DjangoModelFactory):
    class Meta:
        model = KnownAddress

    chain = Chain.ETHEREUM
    address = factory.Sequence(lambda n: f"0x{n + 10**6:040x}")
    name = factory.Sequence(lambda n: f"Known {n}")
    source = "test"


class WalletMetricsFactory(DjangoModelFactory):
    class Meta:
        model = WalletMetrics

    whale = factory.SubFactory(WhaleFactory)
    roi_percent = Decimal("12.5000")
    portfolio_value_usd = Decimal("1000000.00000000")
    volume_30d_usd = Decimal("500000.00000000")


class HoldingFactory(DjangoModelFactory):
    class Meta:
        model = Holding

    whale = factory.SubFactory(WhaleFactory)
    asset = factory.Sequence(lambda n: f"TOKEN{n}")
    amount = Decimal("1.5")


class TradeFactory(DjangoModelFactory):
    class Meta:
        model = Trade

    whale = factory.SubFactory(WhaleFactory)
    chain = factory.SelfAttribute("whale.chain")
    block_time = factory.LazyFunction(timezone.now)
    block_number = factory.Sequence(lambda n: 19_000_000 + n)
    tx_hash = factory.Sequence(lambda n: f"0x{n + 1:064x}")
    log_index = 0
    source = TradeSource.ONCHAIN
    platform = "uniswap_v3"
    direction = "buy"
    base_asset = "ETH"


class WhaleEventFactory(DjangoModelFactory):
    class Meta:
        model = WhaleEvent

    whale = factory.SubFactory(WhaleFactory)
    chain = Chain.ETHEREUM
    type = EventType.LARGE_TRANSFER
    block_time = factory.LazyFunction(timezone.now)
    block_number = factory.Sequence(lambda n: 19_000_000 + n)
    tx_hash = factory.Sequence(lambda n: f"0x{n + 1:064x}")
    summary = factory.Sequence(lambda n: f"event {n}")
