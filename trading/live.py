"""Live trading: the gates, live order placement, resolution of unknown orders, reconciliation and the emergency
stop. Every venue call goes through ``trading.adapters`` (the venue interface); no venue call is ever made while an
account row is locked.

Gates (``live_gates``): a live order needs all four, and the first one missing blocks it with its reason:
1. ``setting``: ``settings.TRADING_LIVE_ENABLED``;
2. ``admin_toggle``: the newest ``LiveTradingToggle`` row (the admin switch, append-only audit);
3. ``live_mode``: staff set the account to live mode with a venue (``live_mode_set``);
4. ``confirmation``: the owner confirmed the account's current limits (``live_confirm``); changing any limit in
   ``LIVE_LIMIT_FIELDS`` voids it.
Credentials for the venue are needed too (``credentials``), shown with the gates.

A live order passes every check a paper order passes (``trading.safety``, priced at the venue's mids), plus:
- ``max_order_notional_usd``: quantity x price (the limit price, else the venue mid) <= the cap;
- ``max_daily_notional_usd``: the expected notional of today's (UTC) accepted live orders plus this one <= the cap;
- ``price_band_percent``: a market order is refused when the venue mid is more than the band away from the
  reference price (the signal's price, else the stored market price), |mid - reference| / reference x 100;
- ``no_shorting`` counts the sells still open (or unknown) at the venue: a sell may not exceed the position less
  what those may still sell (a perp venue would otherwise fill them into a short when the price reaches them).

Lifecycle: the order is stored ``submitted`` with a deterministic cloid (``cloid_for``) and the account unlocked;
then it is sent. The venue's answer moves it to open / partially filled / filled / cancelled / rejected, and its
fills are read from the venue and booked (FIFO, the one engine of ``trading.services``) with their venue fill id,
once each. A timeout or a dropped connection after sending leaves it ``unknown``: ``order_resolve`` asks the
venue for the cloid (or, on Coinspot, for a matching order in its history) and nothing is ever resent.

Reconciliation (``account_reconcile``, beat row ``trading.reconcile_live_accounts``): imports the venue's fills we
missed, settles our open and unknown orders from the venue's state, and compares positions and open orders; a
drift beyond ``TRADING_RECONCILE_TOLERANCE`` (asset units) halts the account, records a ``data_quality`` event and
alerts staff; only symbols the account trades are compared (other holdings of the same venue account are not this
book's). The emergency stop (``account_emergency_stop``) halts the account, cancels every open order at the venue
and optionally closes the book's positions with reduce-only market orders, recording each step's venue answer
(``VenueCall``).
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from trading.adapters.base import (
    PlaceRequest,
    VenueAdapter,
    VenueError,
    VenueFill,
    VenueOrder,
    VenueRejected,
    VenueStatus,
    VenueTimeout,
    VenueUnavailable,
    cloid_for,
)
from trading.adapters.registry import VenueNotConfigured, adapter_for, live_adapter, venue_timeout_s
from trading.crypto import credential_reveal, credential_store
from trading.exchange import Execution, PaperExchange
from trading.models import (
    LIVE_LIMIT_FIELDS,
    Account,
    AccountAudit,
    AccountMode,
    ExchangeCredential,
    LiveTradingToggle,
    LiveVenue,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    ReconcileStatus,
    Reconciliation,
    Strategy,
    StrategyStatus,
    VenueCall,
)
from trading.safety import Intent, daily_loss_violation, pre_trade_violations, unpriced_symbols
from trading.selectors import PriceSource, market_price
from trading.services import (
    DECIMAL_CONTEXT,
    TradingError,
    _apply_fill,
    _halt,
    _lock_positions,
    _orders_today,
    _reject,
    _snapshot,
    _ticket,
)
from whales.errors import Conflict, InvalidParameter, NotFound
from whales.money import q_price, q_usd

logger = logging.getLogger(__name__)

ZERO = Decimal(0)
HUNDRED = Decimal(100)
LIVE_VENUES = {LiveVenue.HYPERLIQUID: "hyperliquid", LiveVenue.COINSPOT: "coinspot"}
FILL_LOOKBACK = timedelta(seconds=5)
"""Fills are read from this long before an order's submit time (venue and local clocks may differ a little)."""


class LiveRefused(Conflict):
    """409 ``conflict``: a live-trading action that the account's state does not allow (nothing changed)."""


# ---------------------------------------------------------------- gates


@dataclass(frozen=True)
class Gate:
    """One condition of live trading: ``name``, whether it holds, and what it says (the reason when not)."""

    name: str
    ok: bool
    detail: str


def live_limits(account: Account) -> dict[str, str]:
    """The account's limits an owner confirms: {field: value as a string} over ``LIVE_LIMIT_FIELDS``."""
    return {name: str(getattr(account, name)) for name in LIVE_LIMIT_FIELDS}


def live_gates(account: Account) -> list[Gate]:
    """The four gates of live trading, then the credentials, each with its state (module docstring)."""
    setting = bool(getattr(settings, "TRADING_LIVE_ENABLED", False))
    toggle = LiveTradingToggle.objects.order_by("-changed_at", "-id").first()
    confirmed = account.live_confirmed_limits is not None and account.live_confirmed_limits == live_limits(account)
    has_credentials = bool(account.live_venue) and ExchangeCredential.objects.filter(
        account=account, exchange=account.live_venue).exists()
    return [
        Gate("setting", setting, "TRADING_LIVE_ENABLED is on" if setting else "TRADING_LIVE_ENABLED is off"),
        Gate("admin_toggle", bool(toggle and toggle.enabled),
             f"the admin switch is {'on' if toggle and toggle.enabled else 'off'}"
             + (f" since {toggle.changed_at.isoformat()}" if toggle else "")),
        Gate("live_mode", account.mode == AccountMode.LIVE and bool(account.live_venue),
             f"live mode on {account.live_venue}" if account.mode == AccountMode.LIVE and account.live_venue
             else "staff have not set this account to live mode"),
        Gate("confirmation", confirmed,
             f"the owner confirmed these limits at {account.live_confirmed_at.isoformat()}"
             if confirmed and account.live_confirmed_at else
             ("the limits changed since the owner confirmed them" if account.live_confirmed_limits is not None
              else "the owner has not confirmed the limits")),
        Gate("credentials", has_credentials,
             f"{account.live_venue} credentials stored" if has_credentials else "no venue credentials stored"),
    ]


