"""Hyperliquid Info API client (``POST {HYPERLIQUID_API_URL}/info``), with the request weight budget.

We use requests rather than hyperliquid-python-sdk's ``Info``: the SDK's constructor makes network
calls (STACK.md pitfall 5) and it has no notion of a shared weight budget; the API is a handful of
JSON POSTs. Every answer is decoded here into ``types.py`` dataclasses (every number arrives as a string
and becomes a Decimal, ``Decimal(raw["px"])``, never a float); a record that cannot be decoded is a
``BadRecord`` naming its field (list answers keep it aside in ``Records.bad``, see ``fill_decode``).

Weights (Hyperliquid's published limit: 1,200 weight per minute per IP; ``INFO_WEIGHTS``):
``clearinghouseState``, ``spotClearinghouseState``, ``l2Book``, ``allMids``, ``orderStatus`` weigh 2,
``userRole`` 60, every other info request 20; the requests that return lists of fills, funding or
ledger updates also weigh 1 more per 20 items returned, which is only known after the answer and is
spent then (the next request waits for it). Each request spends its base weight from the shared
budget before it is sent; a 429 is retried with backoff (urllib3 ``Retry``, honouring Retry-After).
"""

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import requests
from django.conf import settings

from ledgers.budget import BudgetExhausted, RequestBudget
from ledgers.errors import SourceError, SourceUnavailable
from ledgers.glass.hyperliquid.types import AccountState, BadRecord, Fill, LedgerUpdate, Position, Records
from ledgers.http import RETRY_STATUSES, BudgetedHttpClient

logger = logging.getLogger(__name__)

LIGHT_TYPES = frozenset({"clearinghouseState", "spotClearinghouseState", "l2Book", "allMids", "orderStatus"})
HEAVY_TYPES = {"userRole": 60}
ITEM_WEIGHTED_TYPES = frozenset({"userFills", "userFillsByTime", "userFunding", "userNonFundingLedgerUpdates",
                                 "historicalOrders", "fundingHistory", "candleSnapshot"})
DEFAULT_WEIGHT = 20
ITEMS_PER_EXTRA_WEIGHT = 20
FILLS_PAGE_LIMIT = 2000  # userFillsByTime answers at most this many fills per call
SIDES = {"B": "buy", "A": "sell"}  # the API's fill side: B = bid (buy), A = ask (sell)
MONEY_DELTAS = frozenset({"deposit", "withdraw"})  # ledger updates that move USDC in or out of the account

T = TypeVar("T")


def info_weight(request_type: str) -> int:
    """The base weight of an info request of ``request_type`` (module docstring)."""
    if request_type in LIGHT_TYPES:
        return 2
    return HEAVY_TYPES.get(request_type, DEFAULT_WEIGHT)


def extra_weight(request_type: str, items: int) -> int:
    """The weight a list answer of ``items`` adds to its request (1 per 20 items, rounded down)."""
    return items // ITEMS_PER_EXTRA_WEIGHT if request_type in ITEM_WEIGHTED_TYPES else 0


class HyperliquidUnavailable(SourceUnavailable):
    """The API could not answer now (timeout, refused, 429/5xx after retries, budget spent): retryable."""


class HyperliquidError(SourceError):
    """The API answered with an error or a body we cannot use (4xx, malformed JSON): terminal."""


