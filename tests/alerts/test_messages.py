"""Alert messages for people (alerts.messages): exact titles and bodies per style, from the data each test creates."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from alerts.messages import alert_facts, alert_message, amount_text, message_render, probe_message, usd_text
from alerts.models import AlertKind, AlertStatus
from tests.alerts.factories import AlertFactory, AlertRuleFactory
from tests.whales.factories import EntityFactory, TradeFactory, WhaleEventFactory, WhaleFactory
from whales.context import CatalystItem, catalysts_upsert
from whales.models import EventType

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TX = "0x" + "ab" * 32


def scene(*, whale_name: str = "Jump 1", catalyst: bool = True):
    """A rule "ETH moves", an Ethereum whale of Jump Trading sending 1,250.5 ETH ($4,375,000) at T0, its alert,
    and (``catalyst``) an SEC filing on ETH 2 hours before it."""
    entity = EntityFactory(slug="jump-trading", name="Jump Trading")
    whale = WhaleFactory(name=whale_name, entity=entity)
    TradeFactory(whale=whale, tx_hash=TX, log_index=-1, block_time=T0, direction="send", base_asset="ETH",
                 amount_base=Decimal("1250.5"), value_usd=Decimal("4375000"))
    event = WhaleEventFactory(whale=whale, tx_hash=TX, log_index=-1, block_time=T0, type=EventType.LARGE_TRANSFER,
                              value_usd=Decimal("4375000"), summary="Jump 1 sent 1,250.5 ETH")
    if catalyst:
        catalysts_upsert(source="sec", items=[CatalystItem(
            source_ref="0001", type="filing", title="ETH ETF filing", url="https://www.sec.gov/f/1",
            occurred_at=T0 - timedelta(hours=2), impact_score=40, coins=["ETH"])])
    rule = AlertRuleFactory(name="ETH moves")
    return AlertFactory(rule=rule, event=event, status=AlertStatus.DELIVERED)


def test_an_event_alert_in_plain_text_names_who_what_how_much_and_where():
    alert = scene()
    link = f"https://etherscan.io/tx/{TX}"

    message = alert_message(alert, service="ntfy")

    assert message.title == "Whale alert: ETH moves"
    assert message.body == (
        "Large transfer · send by Jump 1 (Jump Trading)\n"
        "1,250.5 ETH · $4,375,000.00\n"
        "ethereum · 2026-11-20 12:00 UTC\n"
        "Jump 1 sent 1,250.5 ETH\n"
        f"Explorer: {link}\n"
        "Context: ETH ETF filing (2 h before) https://www.sec.gov/f/1"
    )
    assert (message.style, message.link) == ("text", link)


def test_telegram_and_email_get_html_with_the_names_escaped():
    alert = scene(whale_name="<Jump & Co>")
    link = f"https://etherscan.io/tx/{TX}"

    message = alert_message(alert, service="tgram")

    assert message.style == "html"
    assert message.body == (
        "<b>Large transfer · send</b> by &lt;Jump &amp; Co&gt; (Jump Trading)\n"
        "1,250.5 ETH · $4,375,000.00\n"
        "ethereum · 2026-11-20 12:00 UTC\n"
        "Jump 1 sent 1,250.5 ETH\n"
        f'<a href="{link}">View on explorer</a>\n'
        'Context: <a href="https://www.sec.gov/f/1">ETH ETF filing (2 h before)</a>'
    )
    assert alert_message(alert, service="mailto").body == message.body


def test_discord_and_slack_get_markdown_with_links():
    alert = scene(whale_name="Jump_1", catalyst=False)
    link = f"https://etherscan.io/tx/{TX}"

    message = alert_message(alert, service="discord")

    assert message.style == "markdown"
    assert message.body == (
        "**Large transfer · send** by Jump\\_1 (Jump Trading)\n"
        "1,250.5 ETH · $4,375,000.00\n"
        "ethereum · 2026-11-20 12:00 UTC\n"
        "Jump 1 sent 1,250.5 ETH\n"
        f"[View on explorer]({link})"
    )
    assert alert_message(alert, service="slack").body == message.body


def test_a_digest_lists_its_first_events_and_counts_the_rest(monkeypatch):
    monkeypatch.setattr("alerts.messages.DIGEST_MAX_EVENTS", 2)
    rule = AlertRuleFactory(name="Big ones")
    whale = WhaleFactory(name="Fund 7", entity=None)
    events = [WhaleEventFactory(whale=whale, block_time=T0 + timedelta(minutes=i), chain="bitcoin",
                                value_usd=Decimal(1_000_000 * (i + 1)), tx_hash=f"{i + 1:064x}", summary=f"move {i}")
              for i in range(3)]
    digest = AlertFactory(rule=rule, event=None, kind=AlertKind.DIGEST, events=[e.pk for e in events],
                          summary="Big ones: 3 more during the cooldown")

    message = alert_message(digest, service="json")

    assert message.title == "Whale alert digest: Big ones (3 events)"
    assert message.body == (
        "Large transfer by Fund 7\n$1,000,000.00\nbitcoin · 2026-11-20 12:00 UTC\nmove 0\n"
        f"Explorer: https://mempool.space/tx/{1:064x}\n"
        "\n"
        "Large transfer by Fund 7\n$2,000,000.00\nbitcoin · 2026-11-20 12:01 UTC\nmove 1\n"
        f"Explorer: https://mempool.space/tx/{2:064x}\n"
        "\n"
        "… and 1 more"
    )


def test_facts_of_an_event_without_a_trade_come_from_its_details():
    event = WhaleEventFactory(whale=None, chain="bitcoin", type=EventType.MEMPOOL_WHALE, block_time=T0,
                              tx_hash="f" * 64, value_usd=None, summary="mempool",
                              details={"amount": "150.25000000", "asset": "BTC"})
    alert = AlertFactory(event=event)

    facts = alert_facts(alert).events[0]

    assert (facts.whale, facts.amount, facts.value_usd, facts.direction) == ("", "150.25 BTC", "", "")
    assert message_render(alert_facts(alert), style="text").body.splitlines()[0] == "Mempool whale"


@pytest.mark.parametrize(("amount", "text"), [
    (Decimal("1250.5"), "1,250.5"), (Decimal("1000000"), "1,000,000"), (Decimal("0.000000015"), "0.00000002"),
    (Decimal("12.3400"), "12.34"),
])
def test_amounts_are_human_units_with_separators(amount, text):
    assert amount_text(amount) == text


def test_usd_has_two_decimals():
    assert usd_text(Decimal("4375000")) == "$4,375,000.00"
    assert usd_text(Decimal("0.005")) == "$0.00"  # half-even, like every Decimal here


def test_the_test_message_names_the_destination_in_its_style():
    assert probe_message(name="Ops <chat>", service="tgram").body == \
        "This destination (Ops &lt;chat&gt;) will receive your whale alerts."
    assert probe_message(name="ops", service="ntfy").title == "WhaleTrack test message"


def test_a_catalyst_event_links_to_its_source_and_shows_its_impact():
    event = WhaleEventFactory(whale=None, chain="", type=EventType.CATALYST, block_time=T0, tx_hash="catalyst:9",
                              value_usd=None, summary="SEC: spot ETH ETF approved",
                              details={"catalyst_id": 9, "url": "https://www.sec.gov/r/9", "impact_score": 85,
                                       "coins": ["ETH"]})
    alert = AlertFactory(rule=AlertRuleFactory(name="News"), event=event)

    assert alert_message(alert, service="ntfy").body == (
        "Catalyst\nno chain · 2026-11-20 12:00 UTC\nSEC: spot ETH ETF approved\nImpact 85/100\n"
        "Source: https://www.sec.gov/r/9")
    assert alert_message(alert, service="tgram").body.endswith('<a href="https://www.sec.gov/r/9">Read the source</a>')