def live_block_reason(account: Account) -> str | None:
    """``live_gate_<name>: <detail>`` of the first gate that does not hold, or None when all do."""
    for gate in live_gates(account):
        if not gate.ok:
            return f"live_gate_{gate.name}: {gate.detail}"
    return None


def live_confirm(*, account_id: int, by_user: User) -> Account:
    """The owner confirms the account's current limits for live trading (gate 4). Audited. Raises NotFound when
    the account is not ``by_user``'s."""
    now = timezone.now()
    with transaction.atomic():
        account = Account.objects.select_for_update().filter(pk=account_id, owner=by_user).first()
        if account is None:
            raise NotFound(f"account {account_id} not found")
        account.live_confirmed_limits = live_limits(account)
        account.live_confirmed_at, account.live_confirmed_by = now, by_user
        account.save(update_fields=["live_confirmed_limits", "live_confirmed_at", "live_confirmed_by", "updated_at"])
        AccountAudit.objects.create(account=account, action="live_confirm", by_user=by_user, at=now,
                                    reason="limits: " + ", ".join(f"{k}={v}" for k, v in
                                                                  account.live_confirmed_limits.items()))
    return account


def live_mode_set(*, account_id: int, live: bool, venue: str = "", by_user: User, reason: str = "") -> Account:
    """Staff put an account in live mode on ``venue`` (a ``LiveVenue``), or back to paper. Audited. Raises
    LiveRefused for a non-staff user, InvalidParameter for an unknown venue, LiveRefused when the account holds
    positions or open orders (its book would mix paper and venue fills)."""
    if not by_user.is_staff:
        raise LiveRefused("only staff may change an account's trading mode")
    if live and venue not in LiveVenue.values:
        raise InvalidParameter(f"venue must be one of {', '.join(LiveVenue.values)}")
    now = timezone.now()
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_id)
        mode = AccountMode.LIVE if live else AccountMode.PAPER
        if account.mode == mode and (not live or account.live_venue == venue):
            return account
        busy = (Position.objects.filter(account=account).exists()
                or Order.objects.filter(account=account, status__in=(*OPEN_OR_UNKNOWN,)).exists())
        if busy:
            raise LiveRefused(f"account {account_id} holds positions or open orders; close them before switching "
                              "between paper and live")
        account.mode = mode
        account.live_venue = venue if live else account.live_venue
        account.save(update_fields=["mode", "live_venue", "updated_at"])
        AccountAudit.objects.create(account=account, action="live_mode_on" if live else "live_mode_off",
                                    reason=(f"venue {venue}; " if live else "") + reason, by_user=by_user, at=now)
    logger.warning("trading.live.mode", extra={"account": account_id, "live": live, "venue": venue})
    return account


OPEN_OR_UNKNOWN = (OrderStatus.PENDING, OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED, OrderStatus.UNKNOWN)


# ---------------------------------------------------------------- credentials


HEX_DIGITS = frozenset("0123456789abcdef")


def _is_hex(value: str, length: int) -> bool:
    body = value[2:] if value.lower().startswith("0x") else value
    return len(body) == length and set(body.lower()) <= HEX_DIGITS


def credential_set(*, account_id: int, owner: User, venue: str, api_key: str, secret: str) -> ExchangeCredential:
    """Store the owner's credentials for ``venue`` on the account (encrypted; ``trading.crypto``) and make it the
    account's live venue if it has none. Hyperliquid: ``api_key`` = the main wallet's address, ``secret`` = an
    agent (API) wallet's private key; the main wallet's own key is refused. Coinspot: the API key and secret.
    Raises NotFound (not the owner's account), InvalidParameter (malformed input; nothing stored),
    LiveRefused (the account is live on another venue)."""
    api_key, secret = api_key.strip(), secret.strip()
    if venue not in LiveVenue.values:
        raise InvalidParameter(f"venue must be one of {', '.join(LiveVenue.values)}")
    if venue == LiveVenue.HYPERLIQUID:
        if not _is_hex(api_key, 40):
            raise InvalidParameter("api_key must be the main wallet's address (0x and 40 hex digits)")
        if not _is_hex(secret, 64):
            raise InvalidParameter("secret must be the agent (API) wallet's private key (64 hex digits)")
        from eth_account import Account as EthAccount

        agent = EthAccount.from_key(secret).address
        if agent.lower() == api_key.lower():
            raise InvalidParameter("this is the main wallet's own key: create an API wallet at Hyperliquid "
                                   "(More > API) and enter its key; the main wallet's key is never needed")
        hint = f"agent {agent[:6]}…{agent[-4:]} for {api_key[:6]}…{api_key[-4:]}".lower()
    else:
        if not (8 <= len(api_key) <= 200 and 8 <= len(secret) <= 200) or any(c.isspace() for c in api_key + secret):
            raise InvalidParameter("api_key and secret must be 8-200 characters without spaces")
        hint = f"key …{api_key[-4:]}"
    with transaction.atomic():
        account = Account.objects.select_for_update().filter(pk=account_id, owner=owner).first()
        if account is None:
            raise NotFound(f"account {account_id} not found")
        if account.mode == AccountMode.LIVE and account.live_venue and account.live_venue != venue:
            raise LiveRefused(f"account {account_id} trades live on {account.live_venue}; staff must set it back "
                              "to paper before its venue changes")
        row = credential_store(account=account, exchange=venue, api_key=api_key, secret=secret)
        row.hint, row.tested_at, row.tested_ok, row.tested_detail = hint, None, None, ""
        row.save(update_fields=["hint", "tested_at", "tested_ok", "tested_detail"])
        if not account.live_venue:
            account.live_venue = venue
            account.save(update_fields=["live_venue", "updated_at"])
        AccountAudit.objects.create(account=account, action="credentials_set", reason=f"{venue}: {hint}",
                                    by_user=owner)
    return row


