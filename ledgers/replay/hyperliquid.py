"""Hyperliquid Info API (``POST /info``) answered from real recordings, with a request-weight log.

Source: the VCR cassettes in ``CASSETTE_DIRS`` under the data directory (``settings.REPLAY_DATA_DIR``),
read in place: ``hyperliquid-python-sdk-cassettes/*.yaml`` (the official SDK's tests, mainnet,
2023-2025) and ``rotki-test-caching-cassettes/hyperliquid/*.yaml`` (rotki's tests, 2025-2026). Every
interaction whose request URI ends with ``/info`` and whose recorded status is 200 is indexed by the
request body's ``type`` and ``user`` (lowercased; no user = None). See each folder's PROVENANCE.md.

How a request is answered (``HyperliquidInfo.answer``):

1. ``userFillsByTime``, ``userFunding``, ``userNonFundingLedgerUpdates`` (``TIME_FILTERED_TYPES``):
   DERIVED. The user's recorded items (for fills: every ``userFills`` and ``userFillsByTime``
   recording of that user; else recordings of the same type) are merged: the longest recording as
   recorded, plus items of the others it does not contain. The answer is that list filtered to
   ``startTime <= item["time"] <= endTime`` (ms; ``endTime`` absent or null = no upper bound), in
   the recorded order. For every recorded window this equals the recorded answer. ``startTime`` is
   required (as on Hyperliquid); a user without recordings gets ``[]``.
2. ``userFills``: the user's ``userFills`` recording; a user with only ``userFillsByTime``
   recordings gets those fills (merged as in 1, unfiltered); DERIVED in that case.
3. Any other request: the recording with the same body (user lowercased, null fields dropped, key
   order ignored), else the first recording of the same ``(type, user)`` whose other fields, time
   fields aside, are equal too (``fundingHistory`` of BTC with another window gets the first recorded
   BTC window; ``l2Book`` of an unrecorded coin gets nothing), served byte for byte.
4. Nothing recorded: ``[]`` for the types Hyperliquid answers with a list (``LIST_TYPES``, which is
   what it answers for a user without history); otherwise HTTP 422 ``{"error": "no recording for
   this user"}`` (or ``"... for this request"`` without a user), e.g. ``clearinghouseState`` of an
   unrecorded user. No recording shows what Hyperliquid answers there, so the replay refuses rather
   than invent an empty account that a test could mistake for a real one.
5. A body that is not a JSON object with a string ``type`` (and, when present, a string ``user``), a
   ``LIST_TYPES`` request without ``user``, or a time-filtered request without an integer
   ``startTime``: HTTP 422 ``{"error": "Failed to deserialize the JSON body into the target type: ..."}``
   (Hyperliquid's 422 wording).

Weights: ``info_request_weight`` (see ``INFO_BASE_WEIGHTS``) gives what Hyperliquid charges for one
request; ``HyperliquidInfo.weight_in_window`` sums it over the answered requests of the last N seconds.
"""

import json
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

logger = logging.getLogger(__name__)

CASSETTE_DIRS = ("hyperliquid-python-sdk-cassettes", "rotki-test-caching-cassettes/hyperliquid")
INFO_URI_SUFFIX = "/info"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

TIME_FIELDS = frozenset({"startTime", "endTime"})
FILL_TYPES = frozenset({"userFills", "userFillsByTime"})
TIME_FILTERED_TYPES = frozenset({"userFillsByTime", "userFunding", "userNonFundingLedgerUpdates"})
# Per-user requests Hyperliquid answers with a JSON list; an unknown user gets [] for these (no user: 422).
LIST_TYPES = frozenset({
    "userFills", "userFillsByTime", "userFunding", "userNonFundingLedgerUpdates", "openOrders",
    "frontendOpenOrders", "historicalOrders", "userTwapSliceFills", "userTwapSliceFillsByTime",
    "delegatorHistory", "delegatorRewards", "delegations", "extraAgents", "userVaultEquities", "subAccounts",
})

