"""``python manage.py run_main``: the main job (DESIGN.md section 5), printing what it does.

Set-up, each step idempotent (a re-run changes nothing already there): migrate; the admin user; the
label sets and the default whale list; prices; the sources (the live endpoints when reachable, else the
recordings, served by the replay node, whose URLs then become the sources' settings for the whole
process; live, each other source is probed once too, and one that does not answer is skipped in the
set-up, with the reason, rather than retried: its beat row keeps trying while serving, e.g. Bitcoin,
Hyperliquid and Arbitrum from a machine that reaches only a local Ethereum node, ``make demo-chain``);
one run of each collector over its source with progress (offline: the recorded Ethereum
blocks, the recorded Bitcoin addresses, the recorded mempool stream until it ends, the recorded
Hyperliquid accounts and bridge deposits); metrics, classification, scores and flows; the admin's paper
account and a backtest on the recorded trader.

Then it serves admin, API, dashboard and WebSockets with daphne on HOST:PORT (127.0.0.1:8000), beside
the embedded runtime (``whaletrack.runtime``): the real Celery worker and beat, which run every
periodic job from its beat row (edit them in the admin), in both modes; and, with live sources, the
mempool monitor, supervised. ``--no-serve`` stops after the set-up; ``--skip-setup`` serves what is
already stored (after a first full run).
"""

import logging
import os
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import requests
from cryptography.fernet import Fernet
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from ledgers.catalyst.announcements.services import announcements_collect
from ledgers.catalyst.sec.services import COLLECTOR_NAME as SEC_COLLECTOR_NAME
from ledgers.catalyst.sec.services import IssuerProgress
from ledgers.catalyst.sec.services import feed_collect as sec_feed_collect
from ledgers.catalyst.sec.services import submissions_collect as sec_submissions_collect
from ledgers.errors import SourceError, SourceUnavailable
from ledgers.evm import RpcError, RpcUnavailable
from ledgers.glass.bitcoin.client import EsploraClient
from ledgers.glass.bitcoin.models import MempoolTransaction
from ledgers.glass.bitcoin.monitor_run import MONITOR_NAME, monitor_once
from ledgers.glass.bitcoin.services import collect_once as bitcoin_collect_once
from ledgers.glass.defillama.services import defillama_collect
from ledgers.glass.ethereum.client import EthereumRpcClient
from ledgers.glass.ethereum.holdings import holdings_collect
from ledgers.glass.ethereum.services import blocks_collect
from ledgers.glass.hyperliquid import bridge
from ledgers.glass.hyperliquid.arbitrum_client import ArbitrumClient
from ledgers.glass.hyperliquid.client import HyperliquidClient
from ledgers.glass.hyperliquid.services import collect_once as hyperliquid_collect_once
from ledgers.history import metrics_backfill
from ledgers.human.cryptopanic.services import cryptopanic_collect
from ledgers.human.reddit.models import Subreddit
from ledgers.human.reddit.services import ListingProgress, reddit_collect
from ledgers.quality import quality_run
from ledgers.registry import WalletProgress
from ledgers.replay.catalog import (
    RECORDED_BITCOIN_WHALES,
    RECORDED_BRIDGE_FROM_BLOCK,
    RECORDED_BRIDGE_MIN_USD,
    RECORDED_HYPERLIQUID_WHALES,
    RECORDED_SUBREDDITS,
    RECORDED_TRADER,
)
from ledgers.replay.server import COINSPOT_PREFIX, ReplayServer
from ledgers.replay.services import start_replay_node
from trading.backtest import BACKTEST_OWNER, backtest_run, default_range
from trading.live import credential_set, live_confirm, live_mode_set
from trading.models import Account, LiveVenue, Strategy, StrategyKind, StrategySignal
from trading.pnl import pnl_summary
from trading.services import account_create, live_trading_enabled, live_trading_set
from trading.strategies.services import strategy_create, strategy_delete, strategy_run
from whales.analytics.classification import whales_classify
from whales.analytics.flows import flows_collect
from whales.analytics.metrics import metrics_recompute_all
from whales.analytics.scoring import scoring_run
from whales.chains import Chain, tx_url
from whales.importers import LabelEvidence, whale_upsert
from whales.models import RunStatus, Trade, Whale, WhaleEvent
from whaletrack.runtime import EmbeddedRuntime