def credential_test(*, account_id: int, owner: User, venue: str | None = None) -> ExchangeCredential:
    """"Test connection": one read-only call (balances) with the stored credentials of ``venue`` (default: the
    account's live venue); the result is stored on the credential and as a VenueCall. Raises NotFound,
    VenueNotConfigured (no credentials)."""
    account = Account.objects.filter(pk=account_id, owner=owner).first()
    if account is None:
        raise NotFound(f"account {account_id} not found")
    venue = venue or account.live_venue
    credential = ExchangeCredential.objects.filter(account=account, exchange=venue).first()
    if credential is None:
        raise VenueNotConfigured(f"account {account_id} has no {venue or 'venue'} credentials")
    api_key, secret = credential_reveal(credential=credential)
    adapter = live_adapter(venue=venue, api_key=api_key, secret=secret)
    try:
        health = adapter.health()
    finally:
        adapter.close()
    now = timezone.now()
    ExchangeCredential.objects.filter(pk=credential.pk).update(tested_at=now, tested_ok=health.ok,
                                                               tested_detail=health.detail[:1000])
    VenueCall.objects.create(account=account, venue=venue, action="test", ok=health.ok, by_user=owner, at=now,
                             response={"detail": health.detail[:1000], "latency_ms": health.latency_ms})
    credential.refresh_from_db()
    return credential


# ---------------------------------------------------------------- placement


def _record(account: Account, action: str, *, ok: bool, order: Order | None = None, request: dict | None = None,
            response: dict | None = None, by_user: User | None = None) -> VenueCall:
    return VenueCall.objects.create(account=account, venue=account.live_venue or "paper", action=action, ok=ok,
                                    order=order, request=request or {}, response=response or {}, by_user=by_user)


def _order_json(venue_order: VenueOrder) -> dict:
    return {"venue_order_id": venue_order.venue_order_id, "status": venue_order.status,
            "quantity": f"{venue_order.quantity:f}", "filled_quantity": f"{venue_order.filled_quantity:f}",
            "average_price_usd": f"{venue_order.average_price_usd:f}" if venue_order.average_price_usd else None,
            "reason": venue_order.reason}


def _daily_notional(account: Account, now: datetime) -> Decimal:
    start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    total = (Order.objects.filter(account=account, created_at__gte=start, created_at__lt=start + timedelta(days=1))
             .exclude(status__in=(OrderStatus.REJECTED, OrderStatus.FAILED))
             .aggregate(total=Sum("expected_notional_usd"))["total"])
    return total or ZERO


def _plain(value: Decimal) -> str:
    """``value`` in a reason text: plain notation, no trailing zeros."""
    return f"{value.normalize():f}"


def _live_block_reason(account: Account, order: Order, positions: dict[str, Position], source: PriceSource,
                       now: datetime) -> str | None:
    """Why the live ``order`` may not be sent (None = it may): gates, halt, strategy, prices, the live caps and
    band, the daily-loss rule (a breach halts; the flatten runs after commit, off the lock), then the paper rules."""
    gate = live_block_reason(account)
    if gate is not None:
        return gate
    if account.halted:
        return f"account_halted: {account.halted_reason}"
    strategy = order.strategy
    if strategy is not None and strategy.status != StrategyStatus.ACTIVE:
        return f"strategy_paused: strategy {strategy.pk} is {strategy.status}"
    mid = source(order.symbol, now)
    if mid is None:
        return f"missing_price: {account.live_venue} has no mid price for {order.symbol}"
    if order.type == OrderType.MARKET:
        reference = order.reference_price_usd
        if reference is None or reference <= 0:
            return (f"price_band_percent: no reference price for {order.symbol} (no signal price and no stored "
                    "market price); a live market order needs one")
        moved = abs(mid - reference) / reference * HUNDRED
        if moved > account.price_band_percent:
            return (f"price_band_percent: the venue mid {_plain(mid)} is {moved.quantize(Decimal('0.01'))}% from "
                    f"the reference {_plain(reference)}, band {_plain(account.price_band_percent)}%")
    if order.side == OrderSide.SELL:
        reserved = _open_sells(account, order)
        if reserved > 0:
            held = positions[order.symbol].quantity if order.symbol in positions else ZERO
            if order.quantity > held - reserved:
                return (f"no_shorting: sell {_plain(order.quantity)} {order.symbol} exceeds position {_plain(held)} "
                        f"less {_plain(reserved)} in open sell orders")
    notional = q_usd(order.quantity * (order.limit_price_usd or mid))  # as stored (expected_notional_usd)
    if notional > account.max_order_notional_usd:
        return (f"max_order_notional_usd: order notional {_plain(q_usd(notional))} USD exceeds "
                f"{_plain(account.max_order_notional_usd)} USD")
    today = _daily_notional(account, now)
    if today + notional > account.max_daily_notional_usd:
        return (f"max_daily_notional_usd: {_plain(q_usd(today))} USD today + {_plain(q_usd(notional))} USD exceeds "
                f"{_plain(account.max_daily_notional_usd)} USD")
    snapshot = _snapshot(account, positions, source, now, orders_today=_orders_today(account, now, order.pk),
                         strategy_id=order.strategy_id)
    missing = unpriced_symbols(snapshot)
    if missing:
        return f"missing_price: {account.live_venue} has no mid price for {', '.join(missing)}"
    if account.start_of_day_date != now.astimezone(UTC).date() or account.start_of_day_value_usd is None:
        from trading.safety import portfolio_value

        account.start_of_day_value_usd = q_usd(portfolio_value(snapshot))
        account.start_of_day_date = now.astimezone(UTC).date()
        account.save(update_fields=["start_of_day_value_usd", "start_of_day_date", "updated_at"])
    else:
        violation = daily_loss_violation(snapshot)
        if violation is not None:
            _halt(account, reason=str(violation), by_user=None, now=now)
            if account.flatten_on_daily_loss:
                emergency_stop_later(account.pk, flatten=True, reason=str(violation))
            return f"{violation}; account halted"
    quote = PaperExchange(slippage_bps=account.slippage_bps, fee_bps=account.fee_bps).quote(
        ticket=_ticket(order), mark_usd=mid)
    intent = Intent(symbol=order.symbol, side=order.side, quantity=order.quantity, price_usd=quote.price_usd,
                    mark_usd=mid, fee_usd=quote.fee_usd)
    violations = pre_trade_violations(snapshot, intent)
    return "; ".join(str(v) for v in violations) or None


def _open_sells(account: Account, order: Order) -> Decimal:
    """What the account's other sells of ``order.symbol`` still open or unknown at the venue may still sell."""
    rows = (Order.objects.filter(account=account, symbol=order.symbol, side=OrderSide.SELL, status__in=OPEN_OR_UNKNOWN)
            .exclude(pk=order.pk).values_list("quantity", "filled_quantity"))
    return sum((quantity - filled for quantity, filled in rows), ZERO)


