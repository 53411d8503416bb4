"""Hyperliquid through its official SDK (``hyperliquid-python-sdk``): the SDK signs every action (EIP-712 L1
actions, with an agent wallet acting for the main wallet); this module only maps our shapes to its calls and
its answers back.

Credentials: the main wallet's address (``account_address``: whose orders, balances and fills these are) and an
agent (API) wallet's private key, approved by the main wallet at Hyperliquid. The main wallet's key is never used.

Markets: a symbol trades the perp of that name (``BTC``) when Hyperliquid lists one, else the spot pair
``<symbol>/USDC`` (the SDK's name for the pair whose coin is ``PURR/USDC`` or ``@N``); fills and orders of a spot
pair map back to the base token's name, upper-case, and positions list spot token balances (not USDC) next to
perp positions. A reduce-only request on a spot pair is sent without the flag (a spot sell cannot exceed the
balance). USDC is taken at par with USD. Market orders are immediate-or-cancel limit orders
``max_slippage_percent`` beyond the reference price (Hyperliquid has no other market order), priced to the venue's
rules: 5 significant figures and at most 6 (perps) or 8 (spot) minus ``szDecimals`` decimals. Sizes are cut down
to ``szDecimals`` (``quantity_round``) before anything is checked.

Base URL: ``settings.HYPERLIQUID_API_URL`` (the SDK posts to ``/info`` and ``/exchange`` under it); offline the
replay node's simulator answers there (``ledgers.replay.hyperliquid_exchange``). Every call has the adapter's
timeout. Errors: a read timeout or a connection dropped after sending -> VenueTimeout; a refused connection or an
HTTP 429 -> VenueUnavailable; an ``err`` answer or an order status ``error`` -> VenueRejected.
"""

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from typing import Any

import requests
from eth_account import Account as EthAccount
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils.error import ClientError, ServerError
from hyperliquid.utils.types import Cloid

from trading.adapters.base import (
    PlaceRequest,
    VenueAdapter,
    VenueAuthError,
    VenueBalance,
    VenueError,
    VenueFill,
    VenueHealth,
    VenueOrder,
    VenuePosition,
    VenueRejected,
    VenueStatus,
    VenueTimeout,
    VenueUnavailable,
)

logger = logging.getLogger(__name__)

QUOTE = "USDC"
MIDS_TTL_S = 2.0
SPOT_ASSET_OFFSET = 10_000
AUTH_WORDS = ("signature", "does not exist", "not authorized", "agent", "User or API Wallet")
"""Words of Hyperliquid's refusals of the signer itself (bad signature, unknown or unapproved agent)."""


def _raise_for_status(response: requests.Response) -> None:
    """Our status mapping for the SDK's requests (its own needs a ``code`` field that a 429 body may lack)."""
    status = response.status_code
    if status < 400:
        return
    if status == 429:
        raise VenueUnavailable(f"Hyperliquid answered 429 (rate limited): {response.text[:200]}")
    if status < 500:
        raise VenueRejected(f"Hyperliquid answered HTTP {status}: {response.text[:200]}")
    raise ServerError(status, response.text[:200])


_nonce_lock = threading.Lock()
_nonce_last_ms = 0


@contextmanager
def _signing_clock() -> Iterator[None]:
    """Serialize this process's signed actions so each gets its own millisecond: the SDK's nonce is the time in
    ms, and Hyperliquid refuses a nonce a signer already used. (Across processes a clash is possible but harmless:
    the venue refuses it before doing anything, and the order fails without being placed.)"""
    global _nonce_last_ms
    with _nonce_lock:
        while int(time.time() * 1000) <= _nonce_last_ms:
            time.sleep(0.0005)
        try:
            yield
        finally:
            _nonce_last_ms = int(time.time() * 1000)


class _Info(Info):
    def _handle_exception(self, response: requests.Response) -> None:
        _raise_for_status(response)


