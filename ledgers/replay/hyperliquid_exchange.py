"""A simulated Hyperliquid venue: the Exchange API (``POST /exchange``) and the user-specific Info API answers.

Hyperliquid's trading endpoint cannot be recorded usefully (every answer depends on the account and the book at
that moment), so the replay node SIMULATES it, in this module, on top of the real recordings that
``ledgers.replay.hyperliquid`` indexes: the perp universe of ``meta`` (test_get_info.yaml), the mids of ``allMids``
(test_get_all_mids.yaml), every recorded ``l2Book`` (test_get_l2_snapshot.yaml: DYDX), the spot universe of the
``spotMeta`` the SDK is served and the spot mids of ``spotMetaAndAssetCtxs`` (test_spot_asset_ctx.yaml; see
"Spot" below). Nothing here imports Django or ``trading``. Thread-safe: all
state is behind one lock; signatures are recovered outside it.

Signing (``l1_action_hash``, ``l1_signer``, ``user_signed_signer``) is implemented here, independently of the
SDK's ``hyperliquid.utils.signing`` (which signs the requests; verifying with it would let a bug in it cancel out):

- L1 actions (``order``, ``cancel``, ``cancelByCloid``, ...): ``keccak(msgpack(action) + nonce as 8 bytes
  big-endian + (b"\\x00" | b"\\x01" + vault address bytes) + (b"\\x00" + expiresAfter as 8 bytes, if given))``
  is the ``connectionId`` of the phantom agent ``{source, connectionId}``, signed as EIP-712 ``Agent(string source,
  bytes32 connectionId)`` in domain ``{name: "Exchange", version: "1", chainId: 1337, verifyingContract: 0x0...0}``
  (https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/signing). ``source`` is ``"a"`` on mainnet
  and ``"b"`` on testnet. The SDK decides by its ``base_url``: ``is_mainnet = base_url == MAINNET_API_URL``
  (``hyperliquid/exchange.py``), so against this node (a loopback URL) it always signs with ``"b"``; the
  simulator therefore expects ``TESTNET_SOURCE`` by default (``HyperliquidExchange(source=...)`` changes it).
  A signature made for the other source recovers some other address and is refused like any bad signature.
- User-signed actions (``approveAgent``): EIP-712 ``HyperliquidTransaction:ApproveAgent(string hyperliquidChain,
  address agentAddress, string agentName, uint64 nonce)`` in domain ``{name: "HyperliquidSignTransaction",
  version: "1", chainId: int(action["signatureChainId"]), verifyingContract: 0x0...0}``; ``hyperliquidChain``
  must be ``"Testnet"`` with source ``"b"``, ``"Mainnet"`` with ``"a"``.

The recovered signer must be a simulated user or an agent it approved, else the answer is HTTP 200
``{"status": "err", "response": "User or API Wallet 0x... does not exist."}`` (Hyperliquid's wording as its users
report it, e.g. hyperliquid-dex/hyperliquid-python-sdk#54 and ccxt/ccxt#26484). A bad signature recovers a
random address, so it gets exactly that answer too, as on Hyperliquid. Nonces (docs: "Nonces and API wallets"):
per signer, the 100 highest are kept; a nonce already used, or not above the smallest of a full set, is refused
with ``"Invalid nonce: duplicate nonce N"`` (wording reported in nomeida/hyperliquid#61), and one outside
``(now - 2 days, now + 1 day)`` with ``"Invalid nonce: nonce N is too far from the current time"`` (no public
record of Hyperliquid's wording for that case was found; this text is the simulator's). A request whose
``expiresAfter`` (ms) has passed is refused with ``"Action expired"`` (wording not found either).

Orders (``order``, grouping ``"na"``; asset = index in the recorded ``meta`` universe for perps, 10000 + ``index``
for a spot pair, see "Spot"):

- checks, in order, each giving ``{"error": ...}`` in that order's status (strings from the docs' "Error
  responses" page unless said): unknown asset, or a spot pair that cannot be traded (``ERR_ASSET``, the
  simulator's wording); size not a positive multiple of ``10**-szDecimals`` (``"Order has invalid size."``,
  as reported by users; not on the docs page); price with more than 5 significant figures (integers always
  pass) or more than ``6 - szDecimals`` decimals (docs "Tick and lot size": ``"Price must be divisible by tick
  size."``); a cloid the user already used (``"Duplicate cloid."``: no public record of Hyperliquid's wording);
  reduce-only that would open or increase a position (``"Reduce only order would increase position."``; a
  reduce-only order larger than the position is cut to the position); notional ``px * sz`` under $10, not for
  reduce-only (``"Order must have minimum value of $10."``); margin (below); Alo that would cross (``"Post only
  order would have immediately matched, bbo was BID@ASK."``).
- matching: a coin with a recorded ``l2Book`` whose mid was not overridden walks the recorded opposite levels
  best first, each at its price, limited by the recorded size; what the simulated fills take stays taken until
  ``reset()``. Any other coin (or a booked coin whose mid was overridden) fills at the current mid, unlimited in
  size: SIMULATED liquidity. A buy crosses when its limit is >= the ask (mid), a sell when <= the bid (mid).
- Ioc fills what crosses and cancels the rest (nothing crosses: ``"Order could not immediately match against any
  resting orders."``); Gtc fills what crosses and rests the remainder; Alo rests or is refused. A resting order
  fills, whole, at its limit price as maker when a mids override (``mids_set``) moves the mid to or across it.
- statuses: ``{"filled": {"totalSz", "avgPx", "oid"}}`` when the whole size filled (and for an Ioc that
  partly filled), ``{"resting": {"oid"}}`` when something rests; ``"cloid"`` is added when the order had one.
  ``avgPx`` = sum(px * sz) / totalSz rounded half-even to 8 decimals.
- fees (https://hyperliquid.gitbook.io/hyperliquid-docs/trading/fees, tier 0 perps): taker 0.045 %, maker
  0.015 % of the fill's notional ``px * sz``, in USDC, rounded half-even to 6 decimals (USDC's precision on
  Hyperliquid), charged to the balance; ``closedPnl`` (gross of fees) is credited when a fill closes a position.
- margin, a SIMPLIFICATION at 1x: an order is refused (``"Insufficient margin to place order."``) when ``px *``
  the size that would open or increase a position exceeds the free USDC = balance - sum(|szi| * entryPx) -
  sum(remaining sz * limitPx of the user's resting orders that are not reduce-only). Unrealized P&L is ignored.

Spot (SIMULATED on the recordings; perps rules above apply unless said):

- universe: the pairs of the ``spotMeta`` the SDK is SERVED, since the SDK's ``Info`` maps ``name`` -> asset
  ``10000 + index`` from it: the recordings' real answer when one is recorded (rotki's cassette
  test_refetch_hyperliquid_core_history_with_max_event__hyperliquid_accounts0.yaml; the first recording, as the
  recordings' handler answers), else element 0 of ``spotMetaAndAssetCtxs`` (which this module then serves).
  Tradable: pairs quoted in USDC (token 0) whose ``name`` has a recorded ``midPx`` in ``spotMetaAndAssetCtxs[1]``
  (keyed by ``coin``); any other pair is refused with ``ERR_ASSET``. Their mids (with ``mids_set`` overrides) are
  added to ``allMids`` under the pair's name ("PURR/USDC", "@1"), the key the SDK's ``_slippage_price`` reads.
- rules: size a multiple of ``10**-szDecimals`` of the BASE token; price an integer or <= 5 significant figures
  and <= ``8 - szDecimals`` decimals; $10 minimum notional; reduce-only is refused (``"Reduce only is not
  simulated for spot orders."``, the simulator's: Hyperliquid's behaviour was not found); a buy needs free USDC
  >= limit notional + taker fee on it (free USDC = balance - perp margin - resting perp orders - resting spot
  buys), a sell needs the free token balance (balance - resting sells): else ``"Insufficient spot balance."``
  (no public record of Hyperliquid's exact wording was found). No margin, no shorting.
- matching as for a perp without a recorded book: at the mid, unlimited size (SIMULATED liquidity).
- fees, tier 0 spot (https://hyperliquid.gitbook.io/hyperliquid-docs/trading/fees; the same rates appear as
  ``userSpotCrossRate`` 0.0007 / ``userSpotAddRate`` 0.0004 in ``userFees`` answers): taker 0.070 %, maker
  0.040 % of ``px * sz``, rounded half-even to 6 decimals, charged in USDC (``feeToken`` "USDC"). A
  SIMPLIFICATION: Hyperliquid takes a spot buy's fee in the token bought.
- balances: USDC is the one balance shared with the perp side; tokens per user by name. Fills carry the pair's
  name as ``coin``, ``dir`` "Buy"/"Sell", ``startPosition`` = the token balance before, ``closedPnl`` "0.0".
  ``spotClearinghouseState`` lists USDC (``hold`` = remaining size x limit of resting spot buys) and every
  non-zero token balance (``hold`` = resting sell sizes, ``entryNtl`` = bought notional, reduced pro rata by
  sells). ``clearinghouseState`` is perps only.

``cancel`` (``{"a", "o"}``) and ``cancelByCloid`` (``{"asset", "cloid"}``) answer ``"success"`` or ``{"error":
"Order was never placed, already canceled, or filled."}`` per cancel. Any other action type is refused with
``"Unsupported action in the simulator: TYPE"`` (the simulator's wording).

Info (``info_answer``), for simulated users only (others fall through to the recordings): ``openOrders``,
``frontendOpenOrders``, ``userFills``, ``userFillsByTime``, ``orderStatus``, ``clearinghouseState``,
``spotClearinghouseState`` (see "Spot"); for everyone: ``meta`` (the recorded answer, also for ``"dex": ""`` as
the SDK asks), ``spotMeta`` (only when no ``spotMeta`` answer is recorded, DERIVED: element 0 of the recorded
``spotMetaAndAssetCtxs``; rotki's cassettes hold a real one, which the recordings then serve) and ``allMids``
(the recorded perp mids and the tradable spot pairs' mids, with the overrides). Fills are newest first, shaped
like the recorded ``userFills`` plus ``tid``, ``feeToken`` ("USDC") and ``cloid`` when the order had one;
``hash`` is a keccak of the oid and tid (SIMULATED). Prices and sizes are formatted like Hyperliquid: plain
decimals without trailing zeros, one ``.0`` kept on integers.

Faults (``faults_add``, the control endpoint): ``rate_limit``, ``drop_connection``, ``accept_then_timeout``
(taken by the server around a request, see ``take_transport_fault``), ``reject`` and ``partial_fill`` (each use
taken by one order of an ``order`` action, after its shape, price and size checks); the server module's
``HYPERLIQUID_FAULTS_DOC`` describes each kind.
"""

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, TypeGuard

