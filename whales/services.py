"""Writes to the whale registry. Ledgers call these with plain dataclasses (whales.types).

Every function here is idempotent on natural keys and runs inside the caller's transaction when
there is one, so a collector can move its cursor in the same transaction as the rows.
"""

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple, TypedDict

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from whales.analytics.metrics import metrics_books_forget, metrics_mark_pending
from whales.errors import InvalidParameter
from whales.models import (
    EventThreshold,
    EventType,
    Holding,
    Trade,
    Whale,
    WhaleEvent,
    WhaleType,
)
from whales.money import from_base_units, q_percent, q_usd
from whales.types import HoldingValue, WhaleActivity

logger = logging.getLogger(__name__)

NATURAL_KEY_FIELDS = ("chain", "tx_hash", "log_index", "whale", "direction")
_TRADE_FIELDS = (
    "chain", "block_time", "block_number", "block_hash", "tx_hash", "log_index", "source", "platform",
    "direction", "base_asset", "base_token_address", "quote_asset", "quote_token_address", "amount_raw",
    "amount_base", "amount_quote", "price_usd", "value_usd", "fee_usd", "fee_amount", "pnl_usd", "counterparty",
    "counterparty_name", "is_internal",
)


NaturalKey = tuple[str, str, int, int, str]
# Column types psycopg adapts from the Python values Django's fields hold, with nothing for Django to
# prepare on PostgreSQL (aware datetimes, Decimals, ints, strings, bools, None): skipping
# ``get_db_prep_save`` for them saves most of an insert's Python time. Any other field is prepared.
PG_PLAIN_TYPES = frozenset({"AutoField", "BigAutoField", "BigIntegerField", "BooleanField", "CharField",
                            "DateTimeField", "DecimalField", "ForeignKey", "IntegerField", "PositiveIntegerField",
                            "SlugField", "TextField"})
# PostgreSQL takes at most 65,535 parameters per statement; SQLite's limit is what Django reports.
MAX_INSERT_PARAMS = 60_000
MAX_INSERT_ROWS = 1000


def _pg_array_element(value: object) -> str:
    """One element of a PostgreSQL array literal: NULL, or the value's text form (strings and times in
    double quotes, with backslash and double quote escaped). Raises: TypeError for any other type."""
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):  # before int: bool is an int
        return "t" if value else "f"
    if isinstance(value, int | Decimal):
        return str(value)  # Decimal's str is exact (exponent form included), which numeric reads
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError("naive datetime in an array literal")
        return '"' + value.isoformat() + '"'
    raise TypeError(f"{type(value).__name__} in an array literal")


def pg_array_literal(values: Iterable[object]) -> str:
    """``values`` as a PostgreSQL array literal (``{1,NULL,"a\\"b"}``), for ``%s::text::<type>[]``.

    Shape: one dimension; str, int, bool, Decimal, aware datetime or None per element (the types Django's
    plain fields hold, ``PG_PLAIN_TYPES``). Building the text here costs about a third of psycopg's
    element-by-element list adaptation, and the server parses it as it would the list.
    Raises: TypeError for any other element type (nothing is sent).
    """
    return "{" + ",".join(map(_pg_array_element, values)) + "}"


def _natural_key(activity: WhaleActivity) -> NaturalKey:
    """(chain, tx_hash, log_index, whale_id, direction): the unique key of a Trade."""
    return (activity.chain, activity.tx_hash, activity.log_index, activity.whale_id, activity.direction)