logger = logging.getLogger(__name__)
ADMIN_PASSWORD_FILE = Path(settings.BASE_DIR) / "var" / "admin-password.txt"
LIVE_PROBE_TIMEOUT_S = 3
MEMPOOL_REPLAY_TIMEOUT_S = 120
# Frames per second of the recorded mempool stream in the main job. mempool.space sends txReplaced only
# to a client already tracking the tx, and the monitor's track-tx must reach the node before that frame's
# slot: 10/s leaves it 200 ms (the replay default, 50/s, only 40 ms, which a loaded machine can miss).
MEMPOOL_REPLAY_RATE = 10.0
# The replay node is local: no public instance's request budget to respect.
REPLAY_BUDGET = "1000000/minute"
# The SEC asks every client to name its operator; offline, the replay node is asked, on this machine.
REPLAY_SEC_USER_AGENT = "WhaleTrack main job (offline replay; no SEC server is contacted)"
# Paper trading in the main job: the admin's account and strategy, and the backtest on the recorded
# Hyperliquid trader (its fills in BTC and ETH are the recorded trades that recorded prices can value).
PAPER_ACCOUNT = "paper"
SMART_MONEY_STRATEGY = "follow smart money"
BACKTEST_SCALE = "0.1"
# Live trading offline: a live-mode account of the admin on the replay node's SIMULATED Hyperliquid venue,
# following the recorded trader's fills from its last BTC long on (shorts, and sells of what the account does not
# hold, are skipped). The simulator starts empty on every run, so the account is made again each run. Its price
# band is wide: the recorded fills (2023-05) and the recorded mids (2023-07) are months apart; fills further from
# the mid than the band are refused, and the page shows why.
LIVE_DEMO_ACCOUNT = "live demo (simulated venue)"
LIVE_DEMO_STRATEGY = "follow the recorded trader"
LIVE_DEMO_FROM = ("BTC", "long")
LIVE_DEMO_BAND_PERCENT = Decimal("10")
LIVE_DEMO_USDC = Decimal("100000")
CREDENTIALS_KEY_FILE = Path(settings.BASE_DIR) / "var" / "trading-credentials.key"


def secret_file_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (its directory made if missing) as a file only its owner can read.

    The file is created with mode 0600 by ``os.open`` under a temporary name beside it and renamed over
    ``path``, so no reader ever sees it with wider permissions or half written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@dataclass
class Sources:
    """Where the collectors read: ``live`` endpoints (the settings as configured) or the ``replay`` node,
    whose URLs (and budgets and start points fitting the recordings) override the sources' settings.
    ``unreachable``: live sources that failed their probe (source name -> reason)."""

    mode: str
    node: ReplayServer | None = None
    overrides: Mapping[str, object] = field(default_factory=dict)
    unreachable: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        if self.node is None:
            return f"live ({settings.ETH_RPC_URL}, {settings.BITCOIN_API_URL}, {settings.BITCOIN_WS_URL})"
        return f"replay node on {self.node.url} serving {settings.REPLAY_DATA_DIR}"


def replay_overrides(node: ReplayServer) -> dict[str, object]:
    """The settings that point every source at the replay node: its URLs; no request budget to respect
    (it is local); no confirmations (recordings are final); bridge discovery from just before the recorded
    deposits, counted from 100 USDC."""
    return {
        "ETH_RPC_URL": node.eth_url, "ETH_CONFIRMATIONS": 0,
        "BITCOIN_API_URL": node.bitcoin_url, "BITCOIN_WS_URL": node.bitcoin_ws_url, "BITCOIN_API_BUDGET": REPLAY_BUDGET,
        "HYPERLIQUID_API_URL": node.hyperliquid_url, "HYPERLIQUID_WEIGHT_BUDGET": REPLAY_BUDGET,
        "ARBITRUM_RPC_URL": node.arbitrum_url, "HYPERLIQUID_BRIDGE_START_BLOCK": RECORDED_BRIDGE_FROM_BLOCK,
        "HYPERLIQUID_BRIDGE_MIN_USD": RECORDED_BRIDGE_MIN_USD, "COINGECKO_API_URL": node.coingecko_url,
        "REDDIT_URL": node.reddit_url, "REDDIT_API_BUDGET": REPLAY_BUDGET,
        "DEFILLAMA_API_URL": node.defillama_url, "DEFILLAMA_STABLECOINS_URL": node.defillama_stablecoins_url,
        "SEC_DATA_URL": node.sec_data_url, "SEC_WWW_URL": node.sec_www_url, "SEC_API_BUDGET": REPLAY_BUDGET,
        "SEC_USER_AGENT": settings.SEC_USER_AGENT or REPLAY_SEC_USER_AGENT,
        # The venues are the node's simulators: no order can reach a real exchange, so the setting gate is on.
        "COINSPOT_API_URL": node.url + COINSPOT_PREFIX, "TRADING_LIVE_ENABLED": True,
        "TRADING_CREDENTIALS_KEYS": settings.TRADING_CREDENTIALS_KEYS or [credentials_key()],
    }


def credentials_key() -> str:
    """The Fernet key sealing the offline demo's venue credentials when TRADING_CREDENTIALS_KEYS is not set: made
    once into ``CREDENTIALS_KEY_FILE`` (0600), read back on later runs."""
    if CREDENTIALS_KEY_FILE.exists():
        return CREDENTIALS_KEY_FILE.read_text().strip()
    key = Fernet.generate_key().decode()
    secret_file_write(CREDENTIALS_KEY_FILE, key + "\n")
    return key