class HyperliquidClient(BudgetedHttpClient):
    """The Info API over HTTP. Methods return ``types.py`` dataclasses (``Records`` of them for list
    answers) and raise HyperliquidUnavailable (retryable), HyperliquidError (terminal) or, where a method
    says so, BadRecord (terminal), nothing else. ``weight_spent`` counts what this client spent (base +
    item weights)."""

    RETRY_METHODS = None  # every Info API call is a POST that only reads: any method is retried

    def __init__(self, base_url: str, *, timeout_s: float = 15.0, retries: int = 4, backoff_s: float = 0.5,
                 budget: RequestBudget | None = None) -> None:
        super().__init__(base_url, timeout_s=timeout_s, retries=retries, backoff_s=backoff_s, budget=budget)
        self.url = self.base_url + "/info"
        self.weight_spent = 0

    @classmethod
    def from_settings(cls, url: str | None = None, *, budget_rate: str | None = None) -> "HyperliquidClient":
        """A client on ``url`` or HYPERLIQUID_API_URL with the configured timeout, retries and weight
        budget (HYPERLIQUID_WEIGHT_BUDGET, or ``budget_rate``)."""
        budget = RequestBudget("hyperliquid_info", budget_rate or settings.HYPERLIQUID_WEIGHT_BUDGET,
                               max_wait_s=settings.HYPERLIQUID_BUDGET_MAX_WAIT_S)
        return cls(url or settings.HYPERLIQUID_API_URL, timeout_s=settings.HYPERLIQUID_TIMEOUT_S,
                   retries=settings.HYPERLIQUID_RETRIES, budget=budget)

    def _spend(self, weight: int) -> None:
        if weight <= 0:
            return
        self.weight_spent += weight
        if self.budget is not None:
            try:
                self.budget.spend(weight)
            except BudgetExhausted as exc:
                raise HyperliquidUnavailable(str(exc)) from exc

    def info(self, body: dict[str, Any]) -> Any:
        """POST ``body`` to /info and return the decoded JSON, after spending its weight."""
        request_type = str(body.get("type", ""))
        self._spend(info_weight(request_type))
        try:
            response = self._session.post(self.url, json=body, timeout=self.timeout_s)
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.RetryError) as exc:
            raise HyperliquidUnavailable(f"{self.url} {request_type}: {type(exc).__name__}: {exc}") from exc
        self.requests_made += 1
        if response.status_code in RETRY_STATUSES:
            raise HyperliquidUnavailable(f"{self.url} {request_type}: HTTP {response.status_code} after retries")
        if response.status_code >= 400:
            raise HyperliquidError(f"{self.url} {request_type}: HTTP {response.status_code}: {response.text[:200]}")
        try:
            data = response.json()
        except ValueError as exc:
            raise HyperliquidError(f"{self.url} {request_type}: malformed JSON ({str(exc)[:120]})") from exc
        if isinstance(data, list):
            self._spend(extra_weight(request_type, len(data)))
        return data

    # --- API ----------------------------------------------------------------------------------
    def clearinghouse_state(self, user: str) -> AccountState:
        """Perp positions and margin summary of ``user`` (weight 2).

        Raises: HyperliquidError when the answer is not a JSON object; BadRecord (naming the field) when the
            margin summary or any open position cannot be decoded (``account_state_decode``).
        """
        data = self.info({"type": "clearinghouseState", "user": user})
        if not isinstance(data, dict):
            raise HyperliquidError(f"clearinghouseState {user}: not a JSON object")
        return account_state_decode(data)

    def user_fills_by_time(self, user: str, start_ms: int, end_ms: int | None = None) -> Records[Fill]:
        """Fills of ``user`` with start_ms <= time <= end_ms (at most 2,000 per answer; page by time, or use
        ``user_fills_since``). Bad fills are in ``bad``."""
        return records_decode(self._list(self._fills_body(user, start_ms, end_ms)), fill_decode)

    def user_fills_since(self, user: str, start_ms: int, end_ms: int | None = None, *,
                         max_pages: int) -> Records[Fill]:
        """Fills of ``user`` with start_ms <= time <= end_ms, paged by time: at most ``max_pages`` answers of
        ``userFillsByTime`` (2,000 fills each at most), each next page starting at the newest time seen.

        Shape: fills at that instant are read again and kept once (the same ``tid``, or, without one, the
            same raw record), in the order first read; ``newest_time_ms`` is over all of them, bad ones too.
        """
        fills: dict[str, object] = {}
        start = start_ms
        for _ in range(max_pages):
            page = self._list(self._fills_body(user, start, end_ms))
            for raw in page:
                fills.setdefault(_raw_identity(raw), raw)
            if len(page) < FILLS_PAGE_LIMIT:
                break
            newest = _newest_time_ms(page)
            if newest is None or newest <= start:
                break
            start = newest
        return records_decode(list(fills.values()), fill_decode)

    def user_fills(self, user: str) -> Records[Fill]:
        """The newest fills of ``user`` (up to 2,000). Bad fills are in ``bad``."""
        return records_decode(self._list({"type": "userFills", "user": user}), fill_decode)

    def user_non_funding_ledger_updates(self, user: str, start_ms: int,
                                        end_ms: int | None = None) -> Records[LedgerUpdate]:
        """Deposits, withdrawals and transfers of ``user`` since ``start_ms``. Bad updates are in ``bad``."""
        body: dict[str, Any] = {"type": "userNonFundingLedgerUpdates", "user": user, "startTime": start_ms}
        if end_ms is not None:
            body["endTime"] = end_ms
        return records_decode(self._list(body), ledger_update_decode)

    def user_funding(self, user: str, start_ms: int, end_ms: int | None = None) -> list[dict]:
        """Funding payments of ``user`` since ``start_ms``, as the API sends them (nothing here reads them)."""
        body: dict[str, Any] = {"type": "userFunding", "user": user, "startTime": start_ms}
        if end_ms is not None:
            body["endTime"] = end_ms
        return self._list(body)

    def meta(self) -> dict:
        """The perp universe (coins, size decimals, max leverage), as the API sends it."""
        data = self.info({"type": "meta"})
        if not isinstance(data, dict):
            raise HyperliquidError("meta: not a JSON object")
        return data

    def all_mids(self) -> dict[str, Decimal]:
        """Mid prices in USD by coin, as the API names them (``BTC``, ``@107``).

        Raises: HyperliquidError when the answer is not a JSON object; BadRecord for a mid that is not a
            number (a non-finite one is returned as it came: callers keep only positive finite mids).
        """
        data = self.info({"type": "allMids"})
        if not isinstance(data, dict):
            raise HyperliquidError("allMids: not a JSON object")
        mids = {}
        for coin, price in data.items():
            try:
                mids[str(coin)] = Decimal(str(price))
            except InvalidOperation as exc:
                raise BadRecord(f"allMids: {coin!r} is not a number: {str(price)[:40]!r}", field=str(coin),
                                record=data) from exc
        return mids

    @staticmethod
    def _fills_body(user: str, start_ms: int, end_ms: int | None) -> dict[str, Any]:
        body: dict[str, Any] = {"type": "userFillsByTime", "user": user, "startTime": start_ms}
        if end_ms is not None:
            body["endTime"] = end_ms
        return body

    def _list(self, body: dict[str, Any]) -> list:
        data = self.info(body)
        if not isinstance(data, list):
            raise HyperliquidError(f"{body['type']} {body.get('user')}: expected a JSON list")
        return data