def _insert_new(model: type[models.Model], rows: Sequence[dict[str, Any]], *,
                returning: Sequence[str]) -> list[tuple]:
    """INSERT ``rows`` (field name -> value, the same fields in each) with ``ON CONFLICT DO NOTHING
    RETURNING``: the values of ``returning`` for the rows actually inserted, in no particular order.

    No read before the write: a row whose unique key is already stored (or earlier in the same batch)
    is skipped by the database, so the cost does not depend on the table's size or the planner's
    statistics, and concurrent writers each insert a row at most once. Values go through each field's
    ``get_db_prep_save``, as Django's own inserts do. On PostgreSQL a chunk is one short statement over
    column arrays (``SELECT * FROM unnest(%s::type[], ...)``), whatever its row count; elsewhere (SQLite
    >= 3.35) a multi-row VALUES list. Raises: IntegrityError for any other constraint (NOT NULL, a
    foreign key).
    """
    if not rows:
        return []
    db = connections[DEFAULT_DB_ALIAS]  # resolved once: the proxy looks it up per attribute
    meta = model._meta
    concrete = {model_field.name: model_field for model_field in meta.concrete_fields}
    fields = [concrete[name] for name in rows[0]]
    quote = db.ops.quote_name
    table = quote(meta.db_table)
    columns = ", ".join(quote(model_field.column) for model_field in fields)
    returned = ", ".join(quote(concrete[name].column) for name in returning)
    postgresql = db.vendor == "postgresql"
    if postgresql:
        per_statement = MAX_INSERT_ROWS
        # A plain column goes as one array literal (text, cast on the server): psycopg adapts a list
        # element by element in Python (about 2x the whole statement's time for a batch of trades).
        arrays = ", ".join(f"%s::text::{model_field.db_type(db)}[]" if model_field.get_internal_type() in PG_PLAIN_TYPES
                           else f"%s::{model_field.db_type(db)}[]" for model_field in fields)
        plain = [model_field.get_internal_type() in PG_PLAIN_TYPES for model_field in fields]
        # Only the model's own quoted table and column names and their types are formatted in.
        sql = (f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays}) "  # noqa: S608
               f"ON CONFLICT DO NOTHING RETURNING {returned}")
    else:
        per_statement = max(1, min(MAX_INSERT_ROWS, MAX_INSERT_PARAMS // len(fields),
                                   db.ops.bulk_batch_size(fields, rows)))
    inserted: list[tuple] = []
    with db.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start:start + per_statement]
            if postgresql:
                params: list[Any] = [
                    pg_array_literal([row[f.name] for row in chunk]) if is_plain
                    else [f.get_db_prep_save(row[f.name], db) for row in chunk]
                    for f, is_plain in zip(fields, plain, strict=True)]
            else:
                params = [model_field.get_db_prep_save(row[model_field.name], db)
                          for row in chunk for model_field in fields]
                placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
                # Only the model's own quoted table and column names and placeholders are formatted in.
                sql = (f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608
                       f"{', '.join([placeholders] * len(chunk))} ON CONFLICT DO NOTHING RETURNING {returned}")
            cursor.execute(sql, params)
            inserted.extend(cursor.fetchall())
    return inserted


def event_threshold_map() -> dict[str, Decimal]:
    """Minimum USD value per event type: the admin-edited rows over ``settings.WHALE_EVENT_MIN_USD``."""
    thresholds = dict(settings.WHALE_EVENT_MIN_USD)
    thresholds.update(EventThreshold.objects.values_list("event_type", "min_value_usd"))
    return thresholds


class NewTrade(NamedTuple):
    """A Trade ``trades_ingest`` inserted: its id and natural key."""

    id: int
    chain: str
    tx_hash: str
    log_index: int
    whale_id: int
    direction: str


@dataclass(frozen=True)
class IngestResult:
    """What ``trades_ingest`` stored: the new Trades (id and natural key, in the activities' order) and the
    ids of the WhaleEvents it inserted (for publishing after commit)."""

    trades: list[NewTrade]
    event_ids: list[int] = field(default_factory=list)


def trades_ingest(*, activities: Sequence[WhaleActivity]) -> IngestResult:
    """Store ``activities`` as Trades and raise their WhaleEvents; return what was new.

    Shape: one Trade per activity natural key (chain, tx_hash, log_index, whale, direction), inserted
    with ``ON CONFLICT DO NOTHING RETURNING`` (``_insert_new``): an activity already stored, by this
    call or any other, is skipped, so the same batch ingested twice stores it once. A new activity with
    ``event_type`` set, not internal, and ``value_usd`` at or above that type's threshold
    (``event_threshold_map``) also becomes a WhaleEvent (inserted the same way). Each whale's
    ``last_active_at`` moves forward to its newest block time (never backwards), and its metrics are
    marked for a recompute on the worker (``whales.analytics.metrics.metrics_mark_pending``).
    Runs in one transaction (the caller's, if any).
    """
    if not activities:
        return IngestResult(trades=[])
    seen: set[NaturalKey] = set()
    unique = []  # the first of duplicates in the batch wins
    for activity in activities:
        if _natural_key(activity) not in seen:
            seen.add(_natural_key(activity))
            unique.append(activity)
    now = timezone.now()
    with transaction.atomic():
        rows = [{"whale": a.whale_id, **{name: getattr(a, name) for name in _TRADE_FIELDS}, "created_at": now}
                for a in unique]
        new = {tuple(row[1:]): row[0] for row in _insert_new(Trade, rows, returning=("id", *NATURAL_KEY_FIELDS))}
        new_activities = [a for a in unique if _natural_key(a) in new]
        trades = [NewTrade(new[_natural_key(a)], *_natural_key(a)) for a in new_activities]
        event_ids = events_ingest(activities=new_activities, observed_at=now)
        _whales_touch(new_activities)
        metrics_mark_pending(whale_ids={a.whale_id for a in new_activities})
    return IngestResult(trades=trades, event_ids=event_ids)


