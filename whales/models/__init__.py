"""The ``whales`` app's models, in rooms by what they hold (DESIGN.md section 2): ``registry`` (entities,
labels, whales, known addresses), ``activity`` (trades, events, thresholds, holdings), ``analytics``
(metrics, FIFO states, pending marks, scores, flows) and ``fields`` (the column types).

Money and token amounts are Decimal end to end: token amounts in human units are
NUMERIC(78, 30), raw base units NUMERIC(78, 0), USD NUMERIC(38, 8) and prices NUMERIC(38, 18).
On PostgreSQL they are exact; SQLite stores decimals as REAL-like values past ~15 significant
digits (README, "Precision").
"""

from whales.models.activity import (
    SYSTEM_EVENT_TYPES,
    Direction,
    EventThreshold,
    EventType,
    Holding,
    Trade,
    TradeSource,
    WhaleEvent,
)
from whales.models.analytics import (
    FlowWindow,
    MetricsFields,
    MetricsPending,
    OpeningStatus,
    RunStatus,
    ScoreConfidence,
    ScoringRun,
    SmartMoneyFlow,
    WalletFifoLot,
    WalletFifoState,
    WalletMetrics,
    WalletMetricsDaily,
    WalletOpening,
    WalletScore,
)
from whales.models.context import CatalystCoin, CatalystEvent, CatalystType, MoodReading
from whales.models.fields import (
    amount_field,
    percent_field,
    raw_amount_field,
    usd_field,
)
from whales.models.registry import (
    AddressCategory,
    ConflictField,
    Entity,
    EntityKind,
    KnownAddress,
    Label,
    LabelConfidence,
    LabelConflict,
    LabelRemoval,
    Whale,
    WhaleLabel,
    WhaleType,
)
from whales.models.watchlists import Watchlist, WatchlistEntry

__all__ = [
    "SYSTEM_EVENT_TYPES",
    "AddressCategory",
    "CatalystCoin",
    "CatalystEvent",
    "CatalystType",
    "ConflictField",
    "Direction",
    "Entity",
    "EntityKind",
    "EventThreshold",
    "EventType",
    "FlowWindow",
    "Holding",
    "KnownAddress",
    "Label",
    "LabelConfidence",
    "LabelConflict",
    "LabelRemoval",
    "MetricsFields",
    "MetricsPending",
    "MoodReading",
    "OpeningStatus",
    "RunStatus",
    "ScoreConfidence",
    "ScoringRun",
    "SmartMoneyFlow",
    "Trade",
    "TradeSource",
    "WalletFifoLot",
    "WalletFifoState",
    "WalletMetrics",
    "WalletMetricsDaily",
    "WalletOpening",
    "WalletScore",
    "Watchlist",
    "WatchlistEntry",
    "Whale",
    "WhaleEvent",
    "WhaleLabel",
    "WhaleType",
    "amount_field",
    "percent_field",
    "raw_amount_field",
    "usd_field",
]