def live_probes() -> dict[str, tuple[str, Callable[[], object]]]:
    """The live sources other than Ethereum that the set-up collects from: name -> (URL, one cheap call on
    it: LIVE_PROBE_TIMEOUT_S, no retry, no request budget spent)."""
    timeout = LIVE_PROBE_TIMEOUT_S
    return {
        "bitcoin": (settings.BITCOIN_API_URL,
                    lambda: EsploraClient(settings.BITCOIN_API_URL, timeout_s=timeout, retries=0).tip_block_number()),
        "arbitrum": (settings.ARBITRUM_RPC_URL,
                     lambda: ArbitrumClient(settings.ARBITRUM_RPC_URL, timeout_s=timeout, retries=0).chain_id()),
        "hyperliquid": (settings.HYPERLIQUID_API_URL,
                        lambda: HyperliquidClient(settings.HYPERLIQUID_API_URL, timeout_s=timeout,
                                                  retries=0).all_mids()),
    }


@contextmanager
def settings_overridden(values: Mapping[str, object]) -> Iterator[None]:
    """Set ``values`` on django.conf.settings for the block, then put the old values back (the command
    can run inside a longer process: the tests)."""
    old = {name: getattr(settings, name) for name in values}
    for name, value in values.items():
        setattr(settings, name, value)
    try:
        yield
    finally:
        for name, value in old.items():
            setattr(settings, name, value)