# --- decoding: every raw key of the Info API is read below ---------------------------------------
def records_decode(raws: list, decode: Callable[[object], T]) -> Records[T]:
    """Every record of a list answer through ``decode``: the decoded ones in order in ``items``, the
    BadRecords in ``bad``; ``newest_time_ms`` over all of them (``Records``)."""
    items: list[T] = []
    bad: list[BadRecord] = []
    for raw in raws:
        try:
            items.append(decode(raw))
        except BadRecord as exc:
            bad.append(exc)
    return Records(items=tuple(items), bad=tuple(bad), newest_time_ms=_newest_time_ms(raws))


def _newest_time_ms(raws: list) -> int | None:
    """The newest integer ``time`` among ``raws`` (epoch ms), or None."""
    times = [r["time"] for r in raws if isinstance(r, dict) and type(r.get("time")) is int]
    return max(times, default=None)


def _raw_identity(raw: object) -> str:
    """A raw fill's identity across pages: its ``tid`` when given, otherwise the whole record."""
    if isinstance(raw, dict):
        if raw.get("tid") is not None:
            return str(raw["tid"])
        return repr(sorted(raw.items()))
    return repr(raw)


def _object(raw: object, what: str, label: str, record: object) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise BadRecord(f"{what}: {label!r} is not a JSON object", field=label, record=record)
    return raw


def _required(raw: Mapping[str, Any], name: str, what: str, record: object, label: str = "") -> Any:
    value = raw.get(name)
    if value is None:
        label = label or name
        raise BadRecord(f"{what}: {label!r} is missing" if name not in raw else f"{what}: {label!r} is null",
                        field=label, record=record)
    return value


def _text(raw: Mapping[str, Any], name: str, what: str, record: object, label: str = "") -> str:
    return str(_required(raw, name, what, record, label))