# Hyperliquid's published request weights (1,200 per minute per IP are allowed), in one place:
# https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/rate-limits-and-user-limits
# Every other info request weighs DEFAULT_INFO_WEIGHT (meta, spotMeta, metaAndAssetCtxs, openOrders, ...).
INFO_BASE_WEIGHTS = {
    "clearinghouseState": 2,
    "spotClearinghouseState": 2,
    "l2Book": 2,
    "allMids": 2,
    "orderStatus": 2,
    "exchangeStatus": 2,
    "userRole": 60,
}
DEFAULT_INFO_WEIGHT = 20
# These add 1 per ITEMS_PER_EXTRA_WEIGHT items returned, rounded down (items // 20). Hyperliquid's page
# charges candleSnapshot per 60 items and does not list userNonFundingLedgerUpdates; both are counted
# per 20 here, like ledgers.glass.hyperliquid.client, so the replay never reports less weight than the client
# budgets for.
ITEM_WEIGHTED_TYPES = frozenset({
    "userFills", "userFillsByTime", "userFunding", "userNonFundingLedgerUpdates", "historicalOrders",
    "fundingHistory", "candleSnapshot",
})
ITEMS_PER_EXTRA_WEIGHT = 20

DESERIALIZE_ERROR = "Failed to deserialize the JSON body into the target type"
NO_USER_RECORDING = b'{"error":"no recording for this user"}'
NO_REQUEST_RECORDING = b'{"error":"no recording for this request"}'


def info_request_weight(request_type: str | None, items: int = 0) -> int:
    """Weight Hyperliquid charges for one info request of ``request_type`` answering ``items`` list items.

    Shape: ``INFO_BASE_WEIGHTS`` (else 20) plus ``items // 20`` for ``ITEM_WEIGHTED_TYPES``. A request
    whose type could not be read (None) weighs the default 20.
    """
    base = INFO_BASE_WEIGHTS.get(request_type or "", DEFAULT_INFO_WEIGHT)
    if request_type in ITEM_WEIGHTED_TYPES:
        base += items // ITEMS_PER_EXTRA_WEIGHT
    return base


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _request_key(body: dict) -> str:
    """The body as matched against recordings: ``user`` lowercased, null fields dropped, keys sorted."""
    normalized = {k: v for k, v in body.items() if v is not None}
    if isinstance(normalized.get("user"), str):
        normalized["user"] = normalized["user"].lower()
    return _canonical(normalized)


def _identity_key(body: dict) -> str:
    """``_request_key`` without the time fields (top level and inside ``req``, as candleSnapshot sends them)."""
    stripped = {k: v for k, v in body.items() if k not in TIME_FIELDS}
    if isinstance(stripped.get("req"), dict):
        stripped["req"] = {k: v for k, v in stripped["req"].items() if k not in TIME_FIELDS}
    return _request_key(stripped)


def read_cassette(path: Path) -> list[dict]:
    """The ``interactions`` of a VCR cassette (``yaml`` safe loader). Raises: OSError, yaml.YAMLError,
    KeyError / TypeError when the file is not a cassette."""
    doc = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
    interactions = doc["interactions"]
    if not isinstance(interactions, list):
        raise TypeError("interactions is not a list")
    return interactions


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes | bytearray) else str(value)


@dataclass(frozen=True)
class InfoRecording:
    """One recorded ``/info`` exchange: the request body, the response body bytes and their JSON."""

    request: dict
    body: bytes
    value: Any
    source: str


@dataclass(frozen=True)
class InfoAnswer:
    """What the replay answers: HTTP ``status``, JSON ``body`` bytes, the request's ``type``/``user``
    (None when unreadable) and ``items`` (length of a list answer, else 0)."""

    status: int
    body: bytes
    request_type: str | None
    user: str | None
    items: int


