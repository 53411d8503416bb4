"""holdings_set_many: many whales' spot holdings written at once, as holdings_set writes one whale's."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.whales.factories import HoldingFactory, WhaleFactory
from whales.models import Holding
from whales.services import holdings_set, holdings_set_many
from whales.types import HoldingValue

pytestmark = pytest.mark.django_db
D = Decimal


def stored(whale) -> dict[str, tuple]:
    return {h.asset: (h.amount, h.value_usd, h.portfolio_percent, h.is_perp)
            for h in Holding.objects.filter(whale=whale)}


def test_replace_keeps_perps_drops_other_spot_rows_and_shares_each_whales_total():
    priced, unpriced, trader = WhaleFactory(), WhaleFactory(), WhaleFactory()
    HoldingFactory(whale=priced, asset="OLD", amount=D(1), value_usd=D(5))
    HoldingFactory(whale=trader, asset="BTC-PERP", amount=D(-2), value_usd=None, is_perp=True)
    holdings_set_many(replace=True, holdings={
        priced.id: [HoldingValue("ETH", D("2.5"), D("7500")), HoldingValue("USDC", D(1), D(1)),
                    HoldingValue("USDC", D(2500), D(2500))],  # listed twice: the last one stands
        unpriced.id: [HoldingValue("ETH", D(1), D(3000)), HoldingValue("ODD", D(9), None)],
        trader.id: [HoldingValue("ETH", D(1), D(3000))],
    })
    total = D(7500) + D(2500)
    assert stored(priced) == {"ETH": (D("2.5"), D(7500), D(7500) / total * 100, False),
                              "USDC": (D(2500), D(2500), D(2500) / total * 100, False)}
    # An unknown value has no share and takes none from the others: shares are of the priced total, the
    # total the portfolio value counts.
    assert stored(unpriced) == {"ETH": (D(1), D(3000), D(100), False), "ODD": (D(9), None, None, False)}
    assert stored(trader) == {"ETH": (D(1), D(3000), D(100), False), "BTC-PERP": (D(-2), None, None, True)}


def test_without_replace_other_rows_stay_and_count_in_the_shares():
    whale = WhaleFactory()
    HoldingFactory(whale=whale, asset="WBTC", amount=D(1), value_usd=D(3000))
    holdings_set(whale_id=whale.id, holdings=[HoldingValue("ETH", D(1), D(1000))])
    assert stored(whale) == {"WBTC": (D(1), D(3000), D(75), False), "ETH": (D(1), D(1000), D(25), False)}


def test_the_statements_do_not_grow_with_the_whales():
    counts = []
    for n in (2, 40):
        whales = [WhaleFactory() for _ in range(n)]
        for whale in whales:
            HoldingFactory(whale=whale, asset="GONE", amount=D(1), value_usd=D(1))
        with CaptureQueriesContext(connection) as ctx:
            holdings_set_many(replace=True, holdings={w.id: [HoldingValue("ETH", D(1), D(10)),
                                                            HoldingValue("DAI", D(3), D(3))] for w in whales})
        counts.append(len(ctx.captured_queries))
        assert Holding.objects.filter(whale__in=whales).count() == 2 * n
    assert counts[0] == counts[1]