def emergency_stop_later(account_id: int, *, flatten: bool, reason: str) -> None:
    """Queue the emergency stop of ``account_id`` (``trading.emergency_stop``) once the caller's transaction
    commits: the venue is never called under the account's lock."""
    from trading.tasks import emergency_stop

    transaction.on_commit(lambda: emergency_stop.delay(account_id=account_id, flatten=flatten, reason=reason),
                          robust=True)


def _mids_source(adapter: VenueAdapter, symbols: list[str]) -> PriceSource:
    """The venue's mids of ``symbols``, fetched now (before any lock), as a PriceSource."""
    mids: dict[str, Decimal | None] = {}
    for symbol in symbols:
        try:
            mids[symbol] = adapter.mid(symbol)
        except VenueError as exc:
            logger.warning("trading.live.mid_failed", extra={"symbol": symbol, "error": str(exc)})
            mids[symbol] = None

    def source(symbol: str, when: datetime) -> Decimal | None:
        return mids.get(symbol)

    return source


def live_order_place(*, account_id: int, symbol: str, side: str, quantity: Decimal, client_order_id: str,
                     order_type: str = OrderType.MARKET, limit_price_usd: Decimal | None = None,
                     strategy_id: int | None = None, reference_price_usd: Decimal | None = None,
                     reduce_only: bool = False, lot_round: bool = False, now: datetime | None = None) -> Order:
    """Place a live order (called by ``trading.services.order_place`` for a live-mode account; input already
    validated and the symbol canonical). Idempotent on (account, client_order_id): a retry returns the stored
    order and sends nothing. Returns the order as the venue left it; a refusal by our checks or by the venue is a
    ``rejected`` order with the reason, a venue that could not be reached a ``failed`` one, a timeout an
    ``unknown`` one (resolved by ``order_resolve``, queued after commit). ``reference_price_usd``: the signal's
    price for the band (default: the stored market price). ``lot_round``: cut the quantity down to the venue's lot
    size (a strategy's sized quantity) instead of refusing one with more decimals than the venue takes (a manual
    order). Raises: TradingError (also for a quantity that rounds to 0); Account.DoesNotExist."""
    now = now or timezone.now()
    account = Account.objects.get(pk=account_id)
    existing = Order.objects.filter(account=account, client_order_id=client_order_id).first()
    if existing is not None:
        return existing
    if reference_price_usd is None and order_type == OrderType.MARKET:
        reference_price_usd = market_price(symbol, now)
    try:
        adapter: VenueAdapter | None = adapter_for(account)
    except VenueNotConfigured:
        adapter = None
    try:
        if adapter is not None:
            try:
                rounded = adapter.quantity_round(symbol, quantity)
            except VenueError:
                rounded = quantity
            if rounded != quantity and lot_round and rounded > 0:
                quantity = rounded
            elif rounded != quantity:
                raise TradingError(f"quantity {quantity} has more decimals than {account.live_venue} takes for "
                                   f"{symbol}; round it to {rounded}")
        held = list(Position.objects.filter(account=account).values_list("symbol", flat=True))
        source = _mids_source(adapter, sorted({symbol, *held})) if adapter is not None else (lambda s, w: None)
        with localcontext(DECIMAL_CONTEXT), transaction.atomic():
            account = Account.objects.select_for_update().get(pk=account_id)
            existing = Order.objects.filter(account=account, client_order_id=client_order_id).first()
            if existing is not None:
                return existing
            positions = _lock_positions(account)
            strategy = None
            if strategy_id is not None:
                strategy = Strategy.objects.filter(pk=strategy_id, account=account).first()
                if strategy is None:
                    raise TradingError(f"strategy {strategy_id} is not a strategy of account {account_id}")
            order = Order.objects.create(
                account=account, strategy=strategy, client_order_id=client_order_id, symbol=symbol, side=side,
                type=order_type, quantity=quantity, limit_price_usd=limit_price_usd, created_at=now,
                status=OrderStatus.PENDING, venue=account.live_venue or "paper",
                cloid=cloid_for(client_order_id, account_id=account_id), reduce_only=reduce_only,
                reference_price_usd=q_price(reference_price_usd) if reference_price_usd else None)
            reason = (_live_block_reason(account, order, positions, source, now) if adapter is not None
                      else live_block_reason(account) or "live_gate_credentials: no venue credentials stored")
            if reason is not None:
                return _reject(order, reason)
            mid = source(symbol, now)
            assert mid is not None
            order.expected_notional_usd = q_usd(quantity * (limit_price_usd or mid))
            order.status, order.submitted_at = OrderStatus.SUBMITTED, now
            order.save(update_fields=["expected_notional_usd", "status", "submitted_at"])
        assert adapter is not None
        request = PlaceRequest(cloid=order.cloid, symbol=symbol, side=side, quantity=quantity,
                               limit_price_usd=limit_price_usd, reference_price_usd=mid,
                               max_slippage_percent=account.price_band_percent, reduce_only=reduce_only)
        return _send(adapter, account, order, request)
    finally:
        if adapter is not None:
            adapter.close()


def _request_json(request: PlaceRequest) -> dict:
    return {"cloid": request.cloid, "symbol": request.symbol, "side": request.side,
            "quantity": f"{request.quantity:f}",
            "limit_price_usd": f"{request.limit_price_usd:f}" if request.limit_price_usd else None,
            "reference_price_usd": f"{request.reference_price_usd:f}" if request.reference_price_usd else None,
            "reduce_only": request.reduce_only}


def _send(adapter: VenueAdapter, account: Account, order: Order, request: PlaceRequest,
          by_user: User | None = None) -> Order:
    """Send a stored ``submitted`` order (no lock held) and record what the venue said."""
    try:
        venue_order = adapter.place(request)
    except VenueTimeout as exc:
        Order.objects.filter(pk=order.pk, status=OrderStatus.SUBMITTED).update(status=OrderStatus.UNKNOWN,
                                                                                reject_reason=str(exc)[:500])
        _record(account, "place", ok=False, order=order, request=_request_json(request),
                response={"error": "timeout", "detail": str(exc)[:500]}, by_user=by_user)
        from trading.tasks import resolve_order

        order_id, delay = order.pk, venue_resolve_delay_s()
        transaction.on_commit(lambda: resolve_order.apply_async(kwargs={"order_id": order_id}, countdown=delay),
                              robust=True)
        logger.warning("trading.live.order_unknown", extra={"order": order.pk, "error": str(exc)})
        return Order.objects.get(pk=order.pk)
    except VenueRejected as exc:
        _record(account, "place", ok=False, order=order, request=_request_json(request),
                response={"error": "rejected", "detail": str(exc)[:500]}, by_user=by_user)
        with transaction.atomic():
            locked = Order.objects.select_for_update().get(pk=order.pk)
            return _reject(locked, f"venue_rejected: {exc}"[:2000])
    except VenueUnavailable as exc:
        _record(account, "place", ok=False, order=order, request=_request_json(request),
                response={"error": "unavailable", "detail": str(exc)[:500]}, by_user=by_user)
        Order.objects.filter(pk=order.pk).update(status=OrderStatus.FAILED,
                                                 reject_reason=f"venue_unavailable: {exc}"[:2000])
        return Order.objects.get(pk=order.pk)
    _record(account, "place", ok=True, order=order, request=_request_json(request),
            response=_order_json(venue_order), by_user=by_user)
    return _settle(adapter, account.pk, order.pk, venue_order)