@dataclass
class HyperliquidIndex:
    """Recorded Info API answers. Build with ``HyperliquidIndex.load(data_dir)``.

    ``by_key``: ``(type, user)`` -> recordings in file order (sorted paths of ``CASSETTE_DIRS``);
    ``by_body``: canonical request body -> first recording with that body; ``by_identity``: the same
    without the time fields (``TIME_FIELDS``, also inside ``req``) -> first recording.
    """

    by_key: dict[tuple[str, str | None], list[InfoRecording]] = field(default_factory=dict)
    by_body: dict[str, InfoRecording] = field(default_factory=dict)
    by_identity: dict[str, InfoRecording] = field(default_factory=dict)
    files: int = 0
    interactions: int = 0

    @classmethod
    def load(cls, data_dir: Path) -> "HyperliquidIndex":
        """Index the cassettes of ``CASSETTE_DIRS`` under ``data_dir``. Raises: nothing (bad files and
        interactions are logged and skipped; a missing folder indexes nothing)."""
        index = cls()
        for folder in CASSETTE_DIRS:
            for path in sorted((Path(data_dir) / folder).glob("*.yaml")):
                index._add_cassette(path)
        return index

    def _add_cassette(self, path: Path) -> None:
        try:
            interactions = read_cassette(path)
        except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, TypeError) as exc:
            logger.warning("replay.hyperliquid.bad_cassette", extra={"path": str(path), "error": str(exc)})
            return
        self.files += 1
        for item in interactions:
            try:
                request, response = item["request"], item["response"]
                if request.get("method", "POST").upper() != "POST" or not request["uri"].endswith(INFO_URI_SUFFIX):
                    continue
                if int(response["status"]["code"]) != 200:
                    continue
                body = json.loads(_text(request["body"]))
                raw = _text(response["body"]["string"]).encode()
                value = json.loads(raw)
                if not isinstance(body, dict) or not isinstance(body.get("type"), str):
                    raise ValueError("request body without a type")
            except (KeyError, TypeError, ValueError) as exc:
                logger.warning("replay.hyperliquid.bad_interaction", extra={"path": str(path), "error": str(exc)})
                continue
            user = body.get("user")
            recording = InfoRecording(body, raw, value, str(path))
            key = (body["type"], user.lower() if isinstance(user, str) else None)
            self.by_key.setdefault(key, []).append(recording)
            self.by_body.setdefault(_request_key(body), recording)
            self.by_identity.setdefault(_identity_key(body), recording)
            self.interactions += 1

    @property
    def users(self) -> set[str]:
        """Every user address (lowercase) with at least one recording."""
        return {user for _, user in self.by_key if user is not None}

    @property
    def types(self) -> set[str]:
        """Every recorded request type."""
        return {request_type for request_type, _ in self.by_key}

    def merged_items(self, types: Iterable[str], user: str | None) -> list[dict] | None:
        """The user's recorded list items of ``types``: the longest recording as recorded, then the
        items of the other recordings that it does not hold (equal JSON), in their order. None when
        nothing is recorded. Identical items within one recording are all kept."""
        recordings = [r for t in types for r in self.by_key.get((t, user), []) if isinstance(r.value, list)]
        if not recordings:
            return None
        recordings.sort(key=lambda r: len(r.value), reverse=True)  # stable: file order among equals
        merged = list(recordings[0].value)
        seen = {_canonical(item) for item in merged}
        for recording in recordings[1:]:
            for item in recording.value:
                text = _canonical(item)
                if text not in seen:
                    seen.add(text)
                    merged.append(item)
        return merged