import msgpack  # type: ignore[import-untyped]  # msgpack 1.2 ships no type information
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_keys.exceptions import BadSignature
from eth_utils import keccak

from ledgers.replay.hyperliquid import DESERIALIZE_ERROR, HyperliquidIndex

logger = logging.getLogger(__name__)

MAINNET_SOURCE = "a"
TESTNET_SOURCE = "b"
CHAIN_NAMES = {MAINNET_SOURCE: "Mainnet", TESTNET_SOURCE: "Testnet"}
TAKER_FEE_RATE = Decimal("0.00045")
MAKER_FEE_RATE = Decimal("0.00015")
SPOT_TAKER_FEE_RATE = Decimal("0.0007")
SPOT_MAKER_FEE_RATE = Decimal("0.0004")
FEE_QUANTUM = Decimal("0.000001")
AVG_PX_QUANTUM = Decimal("0.00000001")
PNL_QUANTUM = Decimal("0.000001")
MIN_ORDER_VALUE_USD = Decimal(10)
PERP_MAX_DECIMALS = 6
SPOT_MAX_DECIMALS = 8
USDC_TOKEN = 0
MAX_SIGNIFICANT_FIGURES = 5
NONCE_MAX_AGE_MS = 2 * 24 * 3600 * 1000
NONCE_MAX_LEAD_MS = 1 * 24 * 3600 * 1000
NONCES_KEPT = 100
SPOT_ASSET_OFFSET = 10_000
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

# Which recordings the venue is built from (file names in hyperliquid-python-sdk-cassettes).
META_CASSETTE = "test_get_info.yaml"
MIDS_CASSETTE = "test_get_all_mids.yaml"
SPOT_CASSETTE = "test_spot_asset_ctx.yaml"

ERR_TICK = "Price must be divisible by tick size."
ERR_SIZE = "Order has invalid size."
ERR_MIN_VALUE = "Order must have minimum value of $10."
ERR_MARGIN = "Insufficient margin to place order."
ERR_REDUCE_ONLY = "Reduce only order would increase position."
ERR_ALO = "Post only order would have immediately matched, bbo was {bbo}."
ERR_IOC = "Order could not immediately match against any resting orders."
ERR_MISSING_ORDER = "Order was never placed, already canceled, or filled."
ERR_DUPLICATE_CLOID = "Duplicate cloid."
ERR_ASSET = ("Unsupported asset (the simulator trades the recorded perps and the USDC spot pairs with a recorded "
             "mid only).")
ERR_SPOT_BALANCE = "Insufficient spot balance."
ERR_SPOT_REDUCE_ONLY = "Reduce only is not simulated for spot orders."
ERR_UNKNOWN_SIGNER = "User or API Wallet {address} does not exist."
ERR_DUPLICATE_NONCE = "Invalid nonce: duplicate nonce {nonce}"
ERR_NONCE_WINDOW = "Invalid nonce: nonce {nonce} is too far from the current time"

EIP712_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
APPROVE_AGENT_TYPE = [
    {"name": "hyperliquidChain", "type": "string"},
    {"name": "agentAddress", "type": "address"},
    {"name": "agentName", "type": "string"},
    {"name": "nonce", "type": "uint64"},
]

FAULT_KINDS = frozenset({"accept_then_timeout", "reject", "partial_fill", "rate_limit", "drop_connection"})
TRANSPORT_FAULT_KINDS = frozenset({"accept_then_timeout", "rate_limit", "drop_connection"})
DEFAULT_REJECT_ERROR = ERR_MARGIN


class SignatureError(ValueError):
    """A signature whose shape is wrong or from which no address can be recovered."""


# --- signing, independent of hyperliquid.utils.signing -----------------------------------------------------------
def l1_action_hash(action: Any, nonce: int, vault_address: str | None, expires_after: int | None) -> bytes:
    """The 32-byte ``connectionId`` of an L1 action, as Hyperliquid's signing page describes it (module docstring).

    Units: ``nonce`` and ``expires_after`` in ms. ``action`` is the JSON object as received (key order matters to
    msgpack). Raises: ValueError for a negative nonce or a vault address that is not hex.
    """
    data = msgpack.packb(action)
    data += nonce.to_bytes(8, "big")
    if vault_address is None:
        data += b"\x00"
    else:
        data += b"\x01" + bytes.fromhex(vault_address.removeprefix("0x"))
    if expires_after is not None:
        data += b"\x00" + expires_after.to_bytes(8, "big")
    return keccak(data)


def l1_typed_data(connection_id: bytes, source: str) -> dict:
    """The EIP-712 message an L1 action's signer signs: ``Agent{source, connectionId}`` in the Exchange domain."""
    return {
        "types": {
            "EIP712Domain": EIP712_DOMAIN_TYPE,
            "Agent": [{"name": "source", "type": "string"}, {"name": "connectionId", "type": "bytes32"}],
        },
        "primaryType": "Agent",
        "domain": {"name": "Exchange", "version": "1", "chainId": 1337, "verifyingContract": ZERO_ADDRESS},
        "message": {"source": source, "connectionId": connection_id},
    }