def venue_resolve_delay_s() -> float:
    """Seconds before an unknown order is first looked up (``TRADING_RESOLVE_DELAY_S``, default 5)."""
    return float(getattr(settings, "TRADING_RESOLVE_DELAY_S", 5.0))


def _settle(adapter: VenueAdapter, account_id: int, order_id: int, venue_order: VenueOrder) -> Order:
    """Apply the venue's view of one order: its id, its state, and its fills (read from the venue, booked once)."""
    fills: list[VenueFill] = []
    if venue_order.filled_quantity > 0:
        order = Order.objects.get(pk=order_id)
        since = (order.submitted_at or order.created_at) - FILL_LOOKBACK
        try:
            fills = [f for f in adapter.fills_since(since) if f.venue_order_id == venue_order.venue_order_id]
        except VenueError as exc:  # the reconciliation imports them later
            logger.warning("trading.live.fills_deferred", extra={"order": order_id, "error": str(exc)})
    with localcontext(DECIMAL_CONTEXT), transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_id)
        positions = _lock_positions(account)
        order = Order.objects.select_for_update().get(pk=order_id)
        _order_update(order, venue_order)
        _fills_book(account, positions, fills)
        order.refresh_from_db()
    return order


def _order_update(order: Order, venue_order: VenueOrder) -> None:
    """Our order's venue id and state from the venue's (fills set filled/partially filled themselves)."""
    fields = []
    if venue_order.venue_order_id and order.venue_order_id != venue_order.venue_order_id:
        order.venue_order_id = venue_order.venue_order_id
        fields.append("venue_order_id")
    now = timezone.now()
    if venue_order.status == VenueStatus.CANCELLED and order.status in OPEN_OR_UNKNOWN:
        order.status, order.cancelled_at = OrderStatus.CANCELLED, now
        fields += ["status", "cancelled_at"]
    elif venue_order.status == VenueStatus.REJECTED and order.status in OPEN_OR_UNKNOWN:
        order.status, order.reject_reason = OrderStatus.REJECTED, f"venue_rejected: {venue_order.reason}"[:2000]
        fields += ["status", "reject_reason"]
    elif order.status in (OrderStatus.UNKNOWN, OrderStatus.PENDING):
        order.status = OrderStatus.SUBMITTED
        order.submitted_at = order.submitted_at or now
        fields += ["status", "submitted_at"]
    if fields:
        order.save(update_fields=fields)


@dataclass
class BookResult:
    """What ``_fills_book`` did: fills booked, and fills it could not book with why."""

    booked: int = 0
    refused: list[tuple[VenueFill, str]] = field(default_factory=list)


def _fills_book(account: Account, positions: dict[str, Position], fills: list[VenueFill]) -> BookResult:
    """Book venue fills not booked yet (by venue fill id), each against our order (by venue id, then cloid), in a
    savepoint of its own. A fill of an order we do not know, or one that would overfill or oversell, is refused."""
    result = BookResult()
    venue = account.live_venue or "paper"
    ids = [f.venue_fill_id for f in fills]
    done = set(account.fills.filter(venue=venue, venue_fill_id__in=ids).values_list("venue_fill_id", flat=True))
    for fill in fills:
        if fill.venue_fill_id in done:
            continue
        order = (Order.objects.select_for_update().filter(account=account, venue=venue,
                                                          venue_order_id=fill.venue_order_id).first()
                 if fill.venue_order_id else None)
        if order is None and fill.cloid:
            order = Order.objects.select_for_update().filter(account=account, cloid=fill.cloid).first()
        if order is None:  # a venue without client ids whose answer gave no id (Coinspot's buy now)
            order = (Order.objects.select_for_update()
                     .filter(account=account, venue=venue, venue_order_id="", symbol=fill.symbol, side=fill.side,
                             quantity__gte=fill.quantity, submitted_at__lte=fill.filled_at + FILL_LOOKBACK)
                     .exclude(status__in=(OrderStatus.REJECTED, OrderStatus.FAILED, OrderStatus.PENDING))
                     .order_by("submitted_at", "id").first())
        if order is None:
            result.refused.append((fill, "a fill of an order we did not place"))
            continue
        if fill.fee_asset:  # a fee in a token (e.g. a spot buy's fee in the coin bought) cannot be booked as USD
            result.refused.append((fill, f"its fee of {fill.fee_usd} was paid in {fill.fee_asset}, not in the quote: "
                                         "not booked, check the venue"))
            continue
        if order.filled_quantity + fill.quantity > order.quantity or fill.side != order.side:
            result.refused.append((fill, f"does not fit order {order.pk} ({order.side} {order.quantity}, "
                                         f"{order.filled_quantity} filled)"))
            continue
        if not order.venue_order_id:
            order.venue_order_id = fill.venue_order_id
            order.save(update_fields=["venue_order_id"])
        price = q_price(fill.price_usd)
        # The venue's own notional when it gives one: it rounds price x quantity its own way (Coinspot half-up to
        # 8 places), and our cash must move by what the venue's balance moved.
        notional = fill.notional_usd if fill.notional_usd is not None else fill.quantity * price
        execution = Execution(price_usd=price, quantity=fill.quantity, notional_usd=q_usd(notional),
                              fee_usd=q_usd(fill.fee_usd))
        try:
            with transaction.atomic():
                _apply_fill(account, order, execution, positions, fill.filled_at, venue_fill_id=fill.venue_fill_id)
        except TradingError as exc:
            positions.clear()
            positions.update(_lock_positions(account))
            account.refresh_from_db()
            order.refresh_from_db()
            result.refused.append((fill, str(exc)))
            continue
        done.add(fill.venue_fill_id)
        result.booked += 1
    return result


