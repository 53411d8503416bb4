"""A simulator of Coinspot's documented API v2, for the replay node. NOT a recording.

No recording of Coinspot exists in the shared data, so nothing here replays real Coinspot answers.
The endpoints, request fields, answer shapes and the signing scheme follow Coinspot's API v2
documentation (https://www.coinspot.com.au/v2/api and its read-only page) and the example answers
quoted in ccxt's ``ccxt/coinspot.py`` (4.5.90); behaviour the documentation does not state is a
choice of this simulator and is marked *simulated* below.

Documented and simulated:

- **Auth** (documented): private requests are ``POST`` with a JSON body carrying ``nonce``, header
  ``key`` = the API key and ``sign`` = hex HMAC-SHA512 of the raw body with the key's secret. The
  nonce "must always be greater than the previous requests nonce value": a nonce not strictly greater
  than the last one accepted for that key is refused. The signature is checked (constant-time) before
  the nonce, so a forged request cannot burn nonces. A read-only key may call only ``ro/...``.
- **Errors** (documented shape ``{"status": "error", "message": "..."}``; the docs say every failure
  has a non-200 HTTP status without naming it, so the simulator uses ``ERROR_HTTP_STATUS`` = 400).
  "Coin not found" is the documented example; the other messages are *simulated* wording.
- **Prices** (*simulated*): the default ``last`` of each coin is its latest recorded USD close in
  the CoinGecko daily CSVs (``ledgers.replay.coingecko``: BTC from
  ``btc-usd-max_2010-07-18_to_2026-01-31.csv``, 2026-01-31; ETH from ``eth-usd-max.csv``,
  2025-06-05), with bid = ask = last because no spread is recorded. ``POST
  /_replay/coinspot/prices`` moves them.
- **Quote currency** (*simulated*): one market per coin, ``COIN/USDT`` (markettype ``USDT``), with
  USDT taken at par with the USD of the recordings. A request without ``markettype`` (Coinspot's
  default is AUD) means USDT here; ``AUD`` is refused with "Market not found" (no AUD price is
  recorded). The ``aud*`` fields of answers (``audbalance``, ``audfeeExGst``, ``audGst``,
  ``audtotal``) carry USDT amounts for the same reason; ``amounttype`` ``"aud"`` and ``"usdt"`` both
  mean an amount in the quote currency.
- **Fee** (*simulated* as a constant): ``FEE_RATE`` = 0.1 % of the quote amount, Coinspot's published
  fee for Market Orders ("Australia's lowest fee of 0.1%", help centre article "Market Orders
  (COIN/AUD)"), charged on every fill (buy now, sell now, and market orders), GST-inclusive as
  Coinspot's fees are: ``audGst`` = fee / 11, ``audfeeExGst`` = fee - ``audGst``.
- **Arithmetic** (*simulated*): Decimal throughout; per fill ``total`` = amount x rate and ``fee`` =
  total x FEE_RATE, each rounded half-up to 8 decimals; a buy debits total + fee of the quote, a sell
  credits total - fee. With an amount in the quote currency, ``total`` = that amount and the coin
  amount = total / rate rounded down to 8 decimals. Numbers go out as JSON numbers except the public
  price strings (``latest``), which Coinspot's documented examples show as strings.
- **Buy now / sell now** (``my/buy/now``, ``my/sell/now``): fill at once, in full, at the ask / bid.
  With ``rate``, the fill is refused when the price moved more than ``threshold`` percent (default 0
  here, *simulated*) from ``rate`` in ``direction`` (``UP`` default, ``DOWN``, ``BOTH``).
- **Market orders** (``my/buy``, ``my/sell``, what Coinspot calls a "market order": an order at a
  ``rate`` resting on its market): funds are held while open (a buy holds amount x rate + fee of the
  quote, a sell the coin amount; ``available`` = balance - held). An order fills, at its own rate, as
  soon as the opposite price reaches it (ask <= rate for a buy, bid >= rate for a sell): at once when
  placed, or when the control endpoint moves the price across it. Open ones are listed by
  ``ro/my/orders/market/open``; ``ro/my/orders/limit/open`` lists Coinspot's other kind (limit orders
  of the instant buy/sell page, which the API cannot place), so it is always empty here.
- **History**: each fill is one entry in ``ro/my/orders/completed`` (and, for market orders,
  ``ro/my/orders/market/completed``) with the order's ``id``, ``coin``, ``market``, ``amount``,
  ``rate``, ``total``, ``type`` (``"instant"`` for buy/sell now, ``"market"``), ``created`` (the
  order's submission time), ``solddate`` (fill time), the fee fields and ``audtotal``; newest
  first; ``startdate``/``enddate`` (``YYYY-MM-DD`` UTC days, both included, or ISO-8601 instants, or
  epoch milliseconds) filter on ``solddate``; ``limit`` default 200, at most 500. Coinspot has no
  client order id: a client whose submit timed out finds its order by coin, side, amount, rate and a
  ``created`` after its submit.

Not simulated: an order book of other users (``orders/open``, ``orders/completed`` public lists),
swaps, quotes, edits, cancel-all, deposits, withdrawals, send/receive, affiliate and referral
payments, the AUD market, rate limits (only injected as a fault), price movement of any kind except
through the control endpoint, and the venue's own rounding and minimum order sizes.

Faults (``POST /_replay/coinspot/faults``): see ``CoinspotSimulator.faults_add``.
"""