def _recover(typed_data: dict, signature: Any) -> str:
    if not isinstance(signature, dict):
        raise SignatureError("signature must be an object {r, s, v}")
    try:
        r, s, v = int(signature["r"], 16), int(signature["s"], 16), int(signature["v"])
        address = Account.recover_message(encode_typed_data(full_message=typed_data), vrs=(v, r, s))
    except (KeyError, TypeError, ValueError, BadSignature) as exc:
        raise SignatureError(str(exc)) from exc
    return address.lower()


def l1_signer(
    action: Any, nonce: int, signature: Any, vault_address: str | None, expires_after: int | None, source: str,
) -> str:
    """Lowercase address that signed an L1 action. Raises: SignatureError when nothing can be recovered."""
    try:
        connection_id = l1_action_hash(action, nonce, vault_address, expires_after)
    except (TypeError, ValueError, OverflowError) as exc:
        raise SignatureError(str(exc)) from exc
    return _recover(l1_typed_data(connection_id, source), signature)


def user_signed_signer(action: dict, signature: Any, primary_type: str, fields: list[dict]) -> str:
    """Lowercase address that signed a user-signed action (``HyperliquidSignTransaction`` domain, chain id from
    ``action["signatureChainId"]``); missing string fields count as ``""``. Raises: SignatureError."""
    try:
        chain_id = int(action["signatureChainId"], 16)
        message = {f["name"]: action.get(f["name"], "" if f["type"] == "string" else None) for f in fields}
    except (KeyError, TypeError, ValueError) as exc:
        raise SignatureError(str(exc)) from exc
    typed = {
        "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, primary_type: fields},
        "primaryType": primary_type,
        "domain": {"name": "HyperliquidSignTransaction", "version": "1", "chainId": chain_id,
                   "verifyingContract": ZERO_ADDRESS},
        "message": message,
    }
    return _recover(typed, signature)


# --- formatting --------------------------------------------------------------------------------------------------
def format_decimal(value: Decimal) -> str:
    """Hyperliquid's number strings: plain notation, no trailing zeros, integers as ``"N.0"`` (``"0.0"``)."""
    text = format(value.normalize(), "f")
    if "." not in text:
        text += ".0"
    return "0.0" if text == "-0.0" else text


def _decimal(raw: Any) -> Decimal | None:
    if not isinstance(raw, str):
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _now_ms() -> int:
    return int(time.time() * 1000)


# --- state -------------------------------------------------------------------------------------------------------
@dataclass
class SimOrder:
    """One simulated order. ``sz`` = size left; ``status``: open, filled, canceled, rejected. Times in ms."""

    oid: int
    user: str
    coin: str
    asset: int
    is_buy: bool
    limit_px: Decimal
    orig_sz: Decimal
    sz: Decimal
    tif: str
    reduce_only: bool
    cloid: str | None
    timestamp: int
    status: str = "open"
    status_timestamp: int = 0


@dataclass
class SimPosition:
    """A user's perp position in one coin: ``szi`` signed size (long > 0), ``entry_px`` average entry (USD)."""

    szi: Decimal = Decimal(0)
    entry_px: Decimal = Decimal(0)


AGENT_VALID_UNTIL_MS = 4_102_444_800_000
"""``validUntil`` of a simulated agent in ``extraAgents`` (2100-01-01): the simulator's agents do not expire."""


@dataclass
class SimUser:
    """A simulated account: its agents (lowercase addresses), USDC balance and positions by coin."""

    address: str
    agents: set[str]
    usdc: Decimal
    positions: dict[str, SimPosition] = field(default_factory=dict)
    spot: dict[str, Decimal] = field(default_factory=dict)
    """Spot token balances by token name (USDC is ``usdc``, shared with the perp side)."""
    spot_entry_ntl: dict[str, Decimal] = field(default_factory=dict)
    """USDC paid for each token balance (bought notional, reduced pro rata by sells): ``entryNtl``."""


@dataclass(frozen=True)
class SpotPair:
    """A tradable spot pair of the served ``spotMeta``: ``name`` ("PURR/USDC" or "@N", the coin name in answers),
    ``asset`` = 10000 + its ``index``, the base token's name, index and ``szDecimals``; quoted in USDC."""

    name: str
    asset: int
    base: str
    base_token: int
    sz_decimals: int


@dataclass
class ExchangeFault:
    """One injected venue fault (module docstring of ``ledgers.replay.hyperliquid_exchange``); ``remaining`` =
    how many more requests it hits."""

    kind: str
    remaining: int = 1
    delay_s: float = 0
    error: str = DEFAULT_REJECT_ERROR
    fraction: Decimal | None = None
    info_type: str | None = None

    def as_json(self) -> dict:
        data = asdict(self)
        data["fraction"] = None if self.fraction is None else str(self.fraction)
        return data


@dataclass(frozen=True)
class _Fill:
    px: Decimal
    sz: Decimal