def live_order_cancel(*, account_id: int, order_id: int, by_user: User | None = None) -> Order:
    """Cancel a live order at its venue (no lock held during the call), then ours: cancelled when the venue
    cancelled it, else settled from the venue's state (it filled meanwhile). Recorded as a VenueCall. Raises:
    OrderNotOpen (not open; nothing sent), LiveRefused (still unknown or without a venue id: it is being resolved),
    Order.DoesNotExist; the venue's errors (VenueError) when it could not be asked."""
    from trading.services import OrderNotOpen

    order = Order.objects.select_related("account").get(pk=order_id, account_id=account_id)
    if order.status not in OPEN_OR_UNKNOWN:
        raise OrderNotOpen(f"order {order_id} is {order.status}, not open")
    if order.status == OrderStatus.UNKNOWN or not order.venue_order_id:
        raise LiveRefused(f"order {order_id} has no answer from {order.venue} yet; it is being resolved, cancel it "
                          "after that")
    account = order.account
    adapter = adapter_for(account)
    try:
        try:
            done = adapter.cancel(venue_order_id=order.venue_order_id, symbol=order.symbol, side=order.side)
        except VenueError as exc:
            _record(account, "cancel", ok=False, order=order, by_user=by_user,
                    request={"venue_order_id": order.venue_order_id}, response={"error": str(exc)[:500]})
            raise
        _record(account, "cancel", ok=True, order=order, by_user=by_user,
                request={"venue_order_id": order.venue_order_id}, response={"cancelled": done})
        found = adapter.order_lookup(cloid=order.cloid, symbol=order.symbol, side=order.side,
                                     quantity=order.quantity,
                                     placed_after=(order.submitted_at or order.created_at) - FILL_LOOKBACK,
                                     venue_order_id=order.venue_order_id, exclude=_claimed(account, order))
        if found is None and done:
            found = VenueOrder(venue_order_id=order.venue_order_id, symbol=order.symbol, side=order.side,
                               status=VenueStatus.CANCELLED, quantity=order.quantity)
        if found is not None and done and found.status in (VenueStatus.OPEN, VenueStatus.PARTIALLY_FILLED):
            found = VenueOrder(venue_order_id=found.venue_order_id, symbol=found.symbol, side=found.side,
                               status=VenueStatus.CANCELLED, quantity=found.quantity,
                               filled_quantity=found.filled_quantity)
        return _settle(adapter, account.pk, order.pk, found) if found is not None else Order.objects.get(pk=order.pk)
    finally:
        adapter.close()


# ---------------------------------------------------------------- resolution


def _claimed(account: Account, order: Order) -> frozenset[str]:
    """The venue ids the account's other orders hold: a lookup by coin, side and quantity (a venue without client
    ids) must not hand one of them to ``order`` as well."""
    return frozenset(Order.objects.filter(account=account).exclude(pk=order.pk).exclude(venue_order_id="")
                     .values_list("venue_order_id", flat=True))


def order_resolve(*, order_id: int) -> Order:
    """Settle an ``unknown`` order from the venue: found (by cloid, or on Coinspot by its history) -> its state and
    fills; not found -> ``failed`` ("not placed"), and nothing is resent. A venue still unreachable leaves it
    unknown (the next reconciliation tries again). Returns the order."""
    order = Order.objects.select_related("account").get(pk=order_id)
    if order.status != OrderStatus.UNKNOWN:
        return order
    account = order.account
    adapter = adapter_for(account)
    try:
        placed_after = (order.submitted_at or order.created_at) - FILL_LOOKBACK
        try:
            found = adapter.order_lookup(cloid=order.cloid, symbol=order.symbol, side=order.side,
                                         quantity=order.quantity, placed_after=placed_after,
                                         venue_order_id=order.venue_order_id, exclude=_claimed(account, order))
        except VenueError as exc:
            _record(account, "resolve", ok=False, order=order, response={"error": str(exc)[:500]})
            return order
        if found is None:
            _record(account, "resolve", ok=True, order=order, response={"found": False})
            Order.objects.filter(pk=order.pk, status=OrderStatus.UNKNOWN).update(
                status=OrderStatus.FAILED, reject_reason="not placed: after the submit timed out the venue has no "
                                                         f"order {order.cloid}; nothing was resent")
            return Order.objects.get(pk=order.pk)
        _record(account, "resolve", ok=True, order=order, response={"found": True, **_order_json(found)})
        return _settle(adapter, account.pk, order.pk, found)
    finally:
        adapter.close()


# ---------------------------------------------------------------- reconciliation


def reconcile_tolerance() -> Decimal:
    """Largest position difference (asset units) that is not a drift (``TRADING_RECONCILE_TOLERANCE``)."""
    return Decimal(str(getattr(settings, "TRADING_RECONCILE_TOLERANCE", "0.00000001")))