import hashlib
import hmac
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ledgers.replay.coingecko import COIN_IDS, CoinGeckoIndex

FEE_RATE = Decimal("0.001")  # 0.1 %: Coinspot's published Market Orders fee (see the module docstring)
GST_DIVISOR = Decimal(11)  # the fee includes 10 % GST: GST = fee / 11
QUOTE = "USDT"
PLACES = Decimal("0.00000001")
ERROR_HTTP_STATUS = 400
COMPLETED_LIMIT_DEFAULT = 200
COMPLETED_LIMIT_MAX = 500
PRIVATE_PREFIX = "/api/v2/"
PUBLIC_PREFIX = "/pubapi/v2/"
# Endpoints that change orders or balances: the default target of accept_then_timeout.
TRADING_ENDPOINTS = frozenset({
    "my/buy", "my/sell", "my/buy/now", "my/sell/now", "my/buy/cancel", "my/sell/cancel"})
FAULT_KINDS = frozenset({"accept_then_timeout", "reject", "partial_fill", "rate_limit", "drop_connection"})

MSG_COIN_NOT_FOUND = "Coin not found"  # the documented example error
MSG_MARKET_NOT_FOUND = "Market not found"
MSG_INVALID_KEY = "Invalid API key"
MSG_INVALID_SIGN = "Invalid signature"
MSG_INVALID_NONCE = "Invalid nonce"
MSG_READ_ONLY = "This API key is read only"
MSG_INSUFFICIENT = "Insufficient funds"
MSG_NOT_FOUND = "Not found"
MSG_ORDER_NOT_FOUND = "Order not found"
MSG_THRESHOLD = "Rate has moved beyond the threshold"

_DEC = re.compile(r'"@@dec:(-?[0-9]+(?:\.[0-9]+)?)@@"')


class _WireDecimal(str):
    """A Decimal that goes out as a JSON number with its exact digits (json cannot do that itself)."""


def _num(value: Decimal) -> _WireDecimal:
    text = format(value.normalize(), "f") if value else "0"
    return _WireDecimal(text)