class HyperliquidExchange:
    """The simulated venue. Build with ``HyperliquidExchange.from_index(index)``; the server calls ``exchange``
    (``POST /exchange`` bodies), ``info_answer`` (``POST /info`` bodies, None = not the simulator's to answer),
    ``control`` (``/_replay/hyperliquid/...``) and ``take_transport_fault``. ``clock`` gives the server time in
    ms (nonce window, timestamps). ``source`` is the phantom-agent source accepted (module docstring).
    Without the recorded ``meta`` / ``allMids`` (a data directory lacking the SDK's cassettes) the universe and
    the mids are empty, so every order is refused as an unsupported asset.

    Raises: ValueError (constructor) for a ``source`` other than "a" or "b".
    """

    def __init__(
        self,
        *,
        meta: dict,
        mids: dict[str, str],
        books: dict[str, dict],
        spot_meta: dict | None,
        source: str = TESTNET_SOURCE,
        clock: Callable[[], int] = _now_ms,
        served_spot_meta: dict | None = None,
        spot_mids: dict[str, str] | None = None,
    ) -> None:
        if source not in CHAIN_NAMES:
            raise ValueError("source must be 'a' (mainnet) or 'b' (testnet)")
        self.meta = meta
        self.recorded_mids = dict(mids)
        self.books = books
        self.spot_meta = spot_meta
        self.source = source
        self.clock = clock
        self.universe: list[dict] = list(meta["universe"])
        self.asset_of = {entry["name"]: n for n, entry in enumerate(self.universe)}
        self.spot_pairs = _spot_pairs(served_spot_meta if served_spot_meta is not None else spot_meta,
                                      spot_mids or {})
        self.spot_asset_of = {pair.name: pair.asset for pair in self.spot_pairs.values()}
        self.recorded_spot_mids = {pair.name: (spot_mids or {})[pair.name] for pair in self.spot_pairs.values()}
        self._lock = threading.RLock()
        self._faults: list[ExchangeFault] = []
        self.reset()

    @classmethod
    def from_index(cls, index: HyperliquidIndex, **kwargs: Any) -> "HyperliquidExchange":
        """The venue over the recordings of ``index`` (see the module docstring for which ones); missing ones
        leave it empty (class docstring)."""
        meta = _recorded(index, "meta", META_CASSETTE)
        mids = _recorded(index, "allMids", MIDS_CASSETTE)
        spot = _recorded(index, "spotMetaAndAssetCtxs", SPOT_CASSETTE)
        if not isinstance(meta, dict) or not isinstance(meta.get("universe"), list):
            meta = {"universe": []}  # a data directory without the SDK's cassettes: nothing can be traded
        if not isinstance(mids, dict):
            mids = {}
        books = {
            rec.request["coin"]: rec.value
            for rec in index.by_key.get(("l2Book", None), [])
            if isinstance(rec.request.get("coin"), str) and isinstance(rec.value, dict)
        }
        spot_meta = spot[0] if isinstance(spot, list) and spot and isinstance(spot[0], dict) else None
        spot_mids = {ctx["coin"]: ctx["midPx"] for ctx in (spot[1] if isinstance(spot, list) and len(spot) > 1
                                                             and isinstance(spot[1], list) else [])
                     if isinstance(ctx, dict) and isinstance(ctx.get("coin"), str)
                     and _decimal(ctx.get("midPx")) is not None}
        served = spot_meta
        # The SDK maps spot asset ids from the spotMeta it is SERVED; the recordings answer first when they hold a
        # real one (the first recording of {"type": "spotMeta"}, as HyperliquidInfo picks it), so that one is used.
        recorded_spot_meta = index.by_key.get(("spotMeta", None), [])
        if recorded_spot_meta:
            spot_meta = None  # the recordings answer it
            served = recorded_spot_meta[0].value if isinstance(recorded_spot_meta[0].value, dict) else None
        return cls(meta=meta, mids=mids, books=books, spot_meta=spot_meta, served_spot_meta=served,
                   spot_mids=spot_mids, **kwargs)

    # --- state control ----------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget users, orders, fills, nonces, mid overrides and the liquidity taken from recorded books
        (faults are kept: ``faults_clear``)."""
        with self._lock:
            self.users: dict[str, SimUser] = {}
            self.agent_owner: dict[str, str] = {}
            self.orders: dict[int, SimOrder] = {}
            self.fills: dict[str, list[dict]] = {}
            self.nonces: dict[str, list[int]] = {}
            self.mid_overrides: dict[str, Decimal] = {}
            self.book_taken: dict[tuple[str, int, int], Decimal] = {}
            self._next_oid = 1
            self._next_tid = 1

    def account_set(self, *, user: str, agents: list[str], usdc: Decimal,
                    spot: dict[str, Decimal] | None = None) -> dict:
        """Create or reset a simulated user: its agents, ``usdc`` balance and ``spot`` token balances (by token
        name of the served spotMeta, e.g. ``{"PURR": Decimal(100)}``; ``entryNtl`` starts at 0); its orders, fills
        and positions are dropped. Shape: ``{"user", "agents", "usdc"}`` (lowercase addresses), plus ``"spot"``
        when given. Raises: ValueError for a bad address, a negative balance or a token the spot universe lacks."""
        user = _address(user)
        agent_set = {_address(a) for a in agents}
        if usdc < 0:
            raise ValueError("usdc must be >= 0")
        tokens = {pair.base for pair in self.spot_pairs.values()}
        for token, amount in (spot or {}).items():
            if token not in tokens or amount < 0:
                raise ValueError(f"unknown spot token or balance < 0: {token}")
        with self._lock:
            old = self.users.get(user)
            if old is not None:
                for agent in old.agents:
                    self.agent_owner.pop(agent, None)
            self.users[user] = SimUser(user, agent_set, usdc, spot={t: a for t, a in (spot or {}).items() if a})
            for agent in agent_set:
                self.agent_owner[agent] = user
            self.orders = {oid: o for oid, o in self.orders.items() if o.user != user}
            self.fills.pop(user, None)
            answer: dict[str, Any] = {"user": user, "agents": sorted(agent_set), "usdc": format_decimal(usdc)}
            if spot is not None:
                answer["spot"] = {t: format_decimal(a) for t, a in spot.items()}
            return answer

    def mids_set(self, overrides: dict[str, Decimal]) -> list[int]:
        """Override mids (USD) of perps or tradable spot pairs (by pair name) and fill the resting orders they
        now cross; returns the filled oids. Raises: ValueError for a coin outside the recorded universe (or a
        spot pair that cannot be traded) or a mid <= 0."""
        for coin, mid in overrides.items():
            if (coin not in self.asset_of and coin not in self.spot_asset_of) or mid <= 0:
                raise ValueError(f"unknown coin or mid <= 0: {coin}")
        with self._lock:
            self.mid_overrides.update(overrides)
            return self._fill_crossed_resting(set(overrides))

    def mid(self, coin: str) -> Decimal | None:
        """The current mid of ``coin`` (override, else recorded), None when neither exists."""
        with self._lock:
            if coin in self.mid_overrides:
                return self.mid_overrides[coin]
            return _decimal(self.recorded_mids.get(coin) or self.recorded_spot_mids.get(coin))

    def state(self) -> dict:
        """Everything, for ``GET /_replay/hyperliquid/state``: ``{"users": {addr: {"agents", "usdc", "spot",
        "positions": {coin: {"szi", "entryPx"}}}}, "orders": [frontend order + "status", "user"], "fills":
        {addr: [fill]}, "mids": {coin: override}}``."""
        with self._lock:
            return {
                "users": {
                    u.address: {
                        "agents": sorted(u.agents), "usdc": format_decimal(u.usdc),
                        "spot": {t: format_decimal(a) for t, a in u.spot.items() if a},
                        "positions": {c: {"szi": format_decimal(p.szi), "entryPx": format_decimal(p.entry_px)}
                                      for c, p in u.positions.items() if p.szi},
                    } for u in self.users.values()
                },
                "orders": [{**self._frontend_order(o), "status": o.status, "user": o.user}
                           for o in self.orders.values()],
                "fills": {user: list(fills) for user, fills in self.fills.items()},
                "mids": {coin: format_decimal(mid) for coin, mid in self.mid_overrides.items()},
            }

    # --- faults -----------------------------------------------------------------------------------------------
    def faults_add(self, specs: Any) -> int:
        """Add faults from JSON: a list of (or one) ``{"kind", "times"=1, "delay_s", "error", "fraction",
        "info_type"}``; all or nothing. Raises: ValueError describing the first bad spec."""
        if isinstance(specs, dict):
            specs = [specs]
        if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
            raise ValueError("expected a JSON list of fault objects")
        parsed = [_parse_fault(spec) for spec in specs]
        with self._lock:
            self._faults.extend(parsed)
        return len(parsed)

    def faults_active(self) -> list[dict]:
        """The faults still active, as JSON objects."""
        with self._lock:
            return [f.as_json() for f in self._faults]

    def faults_clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()

    def _take_fault(self, kinds: frozenset[str], *, info_type: str | None) -> ExchangeFault | None:
        with self._lock:
            for fault in self._faults:
                if fault.kind not in kinds or fault.info_type != info_type:
                    continue
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                logger.info("replay.hyperliquid.fault", extra={"kind": fault.kind, "info_type": info_type})
                return fault
        return None

    def take_transport_fault(self, *, info_type: str | None) -> ExchangeFault | None:
        """The first ``rate_limit`` / ``drop_connection`` / ``accept_then_timeout`` fault for this request,
        counting one use: ``info_type`` None = an ``/exchange`` request, else an ``/info`` request of that type
        (``accept_then_timeout`` applies to ``/exchange`` only)."""
        kinds = TRANSPORT_FAULT_KINDS if info_type is None else TRANSPORT_FAULT_KINDS - {"accept_then_timeout"}
        return self._take_fault(kinds, info_type=info_type)

    # --- the Exchange API -------------------------------------------------------------------------------------
    def exchange(self, body: bytes) -> tuple[int, dict]:
        """Answer one ``POST /exchange`` body: (HTTP status, JSON object).

        Shape: 200 ``{"status": "ok", "response": {"type": "order"|"cancel"|"default", "data": ...}}`` or 200
        ``{"status": "err", "response": str}``; 422 ``{"error": "Failed to deserialize ..."}`` for a body that is
        not ``{"action": {"type": ...}, "nonce": int, "signature": {...}}``.
        """
        try:
            request = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return 422, {"error": f"{DESERIALIZE_ERROR}: {exc}"}
        if not isinstance(request, dict):
            return 422, {"error": f"{DESERIALIZE_ERROR}: expected a JSON object"}
        action, nonce = request.get("action"), request.get("nonce")
        vault, expires_after = request.get("vaultAddress"), request.get("expiresAfter")
        if (not isinstance(action, dict) or not isinstance(action.get("type"), str) or not _is_int(nonce)
                or not isinstance(request.get("signature"), dict) or (vault is not None and not isinstance(vault, str))
                or (expires_after is not None and not _is_int(expires_after))):
            return 422, {"error": f"{DESERIALIZE_ERROR}: missing or invalid action, nonce, signature"}
        try:
            if action["type"] == "approveAgent":
                return 200, self._approve_agent(action, nonce, request["signature"])
            signer = l1_signer(action, nonce, request["signature"], vault, expires_after, self.source)
        except SignatureError as exc:
            return 422, {"error": f"{DESERIALIZE_ERROR}: bad signature: {exc}"}
        now = self.clock()
        if expires_after is not None and expires_after < now:
            return 200, _err("Action expired")
        with self._lock:
            user = signer if signer in self.users else self.agent_owner.get(signer)
            if user is None:
                return 200, _err(ERR_UNKNOWN_SIGNER.format(address=signer))
            refused = self._use_nonce(signer, nonce, now)
            if refused:
                return 200, _err(refused)
            if vault is not None:
                return 200, _err("Vaults are not simulated")
            kind = action["type"]
            if kind == "order":
                return 200, self._orders(user, action, now)
            if kind in ("cancel", "cancelByCloid"):
                return 200, self._cancels(user, action, now)
            return 200, _err(f"Unsupported action in the simulator: {kind}")

    def _use_nonce(self, signer: str, nonce: int, now: int) -> str | None:
        """Record ``nonce`` for ``signer`` (under the lock); the refusal text, or None when accepted."""
        if not now - NONCE_MAX_AGE_MS < nonce < now + NONCE_MAX_LEAD_MS:
            return ERR_NONCE_WINDOW.format(nonce=nonce)
        used = self.nonces.setdefault(signer, [])
        if nonce in used or (len(used) >= NONCES_KEPT and nonce < used[0]):
            return ERR_DUPLICATE_NONCE.format(nonce=nonce)
        used.append(nonce)
        used.sort()
        del used[:-NONCES_KEPT]
        return None

    def _approve_agent(self, action: dict, nonce: int, signature: Any) -> dict:
        signer = user_signed_signer(action, signature, "HyperliquidTransaction:ApproveAgent", APPROVE_AGENT_TYPE)
        if action.get("hyperliquidChain") != CHAIN_NAMES[self.source]:
            return _err(f"hyperliquidChain must be {CHAIN_NAMES[self.source]}")
        if action.get("nonce") != nonce:
            return _err("the action's nonce differs from the request's")
        now = self.clock()
        with self._lock:
            if signer not in self.users:  # only the user itself may approve an agent
                return _err(ERR_UNKNOWN_SIGNER.format(address=signer))
            refused = self._use_nonce(signer, nonce, now)
            if refused:
                return _err(refused)
            try:
                agent = _address(action.get("agentAddress"))
            except ValueError as exc:
                return _err(str(exc))
            previous = self.agent_owner.get(agent)
            if previous is not None:
                self.users[previous].agents.discard(agent)
            self.users[signer].agents.add(agent)
            self.agent_owner[agent] = signer
        return {"status": "ok", "response": {"type": "default"}}

    # --- orders (all under the lock) --------------------------------------------------------------------------
    def _orders(self, user: str, action: dict, now: int) -> dict:
        wires = action.get("orders")
        if not isinstance(wires, list):
            return _err("orders must be a list")
        statuses = [self._order(user, wire, now) for wire in wires]
        return {"status": "ok", "response": {"type": "order", "data": {"statuses": statuses}}}

    def _order(self, user: str, wire: Any, now: int) -> dict:
        parsed = self._parse_order(user, wire, now)
        if isinstance(parsed, str):
            return {"error": parsed}
        order = parsed
        fault = self._take_fault(frozenset({"reject", "partial_fill"}), info_type=None)
        if fault is not None and fault.kind == "reject":
            return self._reject(order, fault.error)
        pair = self.spot_pairs.get(order.asset)
        if pair is not None:
            if order.reduce_only:
                return self._reject(order, ERR_SPOT_REDUCE_ONLY)
            if order.limit_px * order.sz < MIN_ORDER_VALUE_USD:
                return self._reject(order, ERR_MIN_VALUE)
            if not self._spot_affordable(order, pair):
                return self._reject(order, ERR_SPOT_BALANCE)
        else:
            position = self._position(user, order.coin)
            if order.reduce_only:
                if not position.szi or (position.szi > 0) == order.is_buy:
                    return self._reject(order, ERR_REDUCE_ONLY)
                order.sz = order.orig_sz = min(order.sz, abs(position.szi))
            elif order.limit_px * order.sz < MIN_ORDER_VALUE_USD:
                return self._reject(order, ERR_MIN_VALUE)
            if self._opening_cost(order, position) > self._free_usdc(user):
                return self._reject(order, ERR_MARGIN)
        fills = self._match(order)
        if order.tif == "Alo" and fills:
            return self._reject(order, ERR_ALO.format(bbo=self._bbo(order.coin)))
        if fault is not None and fault.fraction is not None:
            fills = _limit_fills(fills, _round_size(order.sz * fault.fraction, self._sz_decimals(order.asset)))
        if order.tif == "Ioc" and not fills:
            return self._reject(order, ERR_IOC)
        for fill in fills:
            self._take_liquidity(order.coin, order.is_buy, fill)
            self._apply_fill(order, fill.px, fill.sz, crossed=True, now=now)
        self.orders[order.oid] = order
        filled = sum((f.sz for f in fills), Decimal(0))
        extra = {"cloid": order.cloid} if order.cloid else {}
        if order.sz and order.tif != "Ioc":
            return {"resting": {"oid": order.oid, **extra}}
        order.status = "filled" if not order.sz else "canceled"
        order.status_timestamp = now
        notional = sum((f.px * f.sz for f in fills), Decimal(0))
        avg_px = (notional / filled).quantize(AVG_PX_QUANTUM, rounding=ROUND_HALF_EVEN)
        return {"filled": {"totalSz": format_decimal(filled), "avgPx": format_decimal(avg_px), "oid": order.oid,
                           **extra}}

    def _parse_order(self, user: str, wire: Any, now: int) -> SimOrder | str:
        """A new open order from its wire form, or the error text (nothing recorded for shape errors)."""
        if not isinstance(wire, dict):
            return "Invalid order"
        asset, is_buy, reduce_only, cloid = wire.get("a"), wire.get("b"), wire.get("r", False), wire.get("c")
        px, sz = _decimal(wire.get("p")), _decimal(wire.get("s"))
        order_type = wire.get("t")
        limit = order_type.get("limit") if isinstance(order_type, dict) else None
        tif = limit.get("tif") if isinstance(limit, dict) else None
        if not _is_int(asset) or not isinstance(is_buy, bool) or not isinstance(reduce_only, bool):
            return "Invalid order"
        if tif not in ("Gtc", "Ioc", "Alo"):
            return "Only limit orders (tif Gtc, Ioc, Alo) are simulated"
        pair = self.spot_pairs.get(asset)
        if not 0 <= asset < len(self.universe) and pair is None:
            return ERR_ASSET
        if cloid is not None and (not isinstance(cloid, str) or len(cloid) != 34 or not _is_hex(cloid)):
            return "Invalid cloid"
        cloid = cloid.lower() if cloid is not None else None
        sz_decimals = self._sz_decimals(asset)
        if sz is None or sz <= 0 or _decimals(sz) > sz_decimals:
            return ERR_SIZE
        if px is None or px <= 0 or not _valid_price(px, sz_decimals, spot=pair is not None):
            return ERR_TICK
        order = SimOrder(
            oid=self._next_oid, user=user, coin=pair.name if pair else self.universe[asset]["name"], asset=asset,
            is_buy=is_buy,
            limit_px=px, orig_sz=sz, sz=sz, tif=tif, reduce_only=reduce_only, cloid=cloid, timestamp=now,
            status_timestamp=now,
        )
        if cloid is not None and any(o.user == user and o.cloid == cloid and o.status != "rejected"
                                     for o in self.orders.values()):
            return ERR_DUPLICATE_CLOID
        self._next_oid += 1
        return order

    def _reject(self, order: SimOrder, error: str) -> dict:
        order.status, order.sz = "rejected", Decimal(0)
        self.orders[order.oid] = order  # kept so that orderStatus by cloid can say "rejected"
        return {"error": error}

    def _sz_decimals(self, asset: int) -> int:
        pair = self.spot_pairs.get(asset)
        return pair.sz_decimals if pair is not None else int(self.universe[asset]["szDecimals"])

    def _spot_affordable(self, order: SimOrder, pair: SpotPair) -> bool:
        """A spot buy needs free USDC for its limit notional plus the taker fee on it; a sell needs the free
        token balance (balance - resting sells): no margin, no shorting."""
        if order.is_buy:
            return order.limit_px * order.sz + _fee(order.limit_px * order.sz, SPOT_TAKER_FEE_RATE) <= (
                self._free_usdc(order.user))
        return order.sz <= self.users[order.user].spot.get(pair.base, Decimal(0)) - self._spot_hold(order.user,
                                                                                                   pair.base)

    def _spot_hold(self, user: str, token: str) -> Decimal:
        """Token size held by the user's resting spot sells of pairs with base ``token``."""
        return sum((o.sz for o in self.orders.values() if o.user == user and o.status == "open" and not o.is_buy
                    and (p := self.spot_pairs.get(o.asset)) is not None and p.base == token), Decimal(0))

    def _spot_usdc_hold(self, user: str) -> Decimal:
        """USDC held by the user's resting spot buys (remaining size x limit price)."""
        return sum((o.sz * o.limit_px for o in self.orders.values() if o.user == user and o.status == "open"
                    and o.is_buy and o.asset in self.spot_pairs), Decimal(0))

    def _position(self, user: str, coin: str) -> SimPosition:
        return self.users[user].positions.setdefault(coin, SimPosition())

    def _opening_cost(self, order: SimOrder, position: SimPosition) -> Decimal:
        """USD the order would lock at 1x: limit price times the size that opens or increases a position."""
        if order.reduce_only:
            return Decimal(0)
        closing = min(order.sz, abs(position.szi)) if position.szi and (position.szi > 0) != order.is_buy else 0
        return order.limit_px * (order.sz - closing)

    def _free_usdc(self, user: str) -> Decimal:
        account = self.users[user]
        used = sum((abs(p.szi) * p.entry_px for p in account.positions.values()), Decimal(0))
        held = sum((o.sz * o.limit_px for o in self.orders.values()
                    if o.user == user and o.status == "open" and not o.reduce_only
                    and (o.is_buy or o.asset not in self.spot_pairs)), Decimal(0))
        return account.usdc - used - held

    def _book_live(self, coin: str) -> bool:
        return coin in self.books and coin not in self.mid_overrides

    def _levels(self, coin: str, is_buy: bool) -> list[tuple[int, Decimal, Decimal]]:
        """(level index, px, size left) of the recorded side a buy (asks) or sell (bids) takes from."""
        side = 1 if is_buy else 0
        levels = []
        for n, level in enumerate(self.books[coin]["levels"][side]):
            px, sz = _decimal(level.get("px")), _decimal(level.get("sz"))
            if px is None or sz is None:
                continue
            left = sz - self.book_taken.get((coin, side, n), Decimal(0))
            if left > 0:
                levels.append((n, px, left))
        return levels

    def _match(self, order: SimOrder) -> list[_Fill]:
        """The fills a new order would get now, without applying them."""
        if self._book_live(order.coin):
            fills, wanted = [], order.sz
            for _, px, left in self._levels(order.coin, order.is_buy):
                if wanted <= 0 or (px > order.limit_px if order.is_buy else px < order.limit_px):
                    break
                take = min(wanted, left)
                fills.append(_Fill(px, take))
                wanted -= take
            return fills
        mid = self.mid(order.coin)
        if mid is None:
            return []
        crosses = order.limit_px >= mid if order.is_buy else order.limit_px <= mid
        return [_Fill(mid, order.sz)] if crosses else []

    def _take_liquidity(self, coin: str, is_buy: bool, fill: _Fill) -> None:
        if not self._book_live(coin):
            return  # mid liquidity is unlimited
        side = 1 if is_buy else 0
        wanted = fill.sz
        for n, px, left in self._levels(coin, is_buy):
            if px == fill.px and wanted > 0:
                take = min(wanted, left)
                self.book_taken[(coin, side, n)] = self.book_taken.get((coin, side, n), Decimal(0)) + take
                wanted -= take

    def _bbo(self, coin: str) -> str:
        if self._book_live(coin):
            bids, asks = self._levels(coin, False), self._levels(coin, True)
            bid = format_decimal(bids[0][1]) if bids else "None"
            ask = format_decimal(asks[0][1]) if asks else "None"
            return f"{bid}@{ask}"
        mid = self.mid(coin)
        text = format_decimal(mid) if mid is not None else "None"
        return f"{text}@{text}"

    def _apply_fill(self, order: SimOrder, px: Decimal, sz: Decimal, *, crossed: bool, now: int) -> None:
        """Book one fill of ``order``: position, balance (closed P&L - fee), the fill record, the order's size."""
        pair = self.spot_pairs.get(order.asset)
        if pair is not None:
            self._apply_spot_fill(order, pair, px, sz, crossed=crossed, now=now)
            return
        account = self.users[order.user]
        position = self._position(order.user, order.coin)
        start = position.szi
        signed = sz if order.is_buy else -sz
        closed_pnl = Decimal(0)
        if not start or (start > 0) == order.is_buy:
            total = abs(start) + sz
            position.entry_px = (abs(start) * position.entry_px + sz * px) / total
            position.szi = start + signed
            direction = "Open Long" if order.is_buy else "Open Short"
        else:
            closing = min(sz, abs(start))
            closed_pnl = ((px - position.entry_px) * closing * (1 if start > 0 else -1)).quantize(
                PNL_QUANTUM, rounding=ROUND_HALF_EVEN)
            position.szi = start + signed
            if not position.szi:
                position.entry_px = Decimal(0)
                direction = "Close Long" if start > 0 else "Close Short"
            elif (position.szi > 0) != (start > 0):
                position.entry_px = px
                direction = "Long > Short" if start > 0 else "Short > Long"
            else:
                direction = "Close Long" if start > 0 else "Close Short"
        fee = _fee(px * sz, TAKER_FEE_RATE if crossed else MAKER_FEE_RATE)
        account.usdc += closed_pnl - fee
        self._record_fill(order, px, sz, start=start, direction=direction, closed_pnl=closed_pnl, fee=fee,
                          crossed=crossed, now=now)

    def _apply_spot_fill(self, order: SimOrder, pair: SpotPair, px: Decimal, sz: Decimal, *, crossed: bool,
                         now: int) -> None:
        """Book one spot fill: the token balance moves by ``sz``, USDC by the notional, the fee (spot rate) is
        taken in USDC; ``entryNtl`` grows by a buy's notional and shrinks pro rata on a sell."""
        account = self.users[order.user]
        start = account.spot.get(pair.base, Decimal(0))
        notional = px * sz
        entry = account.spot_entry_ntl.get(pair.base, Decimal(0))
        if order.is_buy:
            account.spot[pair.base] = start + sz
            account.spot_entry_ntl[pair.base] = entry + notional
            account.usdc -= notional
        else:
            account.spot[pair.base] = start - sz
            account.spot_entry_ntl[pair.base] = entry * (start - sz) / start if start else Decimal(0)
            account.usdc += notional
        fee = _fee(notional, SPOT_TAKER_FEE_RATE if crossed else SPOT_MAKER_FEE_RATE)
        account.usdc -= fee
        self._record_fill(order, px, sz, start=start, direction="Buy" if order.is_buy else "Sell",
                          closed_pnl=Decimal(0), fee=fee, crossed=crossed, now=now)

    def _record_fill(self, order: SimOrder, px: Decimal, sz: Decimal, *, start: Decimal, direction: str,
                     closed_pnl: Decimal, fee: Decimal, crossed: bool, now: int) -> None:
        order.sz -= sz
        tid = self._next_tid
        self._next_tid += 1
        fill = {
            "coin": order.coin, "px": format_decimal(px), "sz": format_decimal(sz),
            "side": "B" if order.is_buy else "A", "time": now, "startPosition": format_decimal(start), "dir": direction,
            "closedPnl": format_decimal(closed_pnl), "hash": "0x" + keccak(text=f"{order.oid}:{tid}").hex(),
            "oid": order.oid, "crossed": crossed, "fee": format_decimal(fee), "tid": tid, "feeToken": "USDC",
        }
        if order.cloid:
            fill["cloid"] = order.cloid
        self.fills.setdefault(order.user, []).insert(0, fill)  # newest first, as Hyperliquid answers

    def _fill_crossed_resting(self, coins: set[str]) -> list[int]:
        """Fill (as maker, whole, at the limit price) every open order in ``coins`` that the mid reaches."""
        now = self.clock()
        filled = []
        for order in sorted(self.orders.values(), key=lambda o: o.oid):
            if order.status != "open" or order.coin not in coins:
                continue
            mid = self.mid(order.coin)
            if mid is None or (mid > order.limit_px if order.is_buy else mid < order.limit_px):
                continue
            size = order.sz
            if order.reduce_only:
                position = self._position(order.user, order.coin)
                if not position.szi or (position.szi > 0) == order.is_buy:
                    order.status, order.status_timestamp = "canceled", now  # nothing left to reduce
                    continue
                size = min(size, abs(position.szi))
            self._apply_fill(order, order.limit_px, size, crossed=False, now=now)
            order.sz = Decimal(0)
            order.status, order.status_timestamp = "filled", now
            filled.append(order.oid)
        return filled

    def _cancels(self, user: str, action: dict, now: int) -> dict:
        cancels = action.get("cancels")
        if not isinstance(cancels, list):
            return _err("cancels must be a list")
        statuses: list[Any] = []
        for cancel in cancels:
            order = self._find_cancel_target(user, action["type"], cancel)
            if order is None:
                statuses.append({"error": ERR_MISSING_ORDER})
                continue
            order.status, order.status_timestamp = "canceled", now
            statuses.append("success")
        return {"status": "ok", "response": {"type": "cancel", "data": {"statuses": statuses}}}

    def _find_cancel_target(self, user: str, kind: str, cancel: Any) -> SimOrder | None:
        if not isinstance(cancel, dict):
            return None
        if kind == "cancel":
            asset, oid = cancel.get("a"), cancel.get("o")
            order = self.orders.get(oid) if _is_int(oid) else None
        else:
            asset, cloid = cancel.get("asset"), cancel.get("cloid")
            order = next((o for o in self.orders.values() if o.user == user and o.status == "open"
                          and isinstance(cloid, str) and o.cloid == cloid.lower()), None)
        if order is None or order.user != user or order.asset != asset or order.status != "open":
            return None
        return order

    # --- the Info API -----------------------------------------------------------------------------------------
    def info_answer(self, request: Any) -> Any | None:
        """The simulator's answer (JSON value) to one parsed ``/info`` request, or None when the recordings
        should answer (module docstring lists what is answered here)."""
        if not isinstance(request, dict):
            return None
        kind, dex = request.get("type"), request.get("dex", "")
        if dex not in ("", None):
            return None
        if kind == "meta" and "dex" in request:  # the SDK's form; {"type": "meta"} is answered as recorded
            return self.meta
        if kind == "spotMeta":
            return self.spot_meta
        if kind == "allMids":
            with self._lock:
                recorded = self.recorded_mids | self.recorded_spot_mids
                return {coin: format_decimal(self.mid_overrides[coin]) if coin in self.mid_overrides else mid
                        for coin, mid in recorded.items()}
        raw_user = request.get("user")
        user = raw_user.lower() if isinstance(raw_user, str) else None
        with self._lock:
            if user is None or user not in self.users:
                return None
            return self._user_info(kind, user, request)

    def _user_info(self, kind: Any, user: str, request: dict) -> Any | None:
        open_orders = sorted((o for o in self.orders.values() if o.user == user and o.status == "open"),
                             key=lambda o: o.oid, reverse=True)
        if kind == "openOrders":
            return [self._open_order(o) for o in open_orders]
        if kind == "frontendOpenOrders":
            return [self._frontend_order(o) for o in open_orders]
        if kind == "userFills":
            return list(self.fills.get(user, []))
        if kind == "userFillsByTime":
            start, end = request.get("startTime"), request.get("endTime")
            if not _is_int(start) or (end is not None and not _is_int(end)):
                return None  # the recordings' handler answers Hyperliquid's 422
            return [f for f in self.fills.get(user, []) if start <= f["time"] and (end is None or f["time"] <= end)]
        if kind == "orderStatus":
            return self._order_status(user, request.get("oid"))
        if kind == "clearinghouseState":
            return self._clearinghouse(user)
        if kind == "extraAgents":  # the recorded shape (test_extra_agents.yaml); SIMULATED: no agent expires
            return [{"name": f"agent {n}", "address": agent, "validUntil": AGENT_VALID_UNTIL_MS}
                    for n, agent in enumerate(sorted(self.users[user].agents), start=1)]
        if kind == "spotClearinghouseState":
            return self._spot_clearinghouse(user)
        return None

    def _open_order(self, order: SimOrder) -> dict:
        data = {"coin": order.coin, "limitPx": format_decimal(order.limit_px), "oid": order.oid,
                "side": "B" if order.is_buy else "A", "sz": format_decimal(order.sz), "timestamp": order.timestamp,
                "origSz": format_decimal(order.orig_sz)}
        if order.cloid:
            data["cloid"] = order.cloid
        return data

    def _frontend_order(self, order: SimOrder) -> dict:
        return {
            "children": [], "cloid": order.cloid, "coin": order.coin, "isPositionTpsl": False, "isTrigger": False,
            "limitPx": format_decimal(order.limit_px), "oid": order.oid, "orderType": "Limit",
            "origSz": format_decimal(order.orig_sz), "reduceOnly": order.reduce_only,
            "side": "B" if order.is_buy else "A", "sz": format_decimal(order.sz), "tif": order.tif,
            "timestamp": order.timestamp, "triggerCondition": "N/A", "triggerPx": "0.0",
        }

    def _order_status(self, user: str, oid: Any) -> dict:
        if _is_int(oid):
            order = self.orders.get(oid)
        elif isinstance(oid, str):
            matches = [o for o in self.orders.values() if o.user == user and o.cloid == oid.lower()]
            order = max(matches, key=lambda o: o.oid) if matches else None
        else:
            order = None
        if order is None or order.user != user:
            return {"status": "unknownOid"}
        return {"status": "order", "order": {"order": self._frontend_order(order), "status": order.status,
                                             "statusTimestamp": order.status_timestamp}}

    def _spot_clearinghouse(self, user: str) -> dict:
        account = self.users[user]
        balances = [{"coin": "USDC", "token": USDC_TOKEN, "total": format_decimal(account.usdc),
                     "hold": format_decimal(self._spot_usdc_hold(user)), "entryNtl": "0.0"}]
        token_of = {pair.base: pair.base_token for pair in self.spot_pairs.values()}
        for token, total in sorted(account.spot.items(), key=lambda item: token_of[item[0]]):
            if total:
                entry = account.spot_entry_ntl.get(token, Decimal(0)).quantize(FEE_QUANTUM, rounding=ROUND_HALF_EVEN)
                balances.append({"coin": token, "token": token_of[token], "total": format_decimal(total),
                                 "hold": format_decimal(self._spot_hold(user, token)),
                                 "entryNtl": format_decimal(entry)})
        return {"balances": balances}

    def _clearinghouse(self, user: str) -> dict:
        account = self.users[user]
        positions, upnl_total, ntl_total, signed_ntl = [], Decimal(0), Decimal(0), Decimal(0)
        for coin, position in sorted(account.positions.items(), key=lambda item: self.asset_of[item[0]]):
            if not position.szi:
                continue
            mid = self.mid(coin) or position.entry_px
            value = abs(position.szi) * mid
            upnl = position.szi * (mid - position.entry_px)
            upnl_total += upnl
            ntl_total += value
            signed_ntl += position.szi * mid
            positions.append({"position": {
                "coin": coin, "szi": format_decimal(position.szi),
                "entryPx": format_decimal(position.entry_px.quantize(AVG_PX_QUANTUM, rounding=ROUND_HALF_EVEN)),
                "positionValue": format_decimal(value), "unrealizedPnl": format_decimal(upnl),
                "returnOnEquity": format_decimal((upnl / (abs(position.szi) * position.entry_px)).quantize(
                    AVG_PX_QUANTUM, rounding=ROUND_HALF_EVEN)),
                "leverage": {"type": "cross", "value": 1}, "liquidationPx": None, "marginUsed": format_decimal(value),
            }, "type": "oneWay"})
        account_value = account.usdc + upnl_total
        summary = {"accountValue": format_decimal(account_value), "totalNtlPos": format_decimal(ntl_total),
                   "totalRawUsd": format_decimal(account_value - signed_ntl),
                   "totalMarginUsed": format_decimal(ntl_total)}
        return {"marginSummary": summary, "crossMarginSummary": dict(summary), "crossMaintenanceMarginUsed": "0.0",
                "withdrawable": format_decimal(max(Decimal(0), account_value - ntl_total)),
                "assetPositions": positions, "time": self.clock()}

    # --- control endpoints ------------------------------------------------------------------------------------
    def control(self, verb: str, path: str, body: bytes) -> tuple[int, Any]:
        """Answer ``/_replay/hyperliquid/<accounts|mids|state|faults>``: (HTTP status, JSON value); 400 with
        ``{"error"}`` for bad input, 404 / 405 otherwise."""
        name = path.removeprefix("/_replay/hyperliquid/").strip("/")
        try:
            if name == "accounts" and verb == "POST":
                spec = _json_object(body)
                agents = spec.get("agents", [])
                usdc = _decimal(str(spec.get("usdc", "0")))
                raw_spot = spec.get("spot")
                if not isinstance(agents, list) or usdc is None or not isinstance(raw_spot, dict | None):
                    raise ValueError("agents must be a list, usdc a decimal string and spot an object")
                spot = {str(t): _decimal(str(a)) for t, a in raw_spot.items()} if raw_spot is not None else None
                if spot is not None and any(a is None for a in spot.values()):
                    raise ValueError("spot balances must be decimal strings")
                return 200, self.account_set(user=spec.get("user", ""), agents=agents, usdc=usdc,
                                             spot={t: a for t, a in spot.items() if a is not None}
                                             if spot is not None else None)
            if name == "mids" and verb == "POST":
                spec = _json_object(body)
                overrides = {coin: _decimal(str(mid)) for coin, mid in spec.items()}
                if any(v is None for v in overrides.values()):
                    raise ValueError("mids must be decimal strings")
                return 200, {"filled": self.mids_set({c: v for c, v in overrides.items() if v is not None})}
            if name == "state" and verb == "GET":
                return 200, self.state()
            if name == "state" and verb == "DELETE":
                self.reset()
                return 200, {"reset": True}
            if name == "faults" and verb == "POST":
                return 200, {"added": self.faults_add(json.loads(body))}
            if name == "faults" and verb == "GET":
                return 200, self.faults_active()
            if name == "faults" and verb == "DELETE":
                self.faults_clear()
                return 200, {"cleared": True}
        except (ValueError, TypeError) as exc:
            return 400, {"error": str(exc)}
        if name in ("accounts", "mids", "state", "faults"):
            return 405, {"error": f"{verb} not allowed"}
        return 404, {"error": "not found"}