def events_ingest(*, activities: Iterable[WhaleActivity], observed_at: datetime | None = None) -> list[int]:
    """Insert the WhaleEvents that ``activities`` raise (see ``trades_ingest``); return the ids of the
    ones inserted now (an event already stored, by anyone, is skipped)."""
    thresholds = event_threshold_map()
    observed_at = observed_at or timezone.now()
    rows = [
        {"chain": a.chain, "type": a.event_type, "whale": a.whale_id, "block_time": a.block_time,
         "block_number": a.block_number, "tx_hash": a.tx_hash, "log_index": a.log_index, "summary": a.summary[:500],
         "value_usd": a.value_usd, "details": a.details, "observed_at": observed_at, "published_at": None}
        for a in activities
        if a.event_type
        and not a.is_internal
        and a.value_usd is not None
        and a.value_usd >= thresholds.get(a.event_type, Decimal("Infinity"))
    ]
    return sorted(row[0] for row in _insert_new(WhaleEvent, rows, returning=("id",)))


def _whales_touch(activities: Iterable[WhaleActivity]) -> None:
    """Move first_seen_at/last_active_at to the activities' block times: two UPDATEs per distinct time.

    Whales are grouped by their newest (and oldest) block time in the batch; a block's activities
    share one time, so a block costs two statements however many whales it touches.
    """
    newest: dict[int, datetime] = {}
    oldest: dict[int, datetime] = {}
    for a in activities:
        if a.whale_id not in newest or a.block_time > newest[a.whale_id]:
            newest[a.whale_id] = a.block_time
        if a.whale_id not in oldest or a.block_time < oldest[a.whale_id]:
            oldest[a.whale_id] = a.block_time
    for block_time, whale_ids in _group_by_value(newest).items():
        Whale.objects.filter(pk__in=whale_ids).filter(
            Q(last_active_at__isnull=True) | Q(last_active_at__lt=block_time)
        ).update(last_active_at=block_time)
    for block_time, whale_ids in _group_by_value(oldest).items():
        Whale.objects.filter(pk__in=whale_ids).filter(
            Q(first_seen_at__isnull=True) | Q(first_seen_at__gt=block_time)
        ).update(first_seen_at=block_time)


def _group_by_value(mapping: dict[int, datetime]) -> dict[datetime, list[int]]:
    groups: dict[datetime, list[int]] = {}
    for key, value in mapping.items():
        groups.setdefault(value, []).append(key)
    return groups


class RetractedTrade(TypedDict):
    """A trade deleted with its orphaned block; ``value_usd`` as a decimal string (JSON-safe) or None."""

    whale_id: int
    tx_hash: str
    log_index: int
    direction: str
    block_number: int | None
    block_hash: str
    value_usd: str | None


def trades_retract(*, chain: str, block_hashes: Sequence[str]) -> list[RetractedTrade]:
    """Delete the Trades and WhaleEvents stored from orphaned blocks; return what was deleted.

    Shape: one RetractedTrade per deleted trade, in block, tx_hash, log_index order. Used by reorg
    handling, inside its transaction.
    """
    trades = Trade.objects.filter(chain=chain, block_hash__in=block_hashes)
    deleted = [
        RetractedTrade(**{**row, "value_usd": None if row["value_usd"] is None else str(row["value_usd"])})
        for row in trades.values("whale_id", "tx_hash", "log_index", "direction", "block_number",
                                 "block_hash", "value_usd").order_by("block_number", "tx_hash", "log_index")
    ]
    tx_hashes = {row["tx_hash"] for row in deleted}
    WhaleEvent.objects.filter(chain=chain, tx_hash__in=tx_hashes).exclude(
        type=EventType.REORG_RETRACTION
    ).delete()
    trades.delete()
    metrics_books_forget(whale_ids={row["whale_id"] for row in deleted})  # books that applied them: rebuild
    return deleted