class Command(BaseCommand):
    help = "Set up everything and run WhaleTrack (recorded data when the live endpoints are unreachable)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="stop after the set-up")
        parser.add_argument("--skip-setup", action="store_true",
                            help="serve what is already stored: only migrate and choose the sources first")
        parser.add_argument("--host", default=settings.WHALETRACK_HOST, help="default HOST (127.0.0.1)")
        parser.add_argument("--port", type=int, default=settings.WHALETRACK_PORT, help="default PORT (8000)")

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        self.step("Database", self.migrate)
        self.step("Admin user", self.admin_user)
        sources = self.choose_sources()
        try:
            with settings_overridden(sources.overrides):
                if not options["skip_setup"]:
                    self.setup(sources)
                if sources.node is not None:
                    self.step("Live trading on the simulated venue", lambda: self.live_demo(sources.node))
                self.summary(sources, time.monotonic() - started, options)
                if not options["no_serve"]:
                    self.serve(sources, options["host"], options["port"])
        finally:
            if sources.node is not None:
                sources.node.stop()

    def setup(self, sources: Sources) -> None:
        """Import, collect once from every source (with progress), compute the analytics, set up trading."""
        replay = sources.mode == "replay"
        self.step("Label sets and default whales", self.import_labels)
        self.step("Prices", self.import_prices)
        self.step("Ethereum collector", lambda: self.collect_ethereum(replay=replay))
        self.step("Ethereum holdings and opening positions", self.ethereum_holdings)
        if replay:
            self.step("Recorded Bitcoin addresses", self.track_recorded_bitcoin)
        self.step("Bitcoin collector", self.unless_unreachable(sources, "bitcoin",
                                                                lambda: self.collect_bitcoin(replay=replay)))
        self.step("Bitcoin mempool monitor", lambda: self.monitor_mempool(sources))
        if replay:
            self.step("Recorded Hyperliquid accounts", self.track_recorded_hyperliquid)
        self.step("Hyperliquid bridge deposits (Arbitrum)",
                  self.unless_unreachable(sources, "arbitrum", self.discover_bridge_whales))
        self.step("Hyperliquid collector", self.unless_unreachable(
            sources, "hyperliquid", lambda: self.collect_hyperliquid(replay=replay)))
        self.step("DeFiLlama stablecoins and TVL (glass ledger)", self.collect_defillama)
        self.step("SEC EDGAR filings (catalyst ledger)", self.collect_sec)
        self.step("Exchange announcements (catalyst ledger)", lambda: self.collect_announcements(replay=replay))
        if replay:
            self.step("Recorded subreddits", self.follow_recorded_subreddits)
        self.step("Reddit (human ledger)", self.collect_reddit)
        self.step("CryptoPanic news (human ledger)", self.collect_cryptopanic)
        self.step("Wallet metrics", self.compute_metrics)
        self.step("Classification, smart-money scores and flows", self.score_and_flows)
        self.step("Paper trading", self.paper_trading)
        self.step("Data quality (all four ledgers)", self.data_quality)

    # --- steps --------------------------------------------------------------------------------
    def unless_unreachable(self, sources: Sources, name: str, fn: Callable[[], None]) -> Callable[[], None]:
        """``fn``, or, when the live source ``name`` did not answer its probe, a note that its run is skipped."""
        if name not in sources.unreachable:
            return fn
        return lambda: self.stdout.write(f"   skipped: {sources.unreachable[name]}; its beat row keeps trying")

    def step(self, title: str, fn) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"== {title}"))
        t0 = time.monotonic()
        fn()
        self.stdout.write(f"   done in {time.monotonic() - t0:.1f} s")

    def migrate(self) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"   database: {connection.vendor} ({settings.DATABASES['default']['NAME']})")

    def admin_user(self) -> None:
        """Create the admin user once. A generated password is written to ``ADMIN_PASSWORD_FILE`` (created
        0600, never readable by others even for a moment) and shown in this run's summary only: later runs
        name the file instead of printing the password again."""
        username = settings.WHALETRACK_ADMIN_USER
        user_model = get_user_model()
        if user_model.objects.filter(username=username).exists():
            generated = ADMIN_PASSWORD_FILE.exists() and not settings.WHALETRACK_ADMIN_PASSWORD
            where = f"(in {ADMIN_PASSWORD_FILE})" if generated else "(unchanged; set before)"
            self.admin_credentials = (username, where)
            self.stdout.write(f"   admin user {username!r} exists (kept as it is)")
            return
        password = settings.WHALETRACK_ADMIN_PASSWORD or secrets.token_urlsafe(12)
        user_model.objects.create_superuser(username=username, email="", password=password)
        if not settings.WHALETRACK_ADMIN_PASSWORD:
            secret_file_write(ADMIN_PASSWORD_FILE, password + "\n")
        self.admin_credentials = (username, password)
        self.stdout.write(f"   created admin user {username!r}")

    def import_labels(self) -> None:
        call_command("import_labels", track_default_whales=True, stdout=self.stdout)

    def import_prices(self) -> None:
        call_command("import_prices", stdout=self.stdout)

    def choose_sources(self) -> Sources:
        """Live endpoints when WHALETRACK_SOURCES allows and they answer, else the replay node."""
        mode = settings.WHALETRACK_SOURCES
        if mode not in ("auto", "live", "replay"):
            raise CommandError(f"WHALETRACK_SOURCES must be auto, live or replay, not {mode!r}")
        if mode in ("auto", "live"):
            try:
                EthereumRpcClient(settings.ETH_RPC_URL, timeout_s=LIVE_PROBE_TIMEOUT_S, retries=0).chain_id()
            except (RpcUnavailable, RpcError, requests.RequestException) as exc:
                if mode == "live":
                    raise CommandError(f"live source {settings.ETH_RPC_URL} unreachable: {exc}") from exc
                self.stdout.write(f"== Sources: {settings.ETH_RPC_URL} unreachable ({type(exc).__name__}); "
                                  "using the recordings")
            else:
                sources = Sources(mode="live")
                self.stdout.write(self.style.SUCCESS(f"== Sources: {sources.describe()}"))
                sources.unreachable = self.probe_live_sources()
                return sources
        node = start_replay_node(ws_rate=MEMPOOL_REPLAY_RATE)
        sources = Sources(mode="replay", node=node, overrides=replay_overrides(node))
        self.stdout.write(self.style.SUCCESS(f"== Sources: {sources.describe()}"))
        return sources

    def probe_live_sources(self) -> dict[str, str]:
        """Probe every live source but Ethereum once (``live_probes``); {name: why it is unreachable}."""
        unreachable = {}
        for name, (url, call) in live_probes().items():
            try:
                call()
            except (SourceUnavailable, SourceError, requests.RequestException) as exc:
                state = "answers with an error" if isinstance(exc, SourceError) else "unreachable"
                unreachable[name] = f"{name} source {url} {state} ({type(exc).__name__})"
                self.stdout.write(f"   {unreachable[name]}: its set-up run is skipped")
        return unreachable

    def collect_ethereum(self, *, replay: bool) -> None:
        client = EthereumRpcClient.from_settings()
        if replay:
            # Recordings are final: no confirmations; walk the whole recorded run ending at the head.
            head = client.block_number()
            start = head
            while start > head - 100 and client.get_header(start - 1) is not None:
                start -= 1
            result = blocks_collect(client=client, from_block=start, to_block=head, confirmations=0,
                                    progress=self.progress)
        else:
            result = blocks_collect(client=client, progress=self.progress)
        line = (f"   ethereum: {result.status}, {result.blocks} blocks, {result.items_seen} transactions, "
                f"{result.items_written} new trades, {result.events_written} new events")
        self.stdout.write(line if result.status != RunStatus.FAILED else self.style.ERROR(f"{line}: {result.error}"))

    def track_recorded_bitcoin(self) -> None:
        created = 0
        for address, (name, tx_hash) in RECORDED_BITCOIN_WHALES.items():
            evidence = LabelEvidence(slug="recorded", name="In the recordings", source="recordings",
                                     evidence_url=tx_url(Chain.BITCOIN, tx_hash))
            _, new, _ = whale_upsert(chain=Chain.BITCOIN, address=address, name=name, labels=[evidence],
                                     label_source="recordings")
            created += new
        self.stdout.write(f"   {len(RECORDED_BITCOIN_WHALES)} recorded Bitcoin addresses tracked ({created} new)")

    def collect_bitcoin(self, *, replay: bool) -> None:
        def progress(p: WalletProgress) -> None:
            if p.status != "not found":
                self.stdout.write(f"   {p.address}: {p.status}, {p.trades_written} trades so far "
                                  f"({p.done}/{p.total} addresses)")

        result = bitcoin_collect_once(progress=progress)
        extra = result.extra
        line = (f"   bitcoin: {result.status}, {extra['addresses_done']} of {extra['addresses']} addresses, "
                f"{result.items_seen} transactions, {result.items_written} new trades, "
                f"{result.events_written} new events, {extra['requests']} requests")
        if extra["not_found"]:
            line += f"; {extra['not_found']} addresses have no history at the source"
            if replay:
                line += " (not in the recordings)"
        self.stdout.write(line if result.status != RunStatus.FAILED else self.style.ERROR(f"{line}: {result.error}"))

    def monitor_mempool(self, sources: Sources) -> None:
        if sources.node is None:
            self.stdout.write("   the monitor follows the live mempool in the background while the server runs")
            return
        stream = sources.node.mempool_stream
        self.stdout.write(f"   playing the recorded mempool.space stream ({stream.script_length} frames)")
        result = monitor_once(stop_when=stream.finished.is_set, duration_s=MEMPOOL_REPLAY_TIMEOUT_S)
        s = result.extra
        self.stdout.write(
            f"   mempool: {result.status}, {s.get('messages', 0)} messages, {s.get('transactions', 0)} transactions, "
            f"{s.get('whales', 0)} whales ({s.get('whales_published', 0)} new events), "
            f"{s.get('replaced', 0)} replaced, {s.get('confirmed', 0)} confirmed, "
            f"{s.get('duplicates_skipped', 0)} duplicates skipped; "
            f"{MempoolTransaction.objects.count()} mempool whales stored")

    def track_recorded_hyperliquid(self) -> None:
        created = 0
        for address, (name, recorded) in RECORDED_HYPERLIQUID_WHALES.items():
            evidence = LabelEvidence(slug="recorded", name="In the recordings", source="recordings",
                                     evidence_url=f"https://app.hyperliquid.xyz/explorer/address/{address}")
            _, new, _ = whale_upsert(chain=Chain.HYPERLIQUID, address=address, name=name, labels=[evidence],
                                     label_source="recordings", notes=f"Recorded Info API answer: {recorded}")
            created += new
        count = len(RECORDED_HYPERLIQUID_WHALES)
        self.stdout.write(f"   {count} recorded Hyperliquid accounts tracked ({created} new)")

    def discover_bridge_whales(self) -> None:
        result = bridge.collect_once()
        extra = result.extra
        line = (f"   bridge: {result.status}, {result.blocks} blocks, {result.items_seen} deposits, "
                f"{extra['deposits_above_threshold']} above the threshold, {result.items_written} new Hyperliquid "
                f"whales, {extra['whales_linked']} linked to an entity")
        self.stdout.write(line if result.status != RunStatus.FAILED else self.style.ERROR(f"{line}: {result.error}"))

    def collect_hyperliquid(self, *, replay: bool) -> None:
        def progress(p: WalletProgress) -> None:
            self.stdout.write(f"   {p.address}: {p.status}")

        result = hyperliquid_collect_once(progress=progress)
        extra = result.extra
        line = (f"   hyperliquid: {result.status}, {extra['whales_done']} of {extra['whales']} whales, "
                f"{result.items_seen} fills and ledger updates, {result.items_written} new trades, "
                f"{result.events_written} new events, weight {extra['weight_spent']}")
        if extra.get("positions_unavailable"):
            line += f"; positions unavailable for {extra['positions_unavailable']}"
            if replay:
                line += " (not in the recordings)"
        self.stdout.write(line if result.status != RunStatus.FAILED else self.style.ERROR(f"{line}: {result.error}"))

    def collect_defillama(self) -> None:
        """Stablecoin supply and protocol TVL, with counts."""
        result = defillama_collect()
        extra = result.extra
        line = (f"   defillama: {result.status}, {extra.get('stablecoins', 0)} stablecoins, "
                f"{extra.get('supply_catalysts', 0)} supply moves as catalysts, {extra.get('protocols', 0)} protocols")
        self.stdout.write(line if result.status == RunStatus.OK else self.style.WARNING(f"{line}: {result.error}"))

    def collect_sec(self) -> None:
        """The followed issuers' filings (``sec``), then the latest-filings feed (``sec_feed``), with counts."""
        def progress(p: IssuerProgress) -> None:
            self.stdout.write(f"   {p}")

        for result in (sec_submissions_collect(progress=progress), sec_feed_collect()):
            extra = result.extra
            if result.collector == SEC_COLLECTOR_NAME:
                line = (f"   sec: {result.status}, {extra.get('issuers', 0)} issuers, {result.items_seen} filings "
                        f"listed, {result.items_written} new of the forms {', '.join(settings.SEC_FORMS)}")
            else:
                line = (f"   sec_feed: {result.status}, {extra.get('pages', 0)} pages, {result.items_seen} entries "
                        f"(ended: {extra.get('ended', '-')}), {extra.get('followed_issuer_entries', 0)} of followed "
                        f"issuers, {result.items_written} new filings")
            self.stdout.write(line if result.status == RunStatus.OK else self.style.WARNING(f"{line}: {result.error}"))

    def collect_announcements(self, *, replay: bool) -> None:
        """Every active announcement feed, live only: no exchange feed is recorded."""
        if replay:
            self.stdout.write("   skipped: no exchange announcement feed is recorded; its beat row reads the live "
                              "feeds hourly")
            return
        result = announcements_collect()
        line = (f"   announcements: {result.status}, {result.extra.get('feeds', 0)} feeds, {result.items_seen} "
                f"entries, {result.items_written} new")
        self.stdout.write(line if result.status == RunStatus.OK else self.style.WARNING(f"{line}: {result.error}"))

    def follow_recorded_subreddits(self) -> None:
        """Follow the subreddits whose listings are recorded (none is about crypto; catalog.RECORDED_SUBREDDITS)."""
        created = 0
        for name, listings in RECORDED_SUBREDDITS.items():
            _, new = Subreddit.objects.get_or_create(name=name, defaults={"listings": listings})
            created += new
        self.stdout.write(f"   {len(RECORDED_SUBREDDITS)} recorded subreddits followed ({created} new): "
                          + ", ".join(f"r/{n} ({listings})" for n, listings in RECORDED_SUBREDDITS.items()))

    def collect_reddit(self) -> None:
        """Every followed subreddit's listings, with progress and counts."""
        def progress(p: ListingProgress) -> None:
            self.stdout.write(f"   {p}")

        result = reddit_collect(progress=progress)
        extra = result.extra
        line = (f"   reddit: {result.status}, {extra.get('listings', 0)} listings "
                f"({extra.get('listings_failed', 0)} failed), {result.items_seen} posts, {result.items_written} new")
        self.stdout.write(line if result.status == RunStatus.OK else self.style.WARNING(line))

    def collect_cryptopanic(self) -> None:
        """CryptoPanic's news when CRYPTOPANIC_API_KEY is set (live only: no CryptoPanic answer is recorded)."""
        if not settings.CRYPTOPANIC_API_KEY:
            self.stdout.write("   skipped: CryptoPanic is off (no CRYPTOPANIC_API_KEY; no answer of it is recorded); "
                              "set the key and enable its beat row to read it every 5 minutes")
            return
        result = cryptopanic_collect()
        line = (f"   cryptopanic: {result.status}, {result.items_seen} posts, {result.items_written} new")
        self.stdout.write(line if result.status == RunStatus.OK else self.style.WARNING(f"{line}: {result.error}"))

    def compute_metrics(self) -> None:
        count = metrics_recompute_all()
        self.stdout.write(f"   metrics of {count} whales computed (ROI, realized/unrealized P&L, volume, win rate)")
        result = metrics_backfill()
        self.stdout.write(f"   daily history: {result.days_written} past days of {result.whales_written} whales "
                          "rebuilt from their trades, openings and daily prices")

    def ethereum_holdings(self) -> None:
        result = holdings_collect()
        openings = result.extra.get("openings") or {}
        line = (f"   ethereum holdings: {result.status}, {result.items_written} holdings of {result.items_seen} "
                f"whales; opening positions: {openings.get('ok', 0)} read, {openings.get('unpriced', 0)} unpriced, "
                f"{openings.get('unavailable', 0)} unavailable")
        self.stdout.write(line if result.status != RunStatus.FAILED else f"{line} ({result.error})")

    def score_and_flows(self) -> None:
        classified = whales_classify()
        by_type = ", ".join(f"{count} {kind}" for kind, count in sorted(classified.by_type.items())) or "none"
        self.stdout.write(f"   classified {classified.seen} whales ({by_type}; {classified.manual} set by analysts)")
        run = scoring_run()
        self.stdout.write(f"   scoring run: {run.status}, {run.processed} of {run.total} whales scored, "
                          f"{run.updated} new scores, {run.failed} failed (formula {run.formula_version})")
        flows = flows_collect()
        self.stdout.write(f"   smart-money flows: {len(flows)} token/window rows")

    def data_quality(self) -> None:
        """One run of the data-quality monitor (``ledgers.quality``; its beat row repeats it every 15 minutes)."""
        result = quality_run()
        report = result.report
        self.stdout.write(f"   quality: {report.score} / 100 ({len(report.issues)} open issues, "
                          f"{sum(1 for i in report.issues if i['severity'] == 'high')} high)")
        for ledger, figures in sorted(report.ledgers.items()):
            self.stdout.write(f"   {ledger}: {figures['score']} (completeness {figures['completeness']}, "
                              f"timeliness {figures['timeliness']}, accuracy {figures['accuracy']})")
        for name, check in sorted(report.checks.items()):
            self.stdout.write(f"   check {name}: {check['failed']} of {check['checked']} at fault")

    def paper_trading(self) -> None:
        """The admin's paper account with a follow-smart-money strategy (scheduled on its own beat row),
        and a backtest of following the recorded Hyperliquid trader over its recorded fills (once: a
        re-run prints the stored result)."""
        admin = get_user_model().objects.get(username=settings.WHALETRACK_ADMIN_USER)
        account = Account.objects.filter(owner=admin, name=PAPER_ACCOUNT).first()
        if account is None:
            account = account_create(owner_id=admin.pk, name=PAPER_ACCOUNT)
        strategy = account.strategies.filter(name=SMART_MONEY_STRATEGY).first()
        if strategy is None:
            strategy = strategy_create(account_id=account.pk, name=SMART_MONEY_STRATEGY,
                                       kind=StrategyKind.FOLLOW_SMART_MONEY, params={"order_usd": "500"})
        self.stdout.write(f"   paper account {account.name!r} (id {account.pk}) of {admin.username!r}: "
                          f"{account.cash_usd} USD cash; strategy {strategy.name!r} {strategy.status}, runs "
                          f"{strategy.periodic_task.interval if strategy.periodic_task else '-'}")
        trader = Whale.objects.filter(chain=Chain.HYPERLIQUID, address=RECORDED_TRADER).first()
        if trader is None or not trader.trades.exists():
            self.stdout.write("   no recorded Hyperliquid fills to backtest on")
            return
        name = f"recorded fills of {RECORDED_TRADER[:10]}: follow_whale x {BACKTEST_SCALE}"
        done = Account.objects.filter(owner__username=BACKTEST_OWNER, name=name).first()
        if done is None:
            bounds = default_range(kind=StrategyKind.FOLLOW_WHALE, params={"whale_id": trader.pk})
            assert bounds is not None
            step = timedelta(minutes=1)
            params = {"whale_id": trader.pk, "scale": BACKTEST_SCALE}
            result = backtest_run(kind=StrategyKind.FOLLOW_WHALE, params=params, start=bounds[0] - step,
                                  end=bounds[1] + step, step=step, account_name=name)
            done = Account.objects.get(pk=result.account_id)
        summary = pnl_summary(account_id=done.pk, now=done.fills.order_by("-filled_at").values_list(
            "filled_at", flat=True).first() or timezone.now())
        outcomes = dict(StrategySignal.objects.filter(strategy__account=done).values_list("outcome").annotate(
            n=Count("id")).order_by())
        self.stdout.write(
            f"   backtest {name!r} (account {done.pk}): {outcomes.get('ordered', 0)} signals ordered, "
            f"{outcomes.get('rejected', 0)} rejected, {outcomes.get('skipped', 0)} skipped; "
            f"{summary['closed_trades']} closed trades, realized {summary['realized_pnl_usd']:.2f} USD, "
            f"fees {summary['fees_usd']:.2f} USD (recorded prices are daily: only BTC and ETH can be priced)")

    def live_demo(self, node: ReplayServer) -> None:
        """A live-mode account of the admin on the node's simulated Hyperliquid venue: a fresh simulated main
        wallet with an approved agent, the four gates passed the audited way (setting on offline, admin switch,
        live mode, the owner's confirmation), and a follow-whale strategy on the recorded trader's last
        ``LIVE_DEMO_FILLS`` fills, run once now; its orders go to the simulator over loopback HTTP."""
        from eth_account import Account as EthAccount

        admin = get_user_model().objects.get(username=settings.WHALETRACK_ADMIN_USER)
        trader = Whale.objects.filter(chain=Chain.HYPERLIQUID, address=RECORDED_TRADER).first()
        first = (trader.trades.filter(base_asset=LIVE_DEMO_FROM[0], direction=LIVE_DEMO_FROM[1])
                 .order_by("-block_time", "-id").first() if trader else None)
        if trader is None or first is None:
            self.stdout.write("   no recorded Hyperliquid fills to follow")
            return
        for old in Account.objects.filter(owner=admin, name=LIVE_DEMO_ACCOUNT):  # the simulator starts empty
            for strategy in old.strategies.all():
                strategy_delete(strategy_id=strategy.pk)
            old.delete()
        main, agent = EthAccount.create(), EthAccount.create()
        node.hyperliquid_exchange.account_set(user=main.address, agents=[agent.address], usdc=LIVE_DEMO_USDC)
        account = account_create(owner_id=admin.pk, name=LIVE_DEMO_ACCOUNT, starting_cash_usd=LIVE_DEMO_USDC,
                                 price_band_percent=LIVE_DEMO_BAND_PERCENT, max_order_notional_usd=Decimal("20000"),
                                 max_daily_notional_usd=Decimal("50000"), max_position_percent=Decimal("50"),
                                 max_strategy_exposure_percent=Decimal("80"), fee_bps=Decimal("4.5"))
        credential_set(account_id=account.pk, owner=admin, venue=LiveVenue.HYPERLIQUID, api_key=main.address,
                       secret=agent.key.hex())
        if not live_trading_enabled():
            live_trading_set(enabled=True, by_user=admin, reason="offline demo: the venue is the replay node's "
                                                                 "simulator")
        live_mode_set(account_id=account.pk, live=True, venue=LiveVenue.HYPERLIQUID, by_user=admin,
                      reason="offline demo on the simulated venue")
        live_confirm(account_id=account.pk, by_user=admin)
        oldest = first.block_time
        hours = int((timezone.now() - oldest).total_seconds() // 3600) + 2
        strategy = strategy_create(account_id=account.pk, name=LIVE_DEMO_STRATEGY, kind=StrategyKind.FOLLOW_WHALE,
                                   params={"whale_id": trader.pk, "scale": BACKTEST_SCALE, "lookback_hours": hours})
        Strategy.objects.filter(pk=strategy.pk).update(started_at=oldest - timedelta(seconds=1))
        result = strategy_run(strategy_id=strategy.pk)
        self.stdout.write(f"   account {account.name!r} (id {account.pk}) of {admin.username!r}, LIVE on the SIMULATED "
                          f"Hyperliquid venue at {node.hyperliquid_url} (main wallet {main.address}, a fresh agent)")
        self.stdout.write(f"   strategy {strategy.name!r} on the recorded trader's fills from {oldest.isoformat()} "
                          f"on: {result.generated} signals, {result.ordered} ordered, {result.rejected} rejected, "
                          f"{result.skipped} skipped")
        statuses = dict(account.orders.values_list("status").annotate(n=Count("id")).order_by())
        shown = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
        self.stdout.write(f"   orders at the simulated venue: {shown or 'none'}; {account.fills.count()} fills booked "
                          "from the venue's answers")

    def progress(self, p) -> None:
        self.stdout.write(f"   block {p.block_number}: {p.trades_written} trades, {p.events_written} events so far")

    def summary(self, sources: Sources, seconds: float, options: dict) -> None:
        base = f"http://{options['host']}:{options['port']}"
        username, password = self.admin_credentials
        self.stdout.write(self.style.MIGRATE_HEADING("== WhaleTrack is ready"))
        self.stdout.write(
            f"   {Whale.objects.filter(is_tracked=True).count()} tracked whales, {Trade.objects.count()} trades, "
            f"{WhaleEvent.objects.count()} whale events (set-up took {seconds:.1f} s)\n"
            f"   dashboard   {base}/\n"
            f"   admin       {base}/admin/   user {username!r} password {password!r}\n"
            f"   API         {base}/api/v1/whales   docs {base}/api/docs/   schema {base}/api/schema/\n"
            f"   health      {base}/health   collectors {base}/api/v1/collectors/health\n"
            f"   mempool     {base}/api/v1/glass/bitcoin/mempool/scorecard   .../transactions\n"
            f"   flows       {base}/api/v1/glass/smart-money-flows?token=ETH&days=7"
        )

    def serve(self, sources: Sources, host: str, port: int) -> None:
        """daphne on ``host:port`` beside the embedded runtime: the Celery worker and beat (every periodic job
        from its beat row) and, with live sources, the mempool monitor (supervised)."""
        from daphne.cli import CommandLineInterface

        runtime = EmbeddedRuntime(concurrency=settings.WHALETRACK_WORKER_CONCURRENCY)
        if sources.node is None:
            runtime.add_service(MONITOR_NAME, lambda stop: monitor_once(stop_when=stop.is_set))
        runtime.start()
        rows = list(PeriodicTask.objects.filter(enabled=True).select_related("interval", "crontab").order_by("name"))
        self.stdout.write(f"== Worker ({settings.WHALETRACK_WORKER_CONCURRENCY} threads) and beat running; "
                          f"{len(rows)} scheduled jobs (edit them at /admin/django_celery_beat/periodictask/):")
        for row in rows:
            self.stdout.write(f"   {row.name}: {row.interval or row.crontab or row.clocked or row.solar}")
        if sources.node is None:
            self.stdout.write(f"   and the mempool monitor on {settings.BITCOIN_WS_URL}")
        self.stdout.write(f"== Serving on http://{host}:{port} (Ctrl-C stops)")
        self.stdout.flush()
        try:
            CommandLineInterface().run(["-b", host, "-p", str(port), "whaletrack.asgi:application"])
        finally:
            runtime.stop()