def _decimal(raw: Mapping[str, Any], name: str, what: str, record: object, label: str = "",
             default: str | None = None) -> Decimal:
    """``Decimal(raw[name])`` (``default`` when the key is absent). Raises: BadRecord when it is missing,
    null, not a number or not finite."""
    label = label or name
    value = raw.get(name, default) if default is not None else _required(raw, name, what, record, label)
    if value is None:
        raise BadRecord(f"{what}: {label!r} is null", field=label, record=record)
    try:
        number = Decimal(str(value))  # JSON numbers too (a leverage of 20): via their text, never a float
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise BadRecord(f"{what}: {label!r} is not a number: {str(value)[:40]!r}", field=label, record=record)
    return number


def _optional_decimal(raw: Mapping[str, Any], name: str, what: str, record: object, label: str = "") -> Decimal | None:
    return None if raw.get(name) is None else _decimal(raw, name, what, record, label)


def _optional_int(raw: Mapping[str, Any], name: str, what: str, record: object, label: str = "") -> int | None:
    value = raw.get(name)
    if value is not None and type(value) is not int:  # a bool is not an id
        label = label or name
        raise BadRecord(f"{what}: {label!r} is not an integer: {str(value)[:40]!r}", field=label, record=record)
    return value


def _block_time(raw: Mapping[str, Any], name: str, what: str, record: object) -> datetime:
    """The epoch-ms ``raw[name]`` as aware UTC. Raises: BadRecord."""
    value = _required(raw, name, what, record)
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise BadRecord(f"{what}: {name!r} is not a time in ms: {str(value)[:40]!r}", field=name,
                        record=record) from exc


def fill_decode(raw: object) -> Fill:
    """One ``userFills`` / ``userFillsByTime`` item as a ``Fill`` (its docstring has the mapping).

    Required: hash, coin, dir, side (B or A), px and sz (positive numbers), time (epoch ms); optional:
    startPosition, closedPnl, fee (0 when absent), oid, tid (integers), crossed (a boolean).
    Raises: BadRecord naming the first field that is missing or malformed.
    """
    fill = _object(raw, "fill", "fill", raw)
    what = f"fill {fill['hash']}" if isinstance(fill.get("hash"), str) else "fill"
    tx_hash = _text(fill, "hash", what, raw)
    symbol = _text(fill, "coin", what, raw)
    dir_text = _text(fill, "dir", what, raw)
    side_code = _required(fill, "side", what, raw)
    if not isinstance(side_code, str) or side_code not in SIDES:
        raise BadRecord(f"{what}: 'side' is {str(side_code)[:20]!r}, not B or A", field="side", record=raw)
    price = _decimal(fill, "px", what, raw)
    quantity = _decimal(fill, "sz", what, raw)
    for name, number in (("px", price), ("sz", quantity)):
        if number <= 0:
            raise BadRecord(f"{what}: {name!r} must be positive, not {number}", field=name, record=raw)
    crossed = fill.get("crossed")
    if crossed is not None and not isinstance(crossed, bool):
        raise BadRecord(f"{what}: 'crossed' is not a boolean: {str(crossed)[:20]!r}", field="crossed", record=raw)
    tid = _optional_int(fill, "tid", what, raw)
    key = (f"tid:{tid}" if tid is not None else
           "|".join(str(fill.get(k)) for k in ("hash", "oid", "time", "px", "sz", "side", "startPosition")))
    return Fill(
        tx_hash=tx_hash, symbol=symbol, side=SIDES[side_code], dir=dir_text, price_usd=price, quantity=quantity,
        start_position=_decimal(fill, "startPosition", what, raw, default="0"),
        realized_pnl_usd=_decimal(fill, "closedPnl", what, raw, default="0"),
        fee_usd=_decimal(fill, "fee", what, raw, default="0"),
        block_time=_block_time(fill, "time", what, raw), oid=_optional_int(fill, "oid", what, raw), tid=tid,
        crossed=crossed, key=key,
    )