def account_reconcile(*, account_id: int, now: datetime | None = None) -> Reconciliation:
    """Compare the account's book with its venue's; import missed fills; settle open and unknown orders; on a drift
    beyond the tolerance halt the account, record a ``data_quality`` event and alert staff. Idempotent: a second
    run imports nothing twice. A venue that fails mid-way gives an ``error`` row and changes nothing. Returns the
    Reconciliation row. Raises: LiveRefused for a paper account (nothing to reconcile)."""
    now = now or timezone.now()
    account = Account.objects.get(pk=account_id)
    if account.mode != AccountMode.LIVE or not account.live_venue:
        raise LiveRefused(f"account {account_id} is a paper account: its book is its own venue, there is nothing "
                          "to reconcile")
    adapter = adapter_for(account)
    since = (account.fills_synced_at or account.created_at) - FILL_LOOKBACK
    in_flight = timedelta(seconds=2 * venue_timeout_s() + 5)
    try:
        try:
            venue_fills = adapter.fills_since(since)
            venue_open = adapter.open_orders()
            # A submitted order without the venue's id younger than two timeouts may still be on its way.
            ours_open = list(Order.objects.filter(account=account, status__in=OPEN_OR_UNKNOWN)
                             .exclude(venue_order_id="", status=OrderStatus.SUBMITTED,
                                      submitted_at__gt=now - in_flight))
            open_ids = {o.venue_order_id for o in venue_open}
            lookups: dict[int, VenueOrder | None] = {}
            taken: set[str] = set()  # ids this run already gave to one of our orders
            for order in ours_open:
                if order.venue_order_id and order.venue_order_id in open_ids:
                    continue
                found = lookups[order.pk] = adapter.order_lookup(
                    cloid=order.cloid, symbol=order.symbol, side=order.side, quantity=order.quantity,
                    placed_after=(order.submitted_at or order.created_at) - FILL_LOOKBACK,
                    venue_order_id=order.venue_order_id, exclude=_claimed(account, order) | taken)
                if found is not None and found.venue_order_id:
                    taken.add(found.venue_order_id)
            # Only the symbols this account trades are ours to compare: other holdings of the same venue account
            # (a Coinspot wallet's coins, a position opened by hand) are not this book's.
            traded = set(Order.objects.filter(account=account).exclude(venue="paper")
                         .values_list("symbol", flat=True).distinct())
            venue_positions = {p.symbol: p.quantity for p in adapter.positions() if p.symbol in traded}
            # An order the venue filled further than we booked, from before this window: read back to its submit.
            behind = [o for o in ours_open if (f := lookups.get(o.pk)) is not None
                      and f.filled_quantity > o.filled_quantity and (o.submitted_at or o.created_at) < since]
            if behind:
                earliest = min(o.submitted_at or o.created_at for o in behind) - FILL_LOOKBACK
                seen = {f.venue_fill_id for f in venue_fills}
                venue_fills += [f for f in adapter.fills_since(earliest) if f.venue_fill_id not in seen]
        except VenueError as exc:
            return Reconciliation.objects.create(account=account, started_at=now, finished_at=timezone.now(),
                                                 status=ReconcileStatus.ERROR, detail=str(exc)[:2000])
    finally:
        adapter.close()
    with localcontext(DECIMAL_CONTEXT), transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_id)
        positions = _lock_positions(account)
        updated = 0
        for order in Order.objects.select_for_update().filter(pk__in=list(lookups)):
            found = lookups[order.pk]
            if found is None:
                if order.status == OrderStatus.UNKNOWN or not order.venue_order_id:
                    order.status = OrderStatus.FAILED
                    order.reject_reason = f"not placed: the venue has no order {order.cloid}; nothing was resent"
                    order.save(update_fields=["status", "reject_reason"])
                    updated += 1
                continue
            _order_update(order, found)
            updated += 1
        booked = _fills_book(account, positions, venue_fills)
        tolerance = reconcile_tolerance()
        drift: list[dict] = []
        for order in Order.objects.filter(pk__in=list(lookups)).order_by("pk"):
            found = lookups[order.pk]
            # Only a venue's "filled" is a definite quantity (a cancelled or rejected order's sizes are less sure).
            if (found is not None and found.status == VenueStatus.FILLED
                    and found.filled_quantity - order.filled_quantity > tolerance):
                drift.append({"kind": "order_fills", "order": found.venue_order_id, "symbol": order.symbol,
                              "ours": _plain(order.filled_quantity), "venue": _plain(found.filled_quantity)})
        ours = {s: p.quantity for s, p in positions.items()}
        for symbol in sorted(set(ours) | set(venue_positions)):
            mine, theirs = ours.get(symbol, ZERO), venue_positions.get(symbol, ZERO)
            if abs(mine - theirs) > tolerance:
                drift.append({"kind": "position", "symbol": symbol, "ours": _plain(mine), "venue": _plain(theirs)})
        known = set(Order.objects.filter(account=account, venue_order_id__in=list(open_ids))
                    .values_list("venue_order_id", flat=True))
        for venue_order in venue_open:
            if venue_order.venue_order_id not in known:
                drift.append({"kind": "unknown_open_order", "order": venue_order.venue_order_id,
                              "symbol": venue_order.symbol, "ours": None,
                              "venue": f"{venue_order.side} {venue_order.quantity:f}"})
        for fill, why in booked.refused:
            drift.append({"kind": "fill", "order": fill.venue_order_id, "symbol": fill.symbol,
                          "ours": why, "venue": f"{fill.side} {fill.quantity:f} @ {fill.price_usd:f}"})
        newest = max((f.filled_at for f in venue_fills), default=None)
        account.fills_synced_at = max(filter(None, [account.fills_synced_at, newest, now - timedelta(minutes=10)]))
        account.save(update_fields=["fills_synced_at", "updated_at"])
        row = Reconciliation.objects.create(
            account=account, started_at=now, finished_at=timezone.now(),
            status=ReconcileStatus.DRIFT if drift else ReconcileStatus.OK, fills_imported=booked.booked,
            orders_updated=updated, drift=drift,
            detail=f"{booked.booked} fill(s) imported, {updated} order(s) settled, {len(drift)} drift(s)")
        if drift:
            _drift_raise(account, row, now)
    return row


def _drift_raise(account: Account, row: Reconciliation, now: datetime) -> None:
    """Halt the account, record a data_quality event and alert staff (inside the caller's transaction)."""
    from alerts.services import events_publish, staff_alert
    from whales.models import EventType
    from whales.services import event_record

    kinds = sorted({d["kind"] for d in row.drift})
    reason = f"reconciliation_drift: {len(row.drift)} difference(s) with {account.live_venue} ({', '.join(kinds)})"
    if not account.halted:
        _halt(account, reason=reason, by_user=None, now=now)
    summary = (f"Live trading: account {account.pk}'s book differs from {account.live_venue or 'its venue'} "
               f"({', '.join(kinds)}); the account is halted")
    event, created = event_record(chain="", type=EventType.DATA_QUALITY, tx_hash=f"reconcile:{row.pk}",
                                  whale_id=None, block_time=now, summary=summary, value_usd=None,
                                  details={"ledger": "trading", "kind": "reconciliation_drift",
                                           "account": account.pk, "venue": account.live_venue,
                                           "drift": row.drift[:20]})
    if created:
        events_publish(event_ids=[event.pk])
    staff_alert(subject=f"WhaleTrack live trading: drift on account {account.pk}",
                lines=[summary] + [f"{d['kind']} {d.get('symbol') or ''} ours={d['ours']} venue={d['venue']}"
                                   for d in row.drift[:20]], events=[event])