def reorg_retraction_record(
    *, chain: str, block_number: int, block_hash: str, block_time: datetime, deleted: list[RetractedTrade]
) -> WhaleEvent:
    """Record a new ``reorg_retraction`` event for an orphaned block, listing ``deleted``; return it (unpublished).

    A block can be orphaned more than once: the chain flips back to it (its trades are stored again, with
    new events) and then away again. Each orphaning must reach the feed, whose consumers send an event id
    at most once per connection, so each gets a new row and id. The natural key is the block hash, so an
    earlier retraction of the same block is replaced (deleted; the new one names what was withdrawn now).
    Used by reorg handling, inside its transaction, once per orphaned block.
    """
    with transaction.atomic():
        WhaleEvent.objects.filter(chain=chain, type=EventType.REORG_RETRACTION, tx_hash=block_hash, log_index=-1,
                                  whale=None).delete()
        return WhaleEvent.objects.create(
            chain=chain,
            type=EventType.REORG_RETRACTION,
            tx_hash=block_hash,
            log_index=-1,
            whale=None,
            block_time=block_time,
            block_number=block_number,
            summary=f"Block {block_number} was orphaned by a reorg; {len(deleted)} trade(s) withdrawn",
            details={"orphaned_block_hash": block_hash, "block_number": block_number, "trades": deleted},
        )


def trades_confirm(
    *, chain: str, tx_hash: str, block_number: int, block_hash: str, block_time: datetime
) -> int:
    """Fill in the block of the unconfirmed Trades (and their events) of ``tx_hash`` now that it confirmed.

    Only rows still without a block are touched, so calling it again changes nothing. USD values
    keep the price of when the transaction was first seen (daily prices: the same day's close).
    Returns how many Trades were updated.
    """
    with transaction.atomic():
        confirmed = Trade.objects.filter(chain=chain, tx_hash=tx_hash, block_number__isnull=True)
        metrics_books_forget(whale_ids=set(confirmed.values_list("whale_id", flat=True)))  # the trade order moves
        updated = confirmed.update(block_number=block_number, block_hash=block_hash, block_time=block_time)
        WhaleEvent.objects.filter(chain=chain, tx_hash=tx_hash, block_number__isnull=True).exclude(
            type=EventType.MEMPOOL_WHALE).update(block_number=block_number, block_time=block_time)
    return updated


def trades_apply_token_metadata(*, chain: str, token_address: str, symbol: str, decimals: int) -> int:
    """Put the amounts of ``token_address``'s trades stored before its decimals were known into human units:
    ``amount_base = amount_raw / 10**decimals`` and ``base_asset = symbol`` on the trades of that base token
    still without an amount. Values stay as stored (unpriced): a token is valued only by its own prices, at
    its own time. The events of those trades say the amount too: "an unknown amount of <contract>" in their
    summary becomes "<amount> <symbol>". Idempotent (only rows without an amount are touched); the whales'
    FIFO books are rebuilt. Returns how many trades were updated."""
    with transaction.atomic():
        rows = list(Trade.objects.select_for_update().filter(
            chain=chain, base_token_address=token_address, amount_base__isnull=True, amount_raw__isnull=False
        ).only("id", "whale_id", "amount_raw", "tx_hash", "log_index"))
        amounts: dict[tuple[str, int | None, int], Decimal] = {}
        for trade in rows:
            assert trade.amount_raw is not None
            trade.amount_base = from_base_units(trade.amount_raw, decimals)
            trade.base_asset = symbol
            amounts[(trade.tx_hash, trade.whale_id, trade.log_index)] = trade.amount_base
        Trade.objects.bulk_update(rows, ["amount_base", "base_asset"], batch_size=1000)
        unknown = f"an unknown amount of {token_address}"
        events = list(WhaleEvent.objects.filter(chain=chain, tx_hash__in={key[0] for key in amounts},
                                                summary__contains=unknown).only("id", "tx_hash", "whale_id",
                                                                                "log_index", "summary"))
        for event in events:
            amount = amounts.get((event.tx_hash, event.whale_id, event.log_index))
            if amount is not None:
                event.summary = event.summary.replace(unknown, f"{amount.normalize():,f} {symbol}", 1)[:500]
        WhaleEvent.objects.bulk_update(events, ["summary"], batch_size=1000)
        metrics_books_forget(whale_ids={trade.whale_id for trade in rows})
    return len(rows)


