"""DeFiLlama on its one recording (market-context-mimir-fixtures/defillama_stables.json: USDT and USDC, trimmed by
its author), served by the replay node. No TVL answer is recorded: the parser of ``/protocols`` is tested on a list
the test builds in the documented shape, and offline the run is partial. Expected values come from the raw file."""

import json
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest
from django.conf import settings

from ledgers.glass.defillama.activity import protocols_parse, stablecoins_parse
from ledgers.glass.defillama.models import StablecoinSnapshot
from ledgers.glass.defillama.services import defillama_collect
from whales.models import CatalystEvent, RunStatus

RECORDING = Path(settings.REPLAY_DATA_DIR) / "market-context-mimir-fixtures" / "defillama_stables.json"


def raw_assets() -> list[dict]:
    return json.loads(RECORDING.read_text(), parse_float=Decimal)["peggedAssets"]


def test_the_recorded_supply_parses_to_the_printed_digits():
    parsed = stablecoins_parse(json.loads(RECORDING.read_text(), parse_float=Decimal))
    assert [(s.symbol, s.circulating_usd, s.prev_week_usd, s.prev_month_usd) for s in parsed] == [
        (a["symbol"], a["circulating"]["peggedUSD"], a["circulatingPrevWeek"]["peggedUSD"],
         a["circulatingPrevMonth"]["peggedUSD"]) for a in raw_assets()]
    assert parsed[0].circulating_usd == Decimal("184113417790.21002")


def test_protocols_parse_keeps_those_with_a_tvl():
    built = [{"slug": "aave", "name": "Aave", "category": "Lending", "chains": ["Ethereum"], "tvl": Decimal("1.5")},
             {"slug": "no-tvl", "name": "x", "tvl": None}]
    [aave] = protocols_parse(built)
    assert (aave.slug, aave.chains, aave.tvl_usd) == ("aave", ("Ethereum",), Decimal("1.5"))


@pytest.mark.django_db
def test_collect_stores_the_days_supply_and_a_catalyst_for_a_weekly_move_of_1_percent(settings, replay):
    settings.DEFILLAMA_API_URL = replay.defillama_url
    settings.DEFILLAMA_STABLECOINS_URL = replay.defillama_stablecoins_url
    result = defillama_collect()
    assert result.status == RunStatus.PARTIAL and "protocols: DefiLlamaError" in result.error  # no TVL recorded
    q8 = Decimal("1e-8")
    assert sorted(StablecoinSnapshot.objects.values_list("symbol", "circulating_usd", "prev_week_usd")) == sorted(
        (a["symbol"], a["circulating"]["peggedUSD"].quantize(q8, ROUND_HALF_EVEN),
         a["circulatingPrevWeek"]["peggedUSD"].quantize(q8, ROUND_HALF_EVEN)) for a in raw_assets())
    moved = {a["symbol"]: (a["circulating"]["peggedUSD"] - a["circulatingPrevWeek"]["peggedUSD"])
             / a["circulatingPrevWeek"]["peggedUSD"] * 100 for a in raw_assets()}
    expected = {symbol for symbol, change in moved.items() if abs(change) >= 1}
    assert expected == {"USDC"}  # USDC -1.09 %, USDT -0.49 % in the recorded week
    events = CatalystEvent.objects.filter(source="defillama")
    assert {e.coins for e in events} == expected
    [usdc] = events
    assert usdc.type == "stablecoin_supply" and usdc.impact_score == 50
    assert usdc.details["change_week_percent"] == str(moved["USDC"].quantize(Decimal("1e-4"), ROUND_HALF_EVEN))
    again = defillama_collect()
    assert again.extra["supply_catalysts"] == 0
    assert (StablecoinSnapshot.objects.count(), events.count()) == (2, 1)