def live_accounts_reconcile() -> dict[int, str]:
    """Reconcile every live-mode account with a venue (the beat row's job); {account id: status}. One failing
    account is logged and skipped."""
    out: dict[int, str] = {}
    ids = Account.objects.filter(mode=AccountMode.LIVE).exclude(live_venue="").order_by("pk").values_list(
        "pk", flat=True)
    for account_id in ids:
        try:
            out[account_id] = account_reconcile(account_id=account_id).status
        except Exception:  # one account's broken credentials must not stop the others' reconciliation
            logger.exception("trading.live.reconcile_failed", extra={"account": account_id})
            out[account_id] = "failed"
    return out


# ---------------------------------------------------------------- emergency stop


@dataclass
class StopReport:
    """What the emergency stop did: orders cancelled at the venue, orders that were no longer open, flatten orders
    placed, and steps that failed (each also a VenueCall with the venue's answer)."""

    cancelled: list[str] = field(default_factory=list)
    already_closed: list[str] = field(default_factory=list)
    flatten_orders: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def account_emergency_stop(*, account_id: int, by_user: User | None = None, flatten: bool = False,
                           reason: str = "") -> StopReport:
    """Halt the account, cancel every open order at its venue, and with ``flatten`` close this book's positions
    (each capped by what the venue holds) with reduce-only market orders. Each step is a VenueCall with the
    venue's answer; our orders follow the venue. Safe to repeat. Returns the StopReport."""
    now = timezone.now()
    report = StopReport()
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_id)
        if not account.halted:
            _halt(account, reason=f"emergency_stop: {reason or 'pressed'}", by_user=by_user, now=now)
        AccountAudit.objects.create(account=account, action="emergency_stop", reason=reason, by_user=by_user, at=now)
    adapter = adapter_for(account)
    try:
        try:
            venue_open = adapter.open_orders()
            _record(account, "list_open_orders", ok=True, by_user=by_user,
                    response={"orders": [_order_json(o) for o in venue_open]})
        except VenueError as exc:
            venue_open = []
            report.failures.append(f"open orders: {exc}")
            _record(account, "list_open_orders", ok=False, by_user=by_user, response={"error": str(exc)[:500]})
        for venue_order in venue_open:
            order = Order.objects.filter(account=account, venue_order_id=venue_order.venue_order_id).first()
            try:
                done = adapter.cancel(venue_order_id=venue_order.venue_order_id, symbol=venue_order.symbol,
                                      side=venue_order.side)
            except VenueError as exc:
                report.failures.append(f"cancel {venue_order.venue_order_id}: {exc}")
                _record(account, "cancel", ok=False, order=order, by_user=by_user,
                        request={"venue_order_id": venue_order.venue_order_id}, response={"error": str(exc)[:500]})
                continue
            (report.cancelled if done else report.already_closed).append(venue_order.venue_order_id)
            _record(account, "cancel", ok=True, order=order, by_user=by_user,
                    request={"venue_order_id": venue_order.venue_order_id},
                    response={"cancelled": done})
            if order is not None and not adapter.is_simulated_book:
                Order.objects.filter(pk=order.pk, status__in=OPEN_OR_UNKNOWN).update(
                    status=OrderStatus.CANCELLED, cancelled_at=timezone.now())
        if flatten and adapter.is_simulated_book:
            _flatten_paper(account.pk, report, now)
        elif flatten:
            _flatten_at_venue(adapter, account, by_user, report, now)
    finally:
        adapter.close()
    logger.warning("trading.live.emergency_stop", extra={"account": account_id, "cancelled": len(report.cancelled),
                                                         "failures": len(report.failures)})
    return report


def _flatten_paper(account_id: int, report: StopReport, now: datetime) -> None:
    """A paper account's flatten: the paper engine's own (``trading.services._flatten``), prices fetched first."""
    from trading.services import _flatten, _prefetched_source, memoized

    source = memoized(_prefetched_source(account_id))
    with localcontext(DECIMAL_CONTEXT), transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_id)
        positions = _lock_positions(account)
        for order in _flatten(account, positions, source, now, trigger="emergency stop"):
            report.flatten_orders.append(order.pk)
            if order.status == OrderStatus.REJECTED:
                report.failures.append(f"flatten {order.symbol}: {order.reject_reason}")


def _flatten_at_venue(adapter: VenueAdapter, account: Account, by_user: User | None, report: StopReport,
                      now: datetime) -> None:
    try:
        venue_positions = adapter.positions()
    except VenueError as exc:
        report.failures.append(f"positions: {exc}")
        _record(account, "flatten", ok=False, by_user=by_user, response={"error": str(exc)[:500]})
        return
    # Only what this book holds is closed, and never more than the venue holds: other holdings of the same venue
    # account (a Coinspot wallet's coins, a position opened by hand) are left alone.
    ours = dict(Position.objects.filter(account=account, quantity__gt=0).values_list("symbol", "quantity"))
    for position in venue_positions:
        quantity = min(ours.get(position.symbol, ZERO), position.quantity)
        if quantity <= 0:
            continue
        side = OrderSide.SELL
        quantity = adapter.quantity_round(position.symbol, quantity)
        client_order_id = f"flatten:{now.isoformat()}:{position.symbol}"
        try:
            mid = adapter.mid(position.symbol)
        except VenueError:
            mid = None
        with transaction.atomic():
            order, _ = Order.objects.get_or_create(
                account=account, client_order_id=client_order_id,
                defaults={"symbol": position.symbol, "side": side, "type": OrderType.MARKET, "quantity": quantity,
                          "created_at": now, "submitted_at": now, "status": OrderStatus.SUBMITTED,
                          "venue": account.live_venue or "paper", "reduce_only": True,
                          "cloid": cloid_for(client_order_id, account_id=account.pk),
                          "reference_price_usd": q_price(mid) if mid else None,
                          "expected_notional_usd": q_usd(quantity * mid) if mid else None})
        if mid is None:
            _reject(order, f"flatten: {account.live_venue} has no mid price for {position.symbol}")
            report.failures.append(f"flatten {position.symbol}: no mid price")
            continue
        request = PlaceRequest(cloid=order.cloid, symbol=position.symbol, side=side, quantity=quantity,
                               reference_price_usd=mid, max_slippage_percent=account.price_band_percent,
                               reduce_only=True)
        placed = _send(adapter, account, order, request, by_user=by_user)
        report.flatten_orders.append(placed.pk)
        if placed.status in (OrderStatus.REJECTED, OrderStatus.FAILED):
            report.failures.append(f"flatten {position.symbol}: {placed.reject_reason}")