def trades_withdraw_unconfirmed(*, chain: str, tx_hash: str, whale_id: int) -> int:
    """Delete ``whale_id``'s unconfirmed Trades of ``tx_hash`` and their events (the transaction was
    replaced or dropped before confirming); confirmed rows are never touched. Returns Trades deleted."""
    with transaction.atomic():
        trades = Trade.objects.filter(chain=chain, tx_hash=tx_hash, whale_id=whale_id, block_number__isnull=True)
        WhaleEvent.objects.filter(chain=chain, tx_hash=tx_hash, whale_id=whale_id,
                                  block_number__isnull=True).exclude(type=EventType.MEMPOOL_WHALE).delete()
        deleted, _ = trades.delete()
        if deleted:
            metrics_books_forget(whale_ids=[whale_id])  # books that applied them: rebuild
    return deleted


def holdings_set(*, whale_id: int, holdings: Sequence[HoldingValue], replace: bool = False) -> None:
    """Set what ``whale_id`` holds (upserted on (whale, asset)); with ``replace``, the whale's other spot
    holdings (not perp positions) are deleted: ``holdings`` is then everything it holds.

    ``portfolio_percent`` of every holding of the whale is recomputed from the stored values
    (None while any value is unknown or the total is zero). Idempotent. One whale of ``holdings_set_many``.
    """
    holdings_set_many(holdings={whale_id: holdings}, replace=replace)


HOLDING_FIELDS = ("amount", "value_usd", "token_address", "decimals", "block_number", "is_verified")


def holdings_set_many(*, holdings: Mapping[int, Sequence[HoldingValue]], replace: bool = False) -> None:
    """``holdings_set`` for many whales at once ({whale_id: what it holds}), in one transaction and a fixed
    number of statements whatever the count (one read, an upsert per 1,000 rows, one delete).

    Shape: rows upserted on (whale, asset), ``value_usd`` rounded half-even to 1e-8 USD; an asset listed twice
    for a whale keeps its last value. With ``replace``, each listed whale's other spot holdings are deleted
    (perp positions stay). Every holding of each listed whale has ``portfolio_percent`` = its value_usd / the
    whale's priced total x 100, the total the portfolio value counts (None for an unpriced or unverified
    holding, or when nothing priced is worth anything; an unpriced token does not blank the others): computed
    before the write from the listed values and the whale's other stored rows, so the upsert carries it
    (only another stored row whose share moved is updated on its own). Idempotent.
    """
    if not holdings:
        return
    listed = {whale_id: {h.asset: h for h in items} for whale_id, items in holdings.items()}
    with transaction.atomic():
        stored = Holding.objects.filter(whale_id__in=list(listed)).order_by("pk").values_list(
            "pk", "whale_id", "asset", "is_perp", "value_usd", "portfolio_percent")
        others: dict[int, list[tuple[int, Decimal | None, Decimal | None]]] = {}
        gone = []
        for pk, whale_id, asset, is_perp, value_usd, percent in stored:
            if asset in listed[whale_id]:
                continue
            if replace and not is_perp:
                gone.append(pk)
            else:
                others.setdefault(whale_id, []).append((pk, value_usd, percent))
        rows, moved = [], []
        for whale_id, items in listed.items():
            values = {asset: None if h.value_usd is None else q_usd(h.value_usd) for asset, h in items.items()}
            kept = others.get(whale_id, [])
            every = [*values.values(), *(value for _, value, _ in kept)]
            total = sum((v for v in every if v is not None), Decimal(0))

            def share(value: Decimal | None, total: Decimal = total) -> Decimal | None:
                return None if not total or value is None else q_percent(value / total * 100)

            rows += [Holding(whale_id=whale_id, asset=asset, amount=h.amount, value_usd=values[asset],
                             token_address=h.token_address, decimals=h.decimals, block_number=h.block_number,
                             is_verified=h.is_verified, portfolio_percent=share(values[asset]))
                     for asset, h in items.items()]
            moved += [(pk, share(value)) for pk, value, percent in kept if share(value) != percent]
        if gone:
            Holding.objects.filter(pk__in=gone).delete()
        if rows:
            Holding.objects.bulk_create(rows, batch_size=1000, update_conflicts=True,
                                        unique_fields=["whale", "asset"],
                                        update_fields=[*HOLDING_FIELDS, "portfolio_percent", "updated_at"])
        for pk, percent in moved:  # rows not written here (perps, or all rows without replace): rare
            Holding.objects.filter(pk=pk).update(portfolio_percent=percent)


