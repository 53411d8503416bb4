"""The quanta money and amounts are stored at, and rounding to them (half-even, like the columns).

``whales.models`` stores USD as NUMERIC(38, 8), prices as NUMERIC(38, 18), percentages as
NUMERIC(24, 4) and token amounts as NUMERIC(78, 30): every module that rounds a figure before storing it
rounds here.
"""

from decimal import ROUND_HALF_EVEN, Context, Decimal

USD_QUANTUM = Decimal("1e-8")
PRICE_QUANTUM = Decimal("1e-18")
PERCENT_QUANTUM = Decimal("1e-4")
AMOUNT_QUANTUM = Decimal("1e-30")
# Enough digits that proportional shares of 78-digit amounts never round before the final quantize.
WIDE = Context(prec=80)


def q_usd(value: Decimal) -> Decimal:
    """``value`` rounded half-even to 1e-8 USD (the USD columns' scale)."""
    return value.quantize(USD_QUANTUM, rounding=ROUND_HALF_EVEN, context=WIDE)


def q_price(value: Decimal) -> Decimal:
    """A USD unit price rounded half-even to 18 places (the price columns' scale)."""
    return value.quantize(PRICE_QUANTUM, rounding=ROUND_HALF_EVEN, context=WIDE)


def q_percent(value: Decimal) -> Decimal:
    """A percentage rounded half-even to 4 places (the percent columns' scale)."""
    return value.quantize(PERCENT_QUANTUM, rounding=ROUND_HALF_EVEN, context=WIDE)


def from_base_units(value_raw: int | Decimal, decimals: int) -> Decimal:
    """An amount in base units (wei, sat, a token's smallest unit) in human units, exactly: ``value_raw /
    10**decimals``. (``Decimal.scaleb`` in the default 28-digit context would round a 33-digit amount, e.g.
    10^15 tokens of 18 decimals.)"""
    return Decimal(value_raw).scaleb(-decimals, context=WIDE)