def ledger_update_decode(raw: object) -> LedgerUpdate:
    """One ``userNonFundingLedgerUpdates`` item as a ``LedgerUpdate``.

    Required: hash, time (epoch ms), delta (an object) with its type; for a deposit or withdraw also
    delta.usdc (a number); optional: delta.fee (0 when absent), delta.nonce (an integer). The other kinds'
    deltas differ by kind and only their type is read: their amount_usdc and nonce are None, fee 0.
    Raises: BadRecord naming the first field that is missing or malformed.
    """
    update = _object(raw, "ledger update", "ledger update", raw)
    what = f"ledger update {update['hash']}" if isinstance(update.get("hash"), str) else "ledger update"
    tx_hash = _text(update, "hash", what, raw)
    block_time = _block_time(update, "time", what, raw)
    delta = _object(_required(update, "delta", what, raw), what, "delta", raw)
    delta_type = _text(delta, "type", what, raw, "delta.type")
    amount = fee = None
    nonce = None
    if delta_type in MONEY_DELTAS:
        amount = _decimal(delta, "usdc", what, raw, "delta.usdc")
        fee = _decimal(delta, "fee", what, raw, "delta.fee", default="0")
        nonce = _optional_int(delta, "nonce", what, raw, "delta.nonce")
    return LedgerUpdate(tx_hash=tx_hash, block_time=block_time, delta_type=delta_type, amount_usdc=amount,
                        fee_usd=fee if fee is not None else Decimal(0), nonce=nonce)


def account_state_decode(raw: object) -> AccountState:
    """A ``clearinghouseState`` answer as an ``AccountState``: the margin summary and the open positions
    (``assetPositions`` whose ``szi`` is not 0, in the answer's order; a closed one is not read further).

    Required: marginSummary.accountValue; per open position: coin, szi, entryPx, positionValue,
    unrealizedPnl, returnOnEquity (numbers); optional: liquidationPx (None), marginUsed (0), leverage
    {type, value} ("" and 0), and the summary's totalNtlPos, totalMarginUsed, withdrawable (None).
    Raises: BadRecord naming the first field that is missing or malformed (the whole state is unusable then).
    """
    what = "clearinghouseState"
    state = _object(raw, what, what, raw)
    margin = _object(_required(state, "marginSummary", what, raw), what, "marginSummary", raw)
    account_value = _decimal(margin, "accountValue", what, raw, "marginSummary.accountValue")
    items = _required(state, "assetPositions", what, raw)
    if not isinstance(items, list):
        raise BadRecord(f"{what}: 'assetPositions' is not a list", field="assetPositions", record=raw)
    positions = []
    for n, item in enumerate(items):
        label = f"assetPositions[{n}].position"
        p = _object(_required(_object(item, what, f"assetPositions[{n}]", raw), "position", what, raw, label),
                    what, label, raw)
        size = _decimal(p, "szi", what, raw, f"{label}.szi")
        if size == 0:
            continue
        where = f"{what} {str(p.get('coin'))[:20]}"
        leverage = p.get("leverage") or {}
        if not isinstance(leverage, dict):
            raise BadRecord(f"{where}: 'leverage' is not a JSON object", field="leverage", record=raw)
        positions.append(Position(
            symbol=_text(p, "coin", where, raw), size=size,
            entry_price_usd=_decimal(p, "entryPx", where, raw),
            position_value_usd=_decimal(p, "positionValue", where, raw),
            unrealized_pnl_usd=_decimal(p, "unrealizedPnl", where, raw),
            return_on_equity=_decimal(p, "returnOnEquity", where, raw),
            leverage_type=str(leverage.get("type", "")),
            leverage=_decimal(leverage, "value", where, raw, "leverage.value", default="0"),
            liquidation_price_usd=_optional_decimal(p, "liquidationPx", where, raw),
            margin_used_usd=_decimal(p, "marginUsed", where, raw, default="0"),
        ))
    return AccountState(
        account_value_usd=account_value, positions=tuple(positions),
        total_notional_usd=_optional_decimal(margin, "totalNtlPos", what, raw, "marginSummary.totalNtlPos"),
        total_margin_used_usd=_optional_decimal(margin, "totalMarginUsed", what, raw,
                                                "marginSummary.totalMarginUsed"),
        withdrawable_usd=_optional_decimal(state, "withdrawable", what, raw),
    )