def event_record(
    *,
    chain: str,
    type: str,
    tx_hash: str,
    whale_id: int | None,
    block_time: datetime,
    summary: str,
    value_usd: Decimal | None,
    details: dict,
    block_number: int | None = None,
    log_index: int = -1,
) -> tuple[WhaleEvent, bool]:
    """Record one WhaleEvent on its natural key (chain, type, tx_hash, log_index, whale); return
    (event, created). For events whose criterion is not a USD threshold (a mempool whale is defined
    by its BTC amount); an existing event is returned unchanged, so recording twice stores it once."""
    event, created = WhaleEvent.objects.get_or_create(
        chain=chain, type=type, tx_hash=tx_hash, log_index=log_index, whale_id=whale_id,
        defaults={"block_time": block_time, "block_number": block_number, "summary": summary[:500],
                  "value_usd": value_usd, "details": details},
    )
    return event, created


@dataclass(frozen=True)
class PerpPosition:
    """An open perp position as ``perp_positions_set`` stores it (a Holding with ``is_perp``)."""

    asset: str
    size: Decimal
    position_value_usd: Decimal
    entry_price_usd: Decimal
    unrealized_pnl_usd: Decimal
    return_on_equity: Decimal
    leverage_type: str
    leverage: Decimal
    liquidation_price_usd: Decimal | None
    liquidation_distance_percent: Decimal | None
    margin_used_usd: Decimal


def perp_positions_set(*, whale_id: int, positions: Sequence[PerpPosition], account_value_usd: Decimal,
                       account_asset: str = "USDC") -> None:
    """Make ``positions`` the whale's open perp positions and ``account_value_usd`` its account holding.

    Perp holdings of coins no longer open are deleted; ``portfolio_percent`` of a position is its
    notional as a share of the account value (None when the account value is zero). Idempotent.
    """
    with transaction.atomic():
        for p in positions:
            percent = None if not account_value_usd else q_percent(
                p.position_value_usd / account_value_usd * 100)
            Holding.objects.update_or_create(whale_id=whale_id, asset=p.asset, defaults={
                "amount": p.size, "value_usd": p.position_value_usd, "portfolio_percent": percent, "is_perp": True,
                "entry_price_usd": p.entry_price_usd, "unrealized_pnl_usd": p.unrealized_pnl_usd,
                "return_on_equity": p.return_on_equity, "leverage_type": p.leverage_type, "leverage": p.leverage,
                "liquidation_price_usd": p.liquidation_price_usd,
                "liquidation_distance_percent": p.liquidation_distance_percent, "margin_used_usd": p.margin_used_usd,
            })
        Holding.objects.filter(whale_id=whale_id, is_perp=True).exclude(
            asset__in=[p.asset for p in positions]).delete()
        Holding.objects.update_or_create(whale_id=whale_id, asset=account_asset, defaults={
            "amount": account_value_usd, "value_usd": account_value_usd, "portfolio_percent": None, "is_perp": False})


def whales_set_tracked(*, whales: QuerySet[Whale], is_tracked: bool) -> int:
    """Start (True) or stop (False) tracking ``whales``; return how many rows changed."""
    return whales.exclude(is_tracked=is_tracked).update(is_tracked=is_tracked)


def whales_set_type(*, whales: QuerySet[Whale], type: str) -> int:
    """Set ``type`` on ``whales`` as an analyst's choice (``type_is_manual=True``); return rows updated.

    Raises: InvalidParameter for a type that is not a WhaleType value (nothing changed).
    """
    if type not in WhaleType.values:
        raise InvalidParameter(f"type: unknown type {type!r}; expected one of {', '.join(WhaleType.values)}")
    return whales.update(type=type, type_is_manual=True)
