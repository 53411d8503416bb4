"""Model factories for the whale registry, shared by every tests/whales module."""

from datetime import UTC, datetime, timedelta
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
    LabelConfidence,
    Trade,
    TradeSource,
    WalletMetrics,
    Whale,
    WhaleEvent,
    WhaleLabel,
    WhaleType,
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


SCENE_ADDRESS = "0xabcdef0123456789abcdef0123456789abcdef01"
SCENE_PERP_ADDRESS = "0x5e9ee1089755c3435139848e47e6635505d5a13a"
SCENE_T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def whale_scene() -> Whale:
    """The pages' test scene: an Ethereum whale (``SCENE_ADDRESS``, "Jump 1") with entity, two label rows
    (one label from two sources), metrics, a spot holding and 30 trades up to ``SCENE_T0``, and a
    Hyperliquid whale (``SCENE_PERP_ADDRESS``) with a short perp position. Returns the Ethereum whale."""
    entity = EntityFactory(slug="jump-trading", name="Jump Trading", kind=EntityKind.MARKET_MAKER)
    whale = WhaleFactory(address=SCENE_ADDRESS, name="Jump 1", entity=entity, type=WhaleType.TRADER,
                         last_active_at=timezone.now() - timedelta(hours=1))
    label = LabelFactory(slug="market-maker", name="Market maker")
    WhaleLabelFactory(whale=whale, label=label, source="etherscan", confidence=LabelConfidence.HIGH,
                      evidence_url="https://etherscan.io/accounts/label/jump-trading")
    WhaleLabelFactory(whale=whale, label=label, source="graphsense", confidence=LabelConfidence.MEDIUM)
    WalletMetricsFactory(whale=whale, roi_percent=Decimal("12.3456"), portfolio_value_usd=Decimal("9876543.21"),
                         realized_pnl_usd=Decimal("-1500.5"), win_rate_percent=Decimal("61.5"))
    HoldingFactory(whale=whale, asset="WETH", amount=Decimal("1234.5"), value_usd=Decimal("4321000.75"),
                   portfolio_percent=Decimal("43.75"))
    for i in range(30):
        TradeFactory(whale=whale, block_time=SCENE_T0 - timedelta(minutes=i), value_usd=Decimal("1000.5") + i,
                     amount_base=Decimal("2.5"), base_asset="ETH", quote_asset="USDC", direction="buy")
    perp_whale = WhaleFactory(chain=Chain.HYPERLIQUID, address=SCENE_PERP_ADDRESS, name="HL whale")
    HoldingFactory(whale=perp_whale, asset="BTC", amount=Decimal("-12.5"), value_usd=Decimal("1250000"),
                   is_perp=True, entry_price_usd=Decimal("101000.5"), unrealized_pnl_usd=Decimal("-3250.25"),
                   return_on_equity=Decimal("-0.0104"), leverage_type="cross", leverage=Decimal("20"),
                   liquidation_price_usd=Decimal("110500"), liquidation_distance_percent=Decimal("10.5"),
                   margin_used_usd=Decimal("62500"))
    return whale
