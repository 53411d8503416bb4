"""A whale move beside its catalysts (issue 16, section 5), on real data only: the recorded Ethereum blocks of
2024-03-14 (Binance 14 sends 14 ETH) and the recorded SEC submissions (Coinbase filed an 8-K that morning).
Expected catalysts are computed here from the raw submissions files."""

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings

from alerts.payloads import event_payload
from ledgers.catalyst.sec.models import SecIssuer
from ledgers.catalyst.sec.services import filings_catalysts_upsert, submissions_collect
from tests.ledgers.catalyst.sec.test_sec import FORMS, sec_settings  # noqa: F401
from tests.ledgers.glass.ethereum import recorded
from tests.ledgers.glass.ethereum.test_services import FIRST, collect
from whales.context import context_around, event_coins
from whales.models import Trade, WhaleEvent

BINANCE_14 = "0x28c6c06298d514db089934071355e5743bf21d60"
SUBMISSIONS = Path(settings.REPLAY_DATA_DIR) / "sec-edgar-submissions-crypto" / "submissions"
# The seeded issuers' coins (migration sec 0002), and the impact of each form (README).
ISSUER_COINS = {1679788: {"BTC", "ETH"}, 1050446: {"BTC"}, 1507605: {"BTC"}, 1167419: {"BTC"}, 1512673: {"BTC"},
                827876: {"BTC"}, 1783879: {"BTC", "ETH"}, 1876042: {"USDC"}, 1859392: {"BTC", "ETH"},
                1588489: {"BTC"}, 1852317: {"BTC"}, 1554859: {"BTC"}, 1725210: {"ETH"}}
IMPACT = {"S-1": 70, "424B5": 70, "8-K": 60, "10-K": 40, "10-Q": 40, "144": 30, "4": 20}


def expected_catalysts(coins: set[str], at: datetime, issuer_coins: dict | None = None,
                       hours: int = 24) -> list[tuple[str, int, float]]:
    """("cik:accession", impact, offset hours) of the recorded filings of the issuers exposed to ``coins`` within
    ``hours`` of ``at``, ranked as the context ranks them (impact, then nearest), at most 10."""
    found = []
    for cik, exposed in (issuer_coins or ISSUER_COINS).items():
        if not exposed & coins:
            continue
        recent = json.loads((SUBMISSIONS / f"CIK{cik:010d}.json").read_text())["filings"]["recent"]
        for accession, form, accepted in zip(recent["accessionNumber"], recent["form"],
                                             recent["acceptanceDateTime"], strict=True):
            when = datetime.fromisoformat(accepted.replace("Z", "+00:00"))
            if form in FORMS and abs(when - at) <= timedelta(hours=hours):
                found.append((f"{cik}:{accession}", IMPACT[form], (when - at).total_seconds() / 3600))
    found.sort(key=lambda f: (-f[1], abs(f[2])))
    return [(accession, impact, round(offset, 1)) for accession, impact, offset in found[:10]]


@pytest.fixture
def moves(recorded_world, eth_client, sec_settings):  # noqa: F811
    collect(eth_client)
    submissions_collect()


def test_binance_14s_14_eth_sits_beside_coinbases_8k_of_that_morning(moves):
    raw_tx = next(tx for tx in recorded.raw_block(FIRST)["transactions"]
                  if tx["from"] == BINANCE_14 and int(tx["value"], 16) == 14 * 10**18)
    trade = Trade.objects.get(whale__address=BINANCE_14, tx_hash=raw_tx["hash"], log_index=-1)
    context = context_around(coins=[trade.base_asset], at=trade.block_time)
    expected = expected_catalysts({"ETH"}, recorded.block_time(FIRST))
    assert [(c["source_ref"], c["impact_score"], c["offset_hours"]) for c in context["catalysts"]] == expected
    assert len(expected) >= 3
    top = context["catalysts"][0]
    assert top["title"].startswith("Coinbase Global, Inc.: 8-K") and top["type"] == "sec_filing"
    assert (context["window_hours"], context["coins"]) == (24, ["ETH"])


def test_every_recorded_event_payload_carries_its_context(moves):
    events = list(WhaleEvent.objects.select_related("whale__entity").order_by("id"))
    assert events, "the recorded blocks raise whale events"
    for event in events:
        payload = event_payload(event)
        coins = event_coins(event)
        trade_assets = set(Trade.objects.filter(tx_hash=event.tx_hash, log_index=event.log_index,
                                                whale=event.whale).values_list("base_asset", "quote_asset"))
        assert set(coins) == {{"WETH": "ETH", "WBTC": "BTC"}.get(a, a) for pair in trade_assets for a in pair if a}
        assert payload["context"] == context_around(coins=coins, at=event.block_time)
        assert [(c["source_ref"], c["impact_score"], c["offset_hours"]) for c in payload["context"]["catalysts"]] == (
            expected_catalysts(set(coins), event.block_time))


def test_the_wallet_answer_and_page_show_the_catalysts_around_its_latest_moves(moves, client):
    # The recorded blocks' events are USDC and USDT moves (Binance 14's ETH stays under the thresholds). An analyst
    # maps Coinbase to USDC too (it co-founded the coin): Coinbase 10's USDC receipt then sits beside Coinbase's
    # 8-K of that morning.
    coinbase = SecIssuer.objects.get(cik=1679788)
    coinbase.coins = "BTC,ETH,USDC"
    coinbase.save()
    filings_catalysts_upsert(issuer=coinbase)
    mapping = {**ISSUER_COINS, 1679788: {"BTC", "ETH", "USDC"}}
    event = WhaleEvent.objects.select_related("whale").get(summary__startswith="Coinbase 10 received")
    address = event.whale.address
    whale_events = WhaleEvent.objects.filter(whale__address=address)
    answer = client.get(f"/api/v1/wallets/ethereum/{address}")
    assert answer.status_code == 200
    context = answer.json()["context"]
    assert [m["event_id"] for m in context] == list(
        whale_events.order_by("-block_time", "-id").values_list("id", flat=True)[:5])
    assert context
    for move in context:
        moved = WhaleEvent.objects.get(id=move["event_id"])
        assert [(c["source_ref"], c["impact_score"], c["offset_hours"]) for c in move["context"]["catalysts"]] == (
            expected_catalysts(set(event_coins(moved)), moved.block_time, mapping))
    assert any(c["title"].startswith("Coinbase Global, Inc.: 8-K") for m in context for c in m["context"]["catalysts"])
    page = client.get(f"/wallets/ethereum/{address}/").content.decode()
    assert 'id="moves-context"' in page
    shown = {c["id"] for m in context for c in m["context"]["catalysts"]}
    assert page.count('class="catalyst" data-catalyst-id=') == sum(len(m["context"]["catalysts"]) for m in context)
    assert shown and all(f'data-catalyst-id="{i}"' in page for i in shown)
    assert "Coinbase Global, Inc.: 8-K" in page
    assert f"{event.block_time:%Y-%m-%d %H:%M}</td>" not in page  # the time cell also holds the summary
    assert f"{event.block_time:%Y-%m-%d %H:%M}<div class=\"muted\">{event.summary}" in page