class _Exchange(Exchange):
    def _handle_exception(self, response: requests.Response) -> None:
        _raise_for_status(response)


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _at(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms is not None else None


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def _side(code: str) -> str:
    return "buy" if code == "B" else "sell"


def price_round(price: Decimal, *, sz_decimals: int, spot: bool) -> Decimal:
    """``price`` to Hyperliquid's tick rule: 5 significant figures, then at most (8 if spot else 6) - szDecimals
    decimals (half-even). An integer price is always valid."""
    if price <= 0:
        raise VenueRejected(f"price {price} must be > 0")
    significant = price.quantize(Decimal(1).scaleb(price.adjusted() - 4), rounding=ROUND_HALF_EVEN)
    decimals = max((8 if spot else 6) - sz_decimals, 0)
    return significant.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN).normalize()


ORDER_STATUS = {"open": VenueStatus.OPEN, "filled": VenueStatus.FILLED, "triggered": VenueStatus.OPEN}


class HyperliquidVenue(VenueAdapter):
    """One Hyperliquid account (``account_address``) traded by an agent wallet (``agent_key``, hex)."""

    name = "hyperliquid"

    def __init__(self, *, base_url: str, account_address: str, agent_key: str, timeout_s: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.account_address = account_address.lower()
        self._wallet = EthAccount.from_key(agent_key)
        self.timeout_s = timeout_s
        self._info: _Info | None = None
        self._exchange: _Exchange | None = None
        self._mids: tuple[float, Any] | None = None

    # -- plumbing ---------------------------------------------------------------------------------

    def _call(self, func: Any, *args: Any, mutating: bool = False, **kwargs: Any) -> Any:
        try:
            if mutating:
                with _signing_clock():
                    return func(*args, **kwargs)
            return func(*args, **kwargs)
        except VenueError:
            raise
        except requests.exceptions.ConnectTimeout as exc:
            raise VenueUnavailable(f"Hyperliquid did not accept the connection: {exc}") from exc
        except requests.exceptions.Timeout as exc:
            raise VenueTimeout(f"Hyperliquid did not answer within {self.timeout_s:g} s") from exc
        except requests.exceptions.ConnectionError as exc:
            refused = "Connection refused" in str(exc) or "NewConnectionError" in str(exc)
            if refused or not mutating:
                raise VenueUnavailable(f"Hyperliquid unreachable: {exc}") from exc
            raise VenueTimeout(f"Hyperliquid dropped the connection after the request was sent: {exc}") from exc
        except ServerError as exc:
            if mutating:
                raise VenueTimeout(f"Hyperliquid answered {exc.status_code} after the request was sent") from exc
            raise VenueUnavailable(f"Hyperliquid answered {exc.status_code}") from exc
        except (ClientError, ValueError, KeyError, TypeError) as exc:
            raise VenueUnavailable(f"Hyperliquid answered something unreadable: {exc!r}"[:300]) from exc

    @property
    def info(self) -> _Info:
        """The SDK's Info client for ``base_url`` (made on first use: it reads ``meta`` and ``spotMeta``, which
        map coin names to asset ids and size decimals). Raises VenueUnavailable / VenueTimeout."""
        if self._info is None:
            self._info = self._call(_Info, self.base_url, True, timeout=self.timeout_s)
        return self._info

    @property
    def exchange(self) -> _Exchange:
        """The SDK's Exchange client signing with the agent key for ``account_address`` (made on first use, from
        the same ``meta`` and ``spotMeta`` as ``info``). Raises VenueUnavailable / VenueTimeout."""
        if self._exchange is None:
            info = self.info
            # meta and spot_meta are handed over so the SDK's own Info maps assets as ours does.
            meta = self._call(info.meta)
            spot_meta = self._call(info.spot_meta)
            self._exchange = _Exchange(self._wallet, self.base_url, meta=meta, spot_meta=spot_meta,
                                       account_address=self.account_address, timeout=self.timeout_s)
        return self._exchange

    def close(self) -> None:
        for api in (self._info, self._exchange):
            if api is not None:
                api.session.close()

    def _coin(self, symbol: str) -> tuple[str, int, int]:
        """(Hyperliquid coin name, asset id, szDecimals) of ``symbol``. Raises VenueRejected when not listed."""
        info = self.info
        for name in (symbol, f"{symbol}/{QUOTE}"):
            coin = info.name_to_coin.get(name)
            if coin is not None:
                asset = info.coin_to_asset[coin]
                return coin, asset, info.asset_to_sz_decimals[asset]
        raise VenueRejected(f"{symbol} is not listed on Hyperliquid (no perp {symbol}, no spot {symbol}/{QUOTE})")

    def _symbol(self, coin: str) -> str:
        """Our symbol of a Hyperliquid coin name (a perp's name, or a spot pair's base token)."""
        if coin.startswith("@") or "/" in coin:
            for name, mapped in self.info.name_to_coin.items():
                if mapped == coin and "/" in name:
                    return name.split("/")[0].upper()
        return coin.upper()

    # -- the interface ----------------------------------------------------------------------------

    def quantity_round(self, symbol: str, quantity: Decimal) -> Decimal:
        """``quantity`` cut down to the coin's ``szDecimals`` (Hyperliquid's lot size)."""
        _, _, sz_decimals = self._coin(symbol)
        return quantity.quantize(Decimal(1).scaleb(-sz_decimals), rounding=ROUND_DOWN)

    def place(self, request: PlaceRequest) -> VenueOrder:
        coin, asset, sz_decimals = self._coin(request.symbol)
        spot = asset >= SPOT_ASSET_OFFSET
        size = request.quantity
        if size != self.quantity_round(request.symbol, size) or size <= 0:
            raise VenueRejected(f"size {size} of {coin} must be > 0 with at most {sz_decimals} decimals")
        is_buy = request.side == "buy"
        if request.limit_price_usd is None:
            if request.reference_price_usd is None:
                raise VenueRejected("a market order needs a reference price")
            move = request.max_slippage_percent / 100
            price = request.reference_price_usd * (1 + move if is_buy else 1 - move)
            tif = "Ioc"
        else:
            price, tif = request.limit_price_usd, "Gtc"
            on_tick = price_round(price, sz_decimals=sz_decimals, spot=spot)
            if on_tick != price:  # never move the trader's own limit (a buy would pay more than asked)
                raise VenueRejected(f"limit price {price.normalize():f} is not on Hyperliquid's tick for {coin} (5 "
                                    f"significant figures, at most {max((8 if spot else 6) - sz_decimals, 0)} "
                                    f"decimals); the nearest is {on_tick:f}")
        price = price_round(price, sz_decimals=sz_decimals, spot=spot)
        # Reduce-only is a perp notion: a spot sell can never go below the token balance (no shorting on spot),
        # which is already the guarantee a reduce-only flatten asks for, so spot orders never carry the flag.
        answer = self._call(self.exchange.order, coin, is_buy, float(size), float(price),
                            {"limit": {"tif": tif}}, reduce_only=request.reduce_only and not spot,
                            cloid=Cloid.from_str(request.cloid), mutating=True)
        status = self._status_of(answer)
        if "error" in status:
            raise VenueRejected(str(status["error"]))
        if "resting" in status:
            return VenueOrder(venue_order_id=str(status["resting"]["oid"]), symbol=request.symbol,
                              side=request.side, status=VenueStatus.OPEN, quantity=size, limit_price_usd=price,
                              cloid=request.cloid)
        if "filled" in status:
            filled = status["filled"]
            total = _dec(filled["totalSz"])
            done = VenueStatus.FILLED if total >= size else (
                VenueStatus.CANCELLED if tif == "Ioc" else VenueStatus.PARTIALLY_FILLED)
            return VenueOrder(venue_order_id=str(filled["oid"]), symbol=request.symbol, side=request.side,
                              status=done, quantity=size, filled_quantity=total, limit_price_usd=price,
                              average_price_usd=_dec(filled["avgPx"]), cloid=request.cloid)
        raise VenueUnavailable(f"Hyperliquid answered an order status we do not know: {status!r}"[:300])

    def _status_of(self, answer: Any) -> dict:
        """The first order/cancel status of an /exchange answer. Raises VenueRejected / VenueAuthError on ``err``."""
        if not isinstance(answer, dict):
            raise VenueUnavailable(f"Hyperliquid answered {answer!r}"[:300])
        if answer.get("status") != "ok":
            reason = str(answer.get("response", answer))
            if "Invalid nonce" in reason:  # refused before anything was done
                raise VenueUnavailable(f"Hyperliquid refused the nonce: {reason}"[:300])
            error = VenueAuthError if any(word in reason for word in AUTH_WORDS) else VenueRejected
            raise error(reason[:500])
        statuses = answer["response"]["data"]["statuses"]
        first = statuses[0]
        return first if isinstance(first, dict) else {"plain": first}

    def cancel(self, *, venue_order_id: str, symbol: str, side: str) -> bool:
        coin, _, _ = self._coin(symbol)
        answer = self._call(self.exchange.cancel, coin, int(venue_order_id), mutating=True)
        try:
            status = self._status_of(answer)
        except VenueRejected as exc:
            if "already canceled" in str(exc) or "never placed" in str(exc) or "filled" in str(exc):
                return False
            raise
        if status.get("plain") == "success":
            return True
        error = str(status.get("error", status))
        if "already canceled" in error or "never placed" in error or "filled" in error:
            return False
        raise VenueRejected(error)

    def order_lookup(self, *, cloid: str, symbol: str, side: str, quantity: Decimal, placed_after: datetime,
                     venue_order_id: str = "", exclude: frozenset[str] = frozenset()) -> VenueOrder | None:
        answer = self._call(self.info.query_order_by_cloid, self.account_address, Cloid.from_str(cloid))
        if not isinstance(answer, dict) or answer.get("status") != "order":
            return None
        body = answer["order"]
        order = body["order"]
        original = _dec(order.get("origSz", order["sz"]))
        remaining = _dec(order["sz"])
        filled = original - remaining
        state = body.get("status", "")
        if state in ORDER_STATUS:
            status = ORDER_STATUS[state]
            if status == VenueStatus.OPEN and filled > 0:
                status = VenueStatus.PARTIALLY_FILLED
            if status == VenueStatus.FILLED:
                filled = original
        elif "rejected" in state.lower():
            status, filled = VenueStatus.REJECTED, Decimal(0)
        else:
            status = VenueStatus.CANCELLED
        return VenueOrder(venue_order_id=str(order["oid"]), symbol=self._symbol(order["coin"]),
                          side=_side(order["side"]), status=status, quantity=original, filled_quantity=filled,
                          limit_price_usd=_dec(order["limitPx"]), cloid=order.get("cloid") or cloid,
                          placed_at=_at(order.get("timestamp")), reason=state)

    def open_orders(self) -> list[VenueOrder]:
        rows = self._call(self.info.frontend_open_orders, self.account_address)
        out = []
        for row in rows:
            original = _dec(row.get("origSz", row["sz"]))
            remaining = _dec(row["sz"])
            out.append(VenueOrder(
                venue_order_id=str(row["oid"]), symbol=self._symbol(row["coin"]), side=_side(row["side"]),
                status=VenueStatus.PARTIALLY_FILLED if remaining < original else VenueStatus.OPEN,
                quantity=original, filled_quantity=original - remaining, limit_price_usd=_dec(row["limitPx"]),
                cloid=row.get("cloid"), placed_at=_at(row.get("timestamp"))))
        return out

    def fills_since(self, since: datetime) -> list[VenueFill]:
        rows = self._call(self.info.user_fills_by_time, self.account_address, _ms(since))
        fills = [VenueFill(venue_fill_id=str(row["tid"]), venue_order_id=str(row["oid"]),
                           symbol=self._symbol(row["coin"]), side=_side(row["side"]), price_usd=_dec(row["px"]),
                           quantity=_dec(row["sz"]), fee_usd=_dec(row["fee"]),
                           fee_asset="" if row.get("feeToken", QUOTE) in ("", QUOTE) else str(row["feeToken"]),
                           filled_at=_at(row["time"]) or since, cloid=row.get("cloid"))
                 for row in rows]
        return sorted(fills, key=lambda f: (f.filled_at, f.venue_fill_id))

    def balances(self) -> list[VenueBalance]:
        spot = self._call(self.info.spot_user_state, self.account_address)
        perp = self._call(self.info.user_state, self.account_address)
        out = [VenueBalance(asset=row["coin"], total=_dec(row["total"]), available=_dec(row["total"]) - _dec(
            row.get("hold", "0"))) for row in spot.get("balances", [])]
        summary = perp.get("marginSummary", {})
        if summary:
            out.append(VenueBalance(asset=f"{QUOTE} (perp margin)", total=_dec(summary.get("accountValue", "0")),
                                    available=_dec(perp.get("withdrawable", "0"))))
        return out

    def health(self) -> VenueHealth:
        """The balances (read-only, unsigned) and whether the agent is one of the main wallet's approved agents
        (``extraAgents``, still valid): an unsigned read alone cannot show that the key may trade. Never raises."""
        health = super().health()
        if not health.ok:
            return health
        started = time.monotonic()
        try:
            agents = self._call(self.info.post, "/info", {"type": "extraAgents", "user": self.account_address})
        except VenueError as exc:
            return VenueHealth(ok=False, detail=f"{health.detail}; approved agents unreadable: {exc}",
                               latency_ms=health.latency_ms + int((time.monotonic() - started) * 1000))
        now_ms = int(time.time() * 1000)
        mine = self._wallet.address.lower()
        approved = any(isinstance(a, dict) and str(a.get("address", "")).lower() == mine
                       and int(a.get("validUntil") or 0) > now_ms for a in (agents or []))
        latency = health.latency_ms + int((time.monotonic() - started) * 1000)
        if not approved:
            return VenueHealth(ok=False, latency_ms=latency,
                               detail=f"{health.detail}; agent {mine} is not an approved, valid API wallet of "
                                      f"{self.account_address} (approve it at Hyperliquid first)")
        return VenueHealth(ok=True, detail=f"{health.detail}; agent {mine[:6]}…{mine[-4:]} approved",
                           latency_ms=latency)

    def positions(self) -> list[VenuePosition]:
        perp = self._call(self.info.user_state, self.account_address)
        out = [VenuePosition(symbol=p["position"]["coin"].upper(), quantity=_dec(p["position"]["szi"]),
                             entry_price_usd=_dec(p["position"]["entryPx"]) if p["position"].get("entryPx") else None)
               for p in perp.get("assetPositions", []) if _dec(p["position"]["szi"]) != 0]
        spot = self._call(self.info.spot_user_state, self.account_address)
        out += [VenuePosition(symbol=row["coin"].upper(), quantity=_dec(row["total"]))
                for row in spot.get("balances", []) if row["coin"] != QUOTE and _dec(row["total"]) != 0]
        return sorted(out, key=lambda p: p.symbol)

    def mid(self, symbol: str) -> Decimal | None:
        """The coin's mid from ``allMids``, asked once per ``MIDS_TTL_S`` by this adapter (one order's checks ask
        for several coins)."""
        coin, _, _ = self._coin(symbol)
        if self._mids is None or time.monotonic() - self._mids[0] > MIDS_TTL_S:
            self._mids = (time.monotonic(), self._call(self.info.all_mids))
        mids = self._mids[1]
        value = mids.get(coin) if isinstance(mids, dict) else None
        return _dec(value) if value is not None else None