class HyperliquidInfo:
    """Answers ``POST /info`` bodies from a ``HyperliquidIndex`` (module docstring) and logs them.

    ``requests``: a copy of the log of answered requests, ``(monotonic_time, type, user, items)`` each
    (requests stopped by an injected fault are not answered and not logged); ``reset()`` empties it;
    ``weight_in_window(seconds)`` is the weight received in the last ``seconds``. Thread-safe.
    """

    def __init__(self, index: HyperliquidIndex) -> None:
        self.index = index
        self._log: list[tuple[float, str | None, str | None, int]] = []
        self._lock = threading.Lock()

    @property
    def requests(self) -> list[tuple[float, str | None, str | None, int]]:
        """Snapshot of the request log (oldest first)."""
        with self._lock:
            return list(self._log)

    def reset(self) -> None:
        """Forget every logged request."""
        with self._lock:
            self._log.clear()

    def weight_in_window(self, seconds: float = 60) -> int:
        """Weight (``info_request_weight``) of the requests answered in the last ``seconds`` (monotonic clock)."""
        since = time.monotonic() - seconds
        with self._lock:
            return sum(info_request_weight(t, items) for at, t, _, items in self._log if at >= since)

    def answer(self, body: bytes) -> InfoAnswer:
        """Answer one ``/info`` request body and log it. Raises: nothing (bad input is a 422 answer)."""
        answer = self._answer(body)
        self.log(answer.request_type, answer.user, answer.items)
        return answer

    def log(self, request_type: str | None, user: str | None, items: int) -> None:
        """Log one request answered elsewhere (the venue simulator), so ``weight_in_window`` counts it too."""
        with self._lock:
            self._log.append((time.monotonic(), request_type, user.lower() if user else None, items))

    # --- answering ----------------------------------------------------------------------------
    def _answer(self, body: bytes) -> InfoAnswer:
        try:
            request = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return _unprocessable(None, None, f"{DESERIALIZE_ERROR}: {exc}")
        if not isinstance(request, dict):
            return _unprocessable(None, None, f"{DESERIALIZE_ERROR}: expected a JSON object")
        request_type, raw_user = request.get("type"), request.get("user")
        if not isinstance(request_type, str):
            return _unprocessable(None, None, f"{DESERIALIZE_ERROR}: missing field `type`")
        if raw_user is not None and not isinstance(raw_user, str):
            return _unprocessable(request_type, None, f"{DESERIALIZE_ERROR}: user: expected a string")
        user = raw_user.lower() if raw_user is not None else None
        if user is None and (request_type in LIST_TYPES or request_type in TIME_FILTERED_TYPES):
            return _unprocessable(request_type, None, f"{DESERIALIZE_ERROR}: missing field `user`")

        if request_type in TIME_FILTERED_TYPES:
            return self._time_filtered(request, request_type, user)
        if request_type == "userFills" and (request_type, user) not in self.index.by_key:
            items = self.index.merged_items(["userFillsByTime"], user) or []
            return _list(request_type, user, items)
        recording = self.index.by_body.get(_request_key(request)) or self.index.by_identity.get(_identity_key(request))
        if recording is not None:
            item_count = len(recording.value) if isinstance(recording.value, list) else 0
            return InfoAnswer(200, recording.body, request_type, user, item_count)
        if request_type in LIST_TYPES:
            return _list(request_type, user, [])
        return InfoAnswer(422, NO_USER_RECORDING if user is not None else NO_REQUEST_RECORDING, request_type, user, 0)

    def _time_filtered(self, request: dict, request_type: str, user: str | None) -> InfoAnswer:
        start, end = request.get("startTime"), request.get("endTime")
        if not _is_int(start):
            return _unprocessable(request_type, user, f"{DESERIALIZE_ERROR}: missing or invalid field `startTime`")
        if end is not None and not _is_int(end):
            return _unprocessable(request_type, user, f"{DESERIALIZE_ERROR}: invalid field `endTime`")
        types = FILL_TYPES if request_type in FILL_TYPES else [request_type]
        items = self.index.merged_items(types, user) or []
        selected = [
            item for item in items
            if isinstance(item, dict) and _is_int(item.get("time"))
            and start <= item["time"] and (end is None or item["time"] <= end)
        ]
        return _list(request_type, user, selected)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _list(request_type: str, user: str | None, items: list) -> InfoAnswer:
    return InfoAnswer(200, json.dumps(items, separators=(",", ":")).encode(), request_type, user, len(items))


def _unprocessable(request_type: str | None, user: str | None, message: str) -> InfoAnswer:
    return InfoAnswer(422, json.dumps({"error": message}).encode(), request_type, user, 0)