def _dumps(value: Any) -> bytes:
    def default(obj: Any) -> Any:
        raise TypeError(f"not JSON serializable: {type(obj).__name__}")

    def mark(obj: Any) -> Any:
        if isinstance(obj, _WireDecimal):
            return f"@@dec:{obj}@@"
        if isinstance(obj, dict):
            return {k: mark(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [mark(v) for v in obj]
        return obj

    text = json.dumps(mark(value), separators=(",", ":"), default=default)
    return _DEC.sub(r"\1", text).encode()


def _q(value: Decimal, rounding: str = ROUND_HALF_UP) -> Decimal:
    return value.quantize(PLACES, rounding=rounding)


def _iso(moment: datetime) -> str:
    """Coinspot's documented time format, e.g. ``2020-05-21T13:22:45.000Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _now() -> datetime:
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)  # the wire has milliseconds


class CoinspotError(Exception):
    """A refusal answered as ``{"status": "error", "message": ...}`` with ``http_status``."""

    def __init__(self, message: str, http_status: int = ERROR_HTTP_STATUS) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status


@dataclass(frozen=True)
class CoinspotAnswer:
    """What the server sends: ``status`` and ``body``, extra ``headers``; first waiting ``delay_s``
    seconds; ``drop`` = close the connection without any answer (after the delay)."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop: bool = False


@dataclass
class Price:
    """One market's prices in USDT per coin."""

    bid: Decimal
    ask: Decimal
    last: Decimal


@dataclass
class Order:
    """A market order (``my/buy``/``my/sell``; ``kind="market"``) or a buy/sell now (``kind="instant"``).
    ``amount`` = coin amount still open; ``status``: open, filled, cancelled."""

    id: str
    key: str
    side: str
    kind: str
    coin: str
    amount: Decimal
    rate: Decimal
    created: datetime
    status: str = "open"


@dataclass
class Fill:
    """One completed trade of an order (the whole order, or a share of it)."""

    order_id: str
    key: str
    side: str
    kind: str
    coin: str
    amount: Decimal
    rate: Decimal
    total: Decimal
    fee: Decimal
    created: datetime
    solddate: datetime

    def as_wire(self) -> dict[str, Any]:
        gst = _q(self.fee / GST_DIVISOR)
        paid = self.total + self.fee if self.side == "buy" else self.total - self.fee
        return {"id": self.order_id, "coin": self.coin, "type": self.kind, "market": f"{self.coin}/{QUOTE}",
                "rate": _num(self.rate), "amount": _num(self.amount), "total": _num(self.total),
                "created": _iso(self.created), "solddate": _iso(self.solddate),
                "audfeeExGst": _num(self.fee - gst), "audGst": _num(gst), "audtotal": _num(paid), "otc": False}


@dataclass
class Account:
    """A simulated API key: its secret, read-only flag, balances (symbol -> Decimal) and last nonce."""

    key: str
    secret: str
    readonly: bool
    balances: dict[str, Decimal]
    last_nonce: int | None = None


@dataclass
class Fault:
    """One injected fault (see ``CoinspotSimulator.faults_add``); ``remaining`` = uses left."""

    kind: str
    remaining: int
    path: str | None = None
    message: str = "Request rejected"
    delay_s: float | None = None
    fraction: Decimal | None = None

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "remaining": self.remaining, "path": self.path, "message": self.message,
                "delay_s": self.delay_s, "fraction": None if self.fraction is None else str(self.fraction)}


def default_prices(index: CoinGeckoIndex) -> dict[str, Price]:
    """Default prices: symbol (``"BTC"``) -> Price with bid = ask = last = the latest daily USD close
    of the coin's CoinGecko series (the CSV's number text, exactly). Source: ``index.series``."""
    symbols = {coin_id: symbol.upper() for symbol, coin_id in COIN_IDS.items()}
    prices = {}
    for coin_id, series in index.series.items():
        if coin_id in symbols and series.vs_currency == "usd" and series.rows:
            last = Decimal(series.rows[-1].price)
            prices[symbols[coin_id]] = Price(last, last, last)
    return prices


def _decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise CoinspotError(f"Invalid {name}")
    try:
        result = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise CoinspotError(f"Invalid {name}") from None
    if not result.is_finite():
        raise CoinspotError(f"Invalid {name}")
    return result


def _positive(value: Any, name: str) -> Decimal:
    result = _decimal(value, name)
    if result <= 0:
        raise CoinspotError(f"Invalid {name}")
    return result


def _endpoint(path: str | None) -> str | None:
    """A fault's ``path`` as an endpoint relative to the API root (``my/buy/now``)."""
    if path is None:
        return None
    for prefix in ("/coinspot/api/v2/", "/coinspot/pubapi/v2/", "/api/v2/", "/pubapi/v2/", "/"):
        if path.startswith(prefix):
            return path[len(prefix):].strip("/")
    return path.strip("/")


def _moment(value: Any, *, end: bool) -> datetime:
    """A ``startdate``/``enddate``: ``YYYY-MM-DD`` (a UTC day; ``end`` = its last millisecond),
    an ISO-8601 instant, or epoch milliseconds. Raises: CoinspotError."""
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
                return day + timedelta(days=1, milliseconds=-1) if end else day
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    raise CoinspotError("Invalid " + ("enddate" if end else "startdate"))


class CoinspotSimulator:
    """Coinspot API v2 over the replay node, state in memory, one lock (see the module docstring).

    ``answer`` serves ``/api/v2/...`` (POST) and ``/pubapi/v2/...`` (GET); ``control`` serves the
    node's ``/_replay/coinspot/...`` endpoints. ``fee_rate`` (Decimal) may be changed in process.
    """

    def __init__(self, prices: Mapping[str, Price]) -> None:
        self._defaults = {coin: Price(p.bid, p.ask, p.last) for coin, p in prices.items()}
        self._lock = threading.Lock()
        self._next_id = 0
        self.fee_rate = FEE_RATE
        self._reset()

    def _reset(self) -> None:
        self.prices: dict[str, Price] = {c: Price(p.bid, p.ask, p.last) for c, p in self._defaults.items()}
        self.accounts: dict[str, Account] = {}
        self.orders: dict[str, Order] = {}
        self.fills: list[Fill] = []
        self.faults: list[Fault] = []

    def reset(self) -> None:
        """Back to the start: default prices, no keys, orders or faults."""
        with self._lock:
            self._reset()

    # --- control ----------------------------------------------------------------------------------
    def control(self, verb: str, name: str, body: bytes) -> tuple[int, bytes]:
        """``/_replay/coinspot/<name>``: ``accounts`` (POST), ``prices`` (POST, GET), ``state`` (GET,
        DELETE), ``faults`` (POST, GET, DELETE). Returns (HTTP status, JSON body); 400 ``{"error"}``
        for a bad body, 404/405 otherwise."""
        routes: dict[tuple[str, str], Any] = {
            ("accounts", "POST"): self.account_set, ("prices", "POST"): self.prices_set,
            ("faults", "POST"): self.faults_add,
        }
        try:
            if (name, verb) in routes:
                return 200, _dumps(routes[(name, verb)](json.loads(body or b"null", parse_float=Decimal)))
            if name == "prices" and verb == "GET":
                return 200, _dumps(self.prices_json())
            if name == "state" and verb == "GET":
                return 200, _dumps(self.state())
            if name == "state" and verb == "DELETE":
                self.reset()
                return 200, _dumps({"reset": True})
            if name == "faults" and verb == "GET":
                with self._lock:
                    return 200, _dumps([f.as_json() for f in self.faults])
            if name == "faults" and verb == "DELETE":
                with self._lock:
                    self.faults.clear()
                return 200, _dumps({"cleared": True})
        except (ValueError, TypeError, KeyError, CoinspotError) as exc:
            return 400, _dumps({"error": str(exc)})
        if name in {"accounts", "prices", "state", "faults"}:
            return 405, _dumps({"error": f"{verb} not allowed"})
        return 404, _dumps({"error": "not found"})

    def account_set(self, spec: Any) -> dict[str, Any]:
        """Create or reset a key from ``{"key", "secret", "balances": {"USDT": "10000"}, "readonly"}``
        (balances: symbol -> decimal string or number; readonly default false). Resetting drops the
        key's orders, fills and last nonce. Returns ``{"key", "readonly", "balances"}`` (strings).
        Raises: ValueError for a bad spec."""
        if not isinstance(spec, dict) or not isinstance(spec.get("key"), str) or not spec["key"]:
            raise ValueError("expected {\"key\", \"secret\", \"balances\", \"readonly\"}")
        if not isinstance(spec.get("secret"), str) or not spec["secret"]:
            raise ValueError("secret must be a non-empty string")
        raw = spec.get("balances") or {}
        readonly = spec.get("readonly", False)
        if not isinstance(raw, dict) or not isinstance(readonly, bool):
            raise ValueError("balances must be an object and readonly a boolean")
        balances = {}
        for symbol, amount in raw.items():
            value = _decimal(amount, f"balance of {symbol}")
            if value < 0:
                raise ValueError(f"negative balance of {symbol}")
            balances[str(symbol).upper()] = value
        key = spec["key"]
        with self._lock:
            self.orders = {i: o for i, o in self.orders.items() if o.key != key}
            self.fills = [f for f in self.fills if f.key != key]
            self.accounts[key] = Account(key, spec["secret"], readonly, balances)
        return {"key": key, "readonly": readonly, "balances": {s: str(v) for s, v in balances.items()}}

    def prices_set(self, spec: Any) -> dict[str, Any]:
        """Set prices from ``{"btc": {"bid": "..", "ask": "..", "last": ".."}}`` (any subset of the
        three; a new coin needs all three), then fill the market orders they cross. Returns
        ``{"prices": <prices_json>, "filled": [order ids]}``. Raises: ValueError for a bad spec."""
        if not isinstance(spec, dict) or not all(isinstance(v, dict) for v in spec.values()):
            raise ValueError('expected {"<coin>": {"bid", "ask", "last"}}')
        updates: dict[str, dict[str, Decimal]] = {}
        for coin, fields in spec.items():
            if set(fields) - {"bid", "ask", "last"}:
                raise ValueError("price fields are bid, ask, last")
            updates[str(coin).upper()] = {k: _positive(v, k) for k, v in fields.items()}
        filled: list[str] = []
        with self._lock:
            for coin, fields in updates.items():
                if coin not in self.prices and len(fields) < 3:
                    raise ValueError(f"a new coin {coin} needs bid, ask and last")
            for coin, fields in updates.items():
                zero = Decimal(0)
                price = self.prices.setdefault(
                    coin, Price(fields.get("bid", zero), fields.get("ask", zero), fields.get("last", zero)))
                for name, value in fields.items():
                    setattr(price, name, value)
                filled += self._match(coin)
        return {"prices": self.prices_json(), "filled": filled}

    def prices_json(self) -> dict[str, dict[str, str]]:
        """``{"btc": {"bid", "ask", "last"}}`` as decimal strings (USDT per coin)."""
        return {c.lower(): {"bid": str(p.bid), "ask": str(p.ask), "last": str(p.last)} for c, p in self.prices.items()}

    def state(self) -> dict[str, Any]:
        """Everything but secrets: ``{"prices", "fee_rate", "accounts": {key: {"readonly", "balances",
        "last_nonce", "open_orders", "completed"}}, "faults"}``."""
        with self._lock:
            accounts = {}
            for key, account in self.accounts.items():
                accounts[key] = {
                    "readonly": account.readonly, "last_nonce": account.last_nonce,
                    "balances": {s: str(v) for s, v in account.balances.items()},
                    "open_orders": [self._open_wire(o) | {"side": o.side} for o in self.orders.values()
                                    if o.key == key and o.status == "open"],
                    "completed": [f.as_wire() | {"side": f.side} for f in self.fills if f.key == key],
                }
            return {"prices": self.prices_json(), "fee_rate": str(self.fee_rate), "accounts": accounts,
                    "faults": [f.as_json() for f in self.faults]}

    def faults_add(self, specs: Any) -> dict[str, int]:
        """Add faults from a JSON list (or one object) of ``{"kind", "times"}`` (times default 1), all
        or nothing. Kinds:

        - ``rate_limit`` (optional ``path``): HTTP 429 ``{"message": "Too Many Requests"}`` with
          ``Retry-After: 0``, before anything is read or checked;
        - ``drop_connection`` (optional ``path``): close the connection without an answer, before
          anything is read or checked (nothing is applied);
        - ``reject`` (optional ``path``, ``message``): after auth (the nonce is used), answer
          ``{"status": "error", "message"}`` without applying anything;
        - ``accept_then_timeout`` (optional ``path``, default the trading endpoints; optional
          ``delay_s``): apply the request, then hold the answer ``delay_s`` seconds before sending it,
          or, without ``delay_s``, close the connection without answering;
        - ``partial_fill`` (``fraction`` in (0, 1)): the next ``times`` market-order crossings fill
          only that share of the open amount (rounded down to 8 decimals); the rest stays open.

        ``path`` is an endpoint such as ``my/buy/now`` or ``/coinspot/api/v2/my/buy/now``; without
        it a fault hits the next matching request of any endpoint. Returns ``{"added": n}``.
        Raises: ValueError describing the first bad spec.
        """
        if isinstance(specs, dict):
            specs = [specs]
        if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
            raise ValueError("expected a JSON list of fault objects")
        faults = []
        allowed = {"kind", "times", "path", "message", "delay_s", "fraction"}
        for spec in specs:
            kind, times = spec.get("kind"), spec.get("times", 1)
            if kind not in FAULT_KINDS or set(spec) - allowed:
                raise ValueError(f"kind must be one of {sorted(FAULT_KINDS)}; fields are {sorted(allowed)}")
            if isinstance(times, bool) or not isinstance(times, int) or times < 1:
                raise ValueError("times must be an integer >= 1")
            path = spec.get("path")
            if path is not None and not isinstance(path, str):
                raise ValueError("path must be a string")
            fault = Fault(kind, times, _endpoint(path))
            if kind == "reject":
                fault.message = spec.get("message", fault.message)
                if not isinstance(fault.message, str):
                    raise ValueError("message must be a string")
            delay = spec.get("delay_s")
            if delay is not None:
                if kind != "accept_then_timeout" or isinstance(delay, bool) or not isinstance(delay, int | Decimal):
                    raise ValueError("delay_s (a number >= 0) belongs to accept_then_timeout")
                if delay < 0:
                    raise ValueError("delay_s must be >= 0")
                fault.delay_s = float(delay)
            if kind == "partial_fill":
                fraction = _decimal(spec.get("fraction"), "fraction")
                if not 0 < fraction < 1:
                    raise ValueError("fraction must be between 0 and 1, exclusive")
                fault.fraction = fraction
            faults.append(fault)
        with self._lock:
            self.faults.extend(faults)
        return {"added": len(faults)}

    def _take_fault(self, kinds: set[str], endpoint: str, default_paths: frozenset[str] | None = None) -> Fault | None:
        """The first fault of ``kinds`` matching ``endpoint``, counting one use (lock held)."""
        for fault in self.faults:
            if fault.kind not in kinds:
                continue
            if fault.path is not None and fault.path != endpoint:
                continue
            if fault.path is None and default_paths is not None and endpoint not in default_paths:
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self.faults.remove(fault)
            return fault
        return None

    # --- venue ------------------------------------------------------------------------------------
    def answer(self, verb: str, path: str, body: bytes, headers: Mapping[str, str]) -> CoinspotAnswer:
        """Answer one venue request: ``path`` relative to ``/coinspot`` (``/api/v2/my/buy/now``,
        ``/pubapi/v2/latest``), the raw ``body`` and the request ``headers`` (``key``, ``sign``).
        Shapes: see the module docstring and each endpoint's method. Raises: nothing (errors are
        answers)."""
        private = path.startswith(PRIVATE_PREFIX)
        public = path.startswith(PUBLIC_PREFIX)
        endpoint = path[len(PRIVATE_PREFIX if private else PUBLIC_PREFIX):].strip("/") if private or public else path
        with self._lock:
            fault = self._take_fault({"rate_limit", "drop_connection"}, endpoint)
        if fault is not None and fault.kind == "drop_connection":
            return CoinspotAnswer(0, b"", drop=True)
        if fault is not None:
            return CoinspotAnswer(429, _dumps({"message": "Too Many Requests"}), {"Retry-After": "0"})
        try:
            if private and verb == "POST":
                return self._private(endpoint, body, headers)
            if public and verb == "GET":
                with self._lock:
                    return self._ok(self._public(endpoint))
            if private or public:
                raise CoinspotError(f"{verb} not allowed", 405)
            raise CoinspotError(MSG_NOT_FOUND, 404)
        except CoinspotError as exc:
            return CoinspotAnswer(exc.http_status, _dumps({"status": "error", "message": exc.message}))

    @staticmethod
    def _ok(payload: dict[str, Any]) -> CoinspotAnswer:
        return CoinspotAnswer(200, _dumps({"status": "ok", "message": "ok", **payload}))

    def _private(self, endpoint: str, body: bytes, headers: Mapping[str, str]) -> CoinspotAnswer:
        with self._lock:
            account = self._authenticate(body, headers)
            params = json.loads(body, parse_float=Decimal)
            readonly_endpoint = endpoint.startswith("ro/")
            if account.readonly and not readonly_endpoint:
                raise CoinspotError(MSG_READ_ONLY)
            rejected = self._take_fault({"reject"}, endpoint)
            if rejected is not None:
                raise CoinspotError(rejected.message)
            payload = self._dispatch(endpoint, params, account)
            hold = self._take_fault({"accept_then_timeout"}, endpoint, TRADING_ENDPOINTS)
        answer = self._ok(payload)
        if hold is None:
            return answer
        if hold.delay_s is None:
            return CoinspotAnswer(0, b"", drop=True)
        return CoinspotAnswer(answer.status, answer.body, delay_s=hold.delay_s)

    def _authenticate(self, body: bytes, headers: Mapping[str, str]) -> Account:
        """The account of a signed request with a fresh nonce (lock held). Raises: CoinspotError."""
        account = self.accounts.get(headers.get("key") or "")
        if account is None:
            raise CoinspotError(MSG_INVALID_KEY)
        expected = hmac.new(account.secret.encode(), body, hashlib.sha512).hexdigest()
        if not hmac.compare_digest(expected, (headers.get("sign") or "").lower()):
            raise CoinspotError(MSG_INVALID_SIGN)
        try:
            params = json.loads(body, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            raise CoinspotError("Invalid JSON") from None
        nonce = params.get("nonce") if isinstance(params, dict) else None
        if isinstance(nonce, str) and nonce.isdigit():
            nonce = int(nonce)
        if isinstance(nonce, bool) or not isinstance(nonce, int):
            raise CoinspotError(MSG_INVALID_NONCE)
        if account.last_nonce is not None and nonce <= account.last_nonce:
            raise CoinspotError(MSG_INVALID_NONCE)
        account.last_nonce = nonce
        return account

    def _dispatch(self, endpoint: str, params: dict[str, Any], account: Account) -> dict[str, Any]:
        if endpoint in {"status", "ro/status"}:
            return {}
        if endpoint in {"my/buy/now", "my/sell/now"}:
            return self._trade_now(account, "buy" if endpoint == "my/buy/now" else "sell", params)
        if endpoint in {"my/buy", "my/sell"}:
            return self._order_place(account, endpoint[3:], params)
        if endpoint in {"my/buy/cancel", "my/sell/cancel"}:
            return self._order_cancel(account, endpoint.split("/")[1], params)
        if endpoint == "ro/my/balances":
            return {"balances": [{coin: self._balance_wire(account, coin)} for coin in sorted(account.balances)]}
        if endpoint.startswith("ro/my/balance/"):
            coin = self._coin(endpoint[len("ro/my/balance/"):], balance_ok=account)
            entry = self._balance_wire(account, coin)
            if str(params.get("available", "")).lower() == "yes":
                entry["available"] = _num(self._available(account, coin))
            return {"balance": {coin: entry}}
        if endpoint == "ro/my/orders/market/open":
            return self._open_list(account, params)
        if endpoint == "ro/my/orders/limit/open":
            self._filter_coin(params)  # still validates cointype/markettype
            return {"buyorders": [], "sellorders": []}
        if endpoint in {"ro/my/orders/completed", "ro/my/orders/market/completed"}:
            return self._completed_list(account, params, market_only=endpoint == "ro/my/orders/market/completed")
        raise CoinspotError(MSG_NOT_FOUND, 404)

    def _public(self, endpoint: str) -> dict[str, Any]:
        """``latest``: ``{"prices": {"btc_usdt": {"bid", "ask", "last"}}}`` (strings);
        ``latest/{coin}[/{market}]``: ``{"prices": {"bid", "ask", "last"}}``;
        ``buyprice/{coin}[/{market}]`` / ``sellprice/...``: ``{"rate": ask / bid, "market": "BTC/USDT"}``."""
        parts = endpoint.split("/")
        if parts == ["latest"]:
            return {"prices": {f"{c.lower()}_{QUOTE.lower()}": self._price_strings(p) for c, p in self.prices.items()}}
        if parts[0] in {"latest", "buyprice", "sellprice"} and len(parts) in (2, 3):
            coin = self._coin(parts[1])
            self._market(parts[2] if len(parts) == 3 else None)
            price = self.prices[coin]
            if parts[0] == "latest":
                return {"prices": self._price_strings(price)}
            return {"rate": _num(price.ask if parts[0] == "buyprice" else price.bid), "market": f"{coin}/{QUOTE}"}
        raise CoinspotError(MSG_NOT_FOUND, 404)

    @staticmethod
    def _price_strings(price: Price) -> dict[str, str]:
        return {"bid": format(price.bid, "f"), "ask": format(price.ask, "f"), "last": format(price.last, "f")}

    def _coin(self, raw: Any, balance_ok: Account | None = None) -> str:
        coin = str(raw or "").upper()
        if coin not in self.prices and not (balance_ok is not None and coin in balance_ok.balances):
            raise CoinspotError(MSG_COIN_NOT_FOUND)
        return coin

    @staticmethod
    def _market(raw: Any) -> None:
        if raw not in (None, "") and str(raw).upper() != QUOTE:
            raise CoinspotError(MSG_MARKET_NOT_FOUND)

    def _rate_of(self, coin: str) -> Decimal:
        return Decimal(1) if coin == QUOTE else self.prices[coin].last if coin in self.prices else Decimal(0)

    def _balance_wire(self, account: Account, coin: str) -> dict[str, Any]:
        balance = account.balances.get(coin, Decimal(0))
        rate = self._rate_of(coin)
        return {"balance": _num(balance), "audbalance": _num(_q(balance * rate)), "rate": _num(rate)}

    def _held(self, account: Account, coin: str) -> Decimal:
        held = Decimal(0)
        for order in self.orders.values():
            if order.key != account.key or order.status != "open":
                continue
            if order.side == "sell" and order.coin == coin:
                held += order.amount
            elif order.side == "buy" and coin == QUOTE:
                total = _q(order.amount * order.rate)
                held += total + _q(total * self.fee_rate)
        return held

    def _available(self, account: Account, coin: str) -> Decimal:
        return account.balances.get(coin, Decimal(0)) - self._held(account, coin)

    def _new_id(self) -> str:
        self._next_id += 1
        return f"{self._next_id:024x}"  # Coinspot's ids are 24 hex digits

    def _settle(self, account: Account, order: Order, amount: Decimal, rate: Decimal, total: Decimal) -> Fill:
        """Move the balances of one fill (lock held; funds were checked by the caller)."""
        fee = _q(total * self.fee_rate)
        balances = account.balances
        if order.side == "buy":
            balances[QUOTE] = balances.get(QUOTE, Decimal(0)) - total - fee
            balances[order.coin] = balances.get(order.coin, Decimal(0)) + amount
        else:
            balances[order.coin] = balances.get(order.coin, Decimal(0)) - amount
            balances[QUOTE] = balances.get(QUOTE, Decimal(0)) + total - fee
        fill = Fill(order.id, account.key, order.side, order.kind, order.coin, amount, rate, total, fee,
                    order.created, _now())
        self.fills.append(fill)
        return fill

    def _trade_now(self, account: Account, side: str, params: dict[str, Any]) -> dict[str, Any]:
        """``my/buy/now`` / ``my/sell/now`` with ``cointype``, ``amounttype`` (coin|aud|usdt),
        ``amount``, optional ``rate``, ``threshold`` (percent), ``direction`` (UP|DOWN|BOTH),
        ``markettype``. Shape: ``{"coin", "market", "amount", "total"}`` (+ ``"rate"`` for a sell)."""
        coin = self._coin(params.get("cointype"))
        self._market(params.get("markettype"))
        amounttype = str(params.get("amounttype") or "").lower()
        if amounttype not in {"coin", "aud", QUOTE.lower()}:
            raise CoinspotError("Invalid amounttype")
        amount = _positive(params.get("amount"), "amount")
        price = self.prices[coin].ask if side == "buy" else self.prices[coin].bid
        if params.get("rate") is not None:
            self._threshold_check(price, params)
        if amounttype == "coin":
            quantity, total = amount, _q(amount * price)
        else:
            quantity, total = _q(amount / price, ROUND_DOWN), _q(amount)
            if quantity <= 0:
                raise CoinspotError("Invalid amount")
        fee = _q(total * self.fee_rate)
        if side == "buy" and self._available(account, QUOTE) < total + fee:
            raise CoinspotError(MSG_INSUFFICIENT)
        if side == "sell" and self._available(account, coin) < quantity:
            raise CoinspotError(MSG_INSUFFICIENT)
        order = Order(self._new_id(), account.key, side, "instant", coin, Decimal(0), price, _now(), "filled")
        self.orders[order.id] = order
        self._settle(account, order, quantity, price, total)
        payload = {"coin": coin, "market": f"{coin}/{QUOTE}", "amount": _num(quantity), "total": _num(total)}
        return payload | {"rate": _num(price)} if side == "sell" else payload

    @staticmethod
    def _threshold_check(price: Decimal, params: dict[str, Any]) -> None:
        rate = _positive(params.get("rate"), "rate")
        threshold = _decimal(params.get("threshold", 0), "threshold")
        if not 0 <= threshold <= 1000:
            raise CoinspotError("Invalid threshold")
        direction = str(params.get("direction") or "UP").upper()
        if direction not in {"UP", "DOWN", "BOTH"}:
            raise CoinspotError("Invalid direction")
        moved = (price - rate) / rate * 100
        up, down = direction in {"UP", "BOTH"}, direction in {"DOWN", "BOTH"}
        if (up and moved > threshold) or (down and -moved > threshold):
            raise CoinspotError(MSG_THRESHOLD)

    def _order_place(self, account: Account, side: str, params: dict[str, Any]) -> dict[str, Any]:
        """``my/buy`` / ``my/sell`` with ``cointype``, ``amount`` (coin), ``rate`` (USDT per coin),
        ``markettype``. Shape: ``{"coin", "market", "amount", "rate", "id"}``; it may fill at once."""
        coin = self._coin(params.get("cointype"))
        self._market(params.get("markettype"))
        amount = _positive(params.get("amount"), "amount")
        rate = _positive(params.get("rate"), "rate")
        if side == "buy":
            total = _q(amount * rate)
            if self._available(account, QUOTE) < total + _q(total * self.fee_rate):
                raise CoinspotError(MSG_INSUFFICIENT)
        elif self._available(account, coin) < amount:
            raise CoinspotError(MSG_INSUFFICIENT)
        order = Order(self._new_id(), account.key, side, "market", coin, amount, rate, _now())
        self.orders[order.id] = order
        self._match(coin)
        return {"coin": coin, "market": f"{coin}/{QUOTE}", "amount": _num(amount), "rate": _num(rate), "id": order.id}

    def _match(self, coin: str) -> list[str]:
        """Fill the open market orders of ``coin`` that the current prices cross, oldest first, at
        their own rate (a partial_fill fault fills only its share). Returns the ids filled (lock held)."""
        price = self.prices[coin]
        filled = []
        for order in sorted(self.orders.values(), key=lambda o: (o.created, o.id)):
            if order.coin != coin or order.status != "open" or order.kind != "market":
                continue
            crossed = price.ask <= order.rate if order.side == "buy" else price.bid >= order.rate
            if not crossed:
                continue
            account = self.accounts[order.key]
            amount = order.amount
            partial = self._take_fault({"partial_fill"}, "")
            if partial is not None and partial.fraction is not None:
                amount = _q(order.amount * partial.fraction, ROUND_DOWN)
                if amount <= 0:
                    continue
            self._settle(account, order, amount, order.rate, _q(amount * order.rate))
            order.amount -= amount
            if order.amount <= 0:
                order.status = "filled"
            filled.append(order.id)
        return filled

    def _order_cancel(self, account: Account, side: str, params: dict[str, Any]) -> dict[str, Any]:
        """``my/buy/cancel`` / ``my/sell/cancel`` with ``id`` of an open order of that side. Shape: ``{}``."""
        order = self.orders.get(str(params.get("id") or ""))
        if order is None or order.key != account.key or order.side != side or order.status != "open":
            raise CoinspotError(MSG_ORDER_NOT_FOUND)
        order.status = "cancelled"
        return {}

    def _filter_coin(self, params: dict[str, Any]) -> str | None:
        self._market(params.get("markettype"))
        return self._coin(params["cointype"]) if params.get("cointype") else None

    @staticmethod
    def _open_wire(order: Order) -> dict[str, Any]:
        return {"id": order.id, "coin": order.coin, "market": f"{order.coin}/{QUOTE}", "amount": _num(order.amount),
                "created": _iso(order.created), "rate": _num(order.rate), "total": _num(_q(order.amount * order.rate))}

    def _open_list(self, account: Account, params: dict[str, Any]) -> dict[str, Any]:
        """``ro/my/orders/market/open`` (optional ``cointype``, ``markettype``): ``{"buyorders": [...],
        "sellorders": [...]}``, each ``{"id", "coin", "market", "amount" (open), "created", "rate",
        "total"}``, oldest first."""
        coin = self._filter_coin(params)
        orders = sorted((o for o in self.orders.values() if o.key == account.key and o.status == "open"
                         and (coin is None or o.coin == coin)), key=lambda o: (o.created, o.id))
        return {"buyorders": [self._open_wire(o) for o in orders if o.side == "buy"],
                "sellorders": [self._open_wire(o) for o in orders if o.side == "sell"]}

    def _completed_list(self, account: Account, params: dict[str, Any], *, market_only: bool) -> dict[str, Any]:
        """``ro/my/orders/completed`` / ``ro/my/orders/market/completed`` (optional ``cointype``,
        ``markettype``, ``startdate``, ``enddate``, ``limit``): ``{"buyorders", "sellorders"}`` of
        ``Fill.as_wire`` entries, newest first, at most ``limit`` each."""
        coin = self._filter_coin(params)
        start = _moment(params["startdate"], end=False) if params.get("startdate") else None
        end = _moment(params["enddate"], end=True) if params.get("enddate") else None
        limit = params.get("limit", COMPLETED_LIMIT_DEFAULT)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= COMPLETED_LIMIT_MAX:
            raise CoinspotError("Invalid limit")
        fills = [f for f in reversed(self.fills) if f.key == account.key and (coin is None or f.coin == coin)
                 and (not market_only or f.kind == "market")
                 and (start is None or f.solddate >= start) and (end is None or f.solddate <= end)]
        return {"buyorders": [f.as_wire() for f in fills if f.side == "buy"][:limit],
                "sellorders": [f.as_wire() for f in fills if f.side == "sell"][:limit]}