# --- helpers -----------------------------------------------------------------------------------------------------
def _recorded(index: HyperliquidIndex, request_type: str, cassette: str) -> Any:
    recordings = index.by_key.get((request_type, None), [])
    preferred = [r for r in recordings if r.source.endswith("/" + cassette)]
    chosen = (preferred or recordings)[:1]
    return chosen[0].value if chosen else None


def _err(message: str) -> dict:
    return {"status": "err", "response": message}


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_hex(text: str) -> bool:
    try:
        bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        return False
    return text.startswith("0x")


def _address(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 42 or not _is_hex(value):
        raise ValueError(f"not an address: {value!r}")
    return value.lower()


def _json_object(body: bytes) -> dict:
    value = json.loads(body)
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value


def _valid_price(px: Decimal, sz_decimals: int, *, spot: bool) -> bool:
    """Hyperliquid's price rule: an integer, or <= 5 significant figures and <= (8 for spot, 6 for perps) -
    szDecimals decimals."""
    if px == px.to_integral_value():
        return True
    normalized = px.normalize()
    return (len(normalized.as_tuple().digits) <= MAX_SIGNIFICANT_FIGURES
            and _decimals(normalized) <= (SPOT_MAX_DECIMALS if spot else PERP_MAX_DECIMALS) - sz_decimals)


def _fee(notional: Decimal, rate: Decimal) -> Decimal:
    return (notional * rate).quantize(FEE_QUANTUM, rounding=ROUND_HALF_EVEN)


def _spot_pairs(spot_meta: dict | None, mids: dict[str, str]) -> dict[int, SpotPair]:
    """The tradable pairs of ``spot_meta`` by asset id (10000 + ``index``, as the SDK's Info computes it): quoted
    in USDC (token 0) and with a recorded mid under the same name. Malformed entries are skipped."""
    if not isinstance(spot_meta, dict):
        return {}
    tokens = {t.get("index"): t for t in spot_meta.get("tokens", []) if isinstance(t, dict)}
    pairs = {}
    for entry in spot_meta.get("universe", []):
        try:
            name, index, (base, quote) = entry["name"], entry["index"], entry["tokens"]
            token = tokens[base]
            pair = SpotPair(name=name, asset=SPOT_ASSET_OFFSET + int(index), base=str(token["name"]),
                            base_token=int(base), sz_decimals=int(token["szDecimals"]))
        except (KeyError, TypeError, ValueError):
            continue
        if quote == USDC_TOKEN and name in mids:
            pairs[pair.asset] = pair
    return pairs


def _round_size(size: Decimal, sz_decimals: int) -> Decimal:
    return size.quantize(Decimal(1).scaleb(-sz_decimals), rounding=ROUND_DOWN)


def _limit_fills(fills: list[_Fill], limit: Decimal) -> list[_Fill]:
    kept, left = [], limit
    for fill in fills:
        if left <= 0:
            break
        kept.append(_Fill(fill.px, min(fill.sz, left)))
        left -= kept[-1].sz
    return kept


def _parse_fault(spec: dict) -> ExchangeFault:
    allowed = {"kind", "times", "delay_s", "error", "fraction", "info_type"}
    unknown = set(spec) - allowed
    if unknown:
        raise ValueError(f"fault fields are {sorted(allowed)}")
    kind = spec.get("kind")
    if kind not in FAULT_KINDS:
        raise ValueError(f"kind must be one of {sorted(FAULT_KINDS)}")
    times = spec.get("times", 1)
    if not _is_int(times) or times < 1:
        raise ValueError("times must be an integer >= 1")
    delay_s = spec.get("delay_s", 0)
    if isinstance(delay_s, bool) or not isinstance(delay_s, int | float) or delay_s < 0:
        raise ValueError("delay_s must be a number >= 0")
    error = spec.get("error", DEFAULT_REJECT_ERROR)
    if not isinstance(error, str) or not error:
        raise ValueError("error must be a non-empty string")
    fraction = None
    if kind == "partial_fill":
        fraction = _decimal(str(spec.get("fraction")))
        if fraction is None or not 0 < fraction < 1:
            raise ValueError("partial_fill needs a fraction between 0 and 1 (exclusive)")
    info_type = spec.get("info_type")
    if info_type is not None and (not isinstance(info_type, str) or kind not in ("drop_connection", "rate_limit")):
        raise ValueError("info_type is a string, for drop_connection and rate_limit only")
    return ExchangeFault(kind, times, float(delay_s), error, fraction, info_type)
