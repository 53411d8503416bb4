"""The main job (``run_main``) on the recordings: counts per step, and a re-run that changes nothing."""

from decimal import Decimal
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.core.management import call_command

from ledgers.catalyst.sec.models import SecFiling
from ledgers.exchange.market.models import PriceHistory
from ledgers.glass.bitcoin.models import MempoolStatus, MempoolTransaction
from ledgers.human.reddit.models import RedditPost
from ledgers.models import CollectorRun, QualityReport
from tests.ledgers.glass.bitcoin import recorded as btc_recorded
from tests.ledgers.glass.ethereum import recorded
from tests.ledgers.glass.hyperliquid import recorded as hl_recorded
from trading.models import Account, Fill, StrategySignal
from whales.models import Holding, KnownAddress, Trade, Whale, WhaleEvent, WhaleLabel

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps seeded assets

LIVE_DEMO = "live demo (simulated venue)"


def recorded_mids() -> dict[str, Decimal]:
    """The recorded allMids answer (the simulated venue's mids), read from the raw cassette."""
    import json
    from pathlib import Path

    import yaml
    from django.conf import settings

    path = Path(settings.REPLAY_DATA_DIR) / "hyperliquid-python-sdk-cassettes" / "test_get_all_mids.yaml"
    [interaction] = yaml.safe_load(path.read_text())["interactions"]
    return {coin: Decimal(mid) for coin, mid in json.loads(interaction["response"]["body"]["string"]).items()}


def assert_live_demo(text: str) -> Account:
    """The live demo: a live account on the simulated Hyperliquid venue whose follow-whale strategy acted on the
    recorded trader's fills from its last BTC long on; each refusal by the price band checked here against the
    recorded mid and the recorded fill's price; each fill at the recorded mid."""
    from trading.live import live_gates

    demo = Account.objects.get(name=LIVE_DEMO)
    assert (demo.mode, demo.live_venue) == ("live", "hyperliquid")
    # The setting gate is on only while the main job serves the simulator (its override ends with the command).
    assert [gate.name for gate in live_gates(demo) if not gate.ok] == ["setting"], live_gates(demo)
    trader = Whale.objects.get(chain="hyperliquid", address=hl_recorded.FILLS_USER)
    first = trader.trades.filter(base_asset="BTC", direction="long").order_by("-block_time", "-id").first()
    window = trader.trades.filter(block_time__gte=first.block_time, is_internal=False, amount_base__gt=0)
    signals = StrategySignal.objects.filter(strategy__account=demo)
    assert signals.count() == window.count() == 74
    assert signals.filter(outcome="skipped").count() >= window.filter(direction__in=["short", "close_short"]).count()
    mids = recorded_mids()
    for signal in signals.filter(outcome="rejected", order__reject_reason__startswith="price_band_percent"):
        trade = window.get(pk=int(signal.key.removeprefix("fw:")))
        moved = abs(mids[signal.symbol] - trade.price_usd) / trade.price_usd * 100
        assert moved > 10, (signal.symbol, moved)
    filled = Fill.objects.filter(account=demo)
    assert filled.exists()
    for fill in filled:
        assert (fill.venue, fill.price_usd) == ("hyperliquid", mids[fill.symbol])
    assert "LIVE on the SIMULATED Hyperliquid venue" in text
    assert (f"74 signals, {signals.filter(outcome='ordered').count()} ordered, "
            f"{signals.filter(outcome='rejected').count()} rejected, {signals.filter(outcome='skipped').count()} "
            "skipped") in text
    return demo


def snapshot() -> dict:
    return {
        "whales": sorted(Whale.objects.values_list("chain", "address", "name", "last_active_at")),
        "labels": WhaleLabel.objects.count(),
        "known": KnownAddress.objects.count(),
        "prices": PriceHistory.objects.count(),
        "trades": sorted(Trade.objects.values_list("tx_hash", "log_index", "whale__address", "direction",
                                                   "value_usd")),
        "events": sorted(WhaleEvent.objects.values_list("tx_hash", "log_index", "summary")),
        "users": list(get_user_model().objects.values_list("username", "password")),
        "holdings": sorted(Holding.objects.values_list("whale__address", "asset", "amount", "value_usd")),
        "mempool": sorted(MempoolTransaction.objects.values_list("tx_hash", "status", "fee_bump_sat",
                                                                 "time_to_confirm_s", "value_usd")),
        # The live demo account is made again on every run (its simulated venue starts empty): compared apart.
        "accounts": sorted(Account.objects.exclude(name=LIVE_DEMO).values_list("owner__username", "name", "cash_usd")),
        "signals": sorted(StrategySignal.objects.exclude(strategy__account__name=LIVE_DEMO).values_list(
            "strategy__name", "key", "outcome", "order_id")),
        "fills": sorted(Fill.objects.exclude(account__name=LIVE_DEMO).values_list(
            "order_id", "price_usd", "quantity", "realized_pnl_usd")),
        "sec_filings": sorted(SecFiling.objects.values_list("issuer__cik", "accession_number", "primary_document")),
        "reddit_posts": sorted(RedditPost.objects.values_list("reddit_id", "score", "sentiment_compound", "coins")),
    }


def reddit_recorded_ids(name: str) -> set[str]:
    import json

    from tests.ledgers.human.reddit.test_reddit import DATA

    return {c["data"]["name"] for c in json.loads((DATA / name).read_text())["data"]["children"] if c["kind"] == "t3"}


def reddit_recorded_posts() -> dict[str, int]:
    """Posts per recorded listing file (raw)."""
    import json

    from tests.ledgers.human.reddit.test_reddit import ASK_HOT, ASK_NEW, POPULAR

    return {path.name: sum(c["kind"] == "t3" for c in json.loads(path.read_text())["data"]["children"])
            for path in (POPULAR, ASK_HOT, ASK_NEW)}


def sec_recorded_counts() -> tuple[int, int]:
    """(filings the seeded issuers' recorded submissions list, those of the stored forms), from the raw files:
    recent filings of every issuer, plus Tesla's recorded older page."""
    import json

    from tests.ledgers.catalyst.sec.test_sec import FORMS, PAGED, recorded_submissions, wanted_accessions

    ciks = [1679788, 1050446, 1507605, 1167419, 1512673, 827876, 1783879, 1876042, 1859392, 1588489, 1852317,
            1554859, 1725210, 1318605]
    listed = wanted = 0
    for cik in ciks:
        recent = recorded_submissions(cik)["filings"]["recent"]
        columns = [recent]
        if cik == 1318605:
            columns.append(json.loads((PAGED / "CIK0001318605-submissions-001.json").read_text()))
        listed += sum(len(c["accessionNumber"]) for c in columns)
        wanted += len(set().union(*(wanted_accessions(c) for c in columns)))
    assert FORMS == ("4", "8-K", "10-K", "10-Q", "S-1", "144", "424B5")
    return listed, wanted


def test_main_job_sets_up_collects_the_recordings_and_a_rerun_changes_nothing(settings):
    settings.WHALETRACK_SOURCES = "replay"
    settings.TRADING_CREDENTIALS_KEYS = [Fernet.generate_key().decode()]  # no key file written by the test
    settings.REPLAY_PORT = 0
    settings.WHALETRACK_ADMIN_PASSWORD = "main-job-test-pw"  # no generated password file
    out = StringIO()

    call_command("run_main", "--no-serve", stdout=out)

    text = out.getvalue()
    transactions = sum(len(recorded.raw_block(n)["transactions"]) for n in recorded.RECORDED_BLOCKS)
    eth_trades = Trade.objects.filter(chain="ethereum").count()
    assert f"ethereum: ok, 2 blocks, {transactions} transactions, {eth_trades} new trades" in text
    assert "created admin user 'admin'" in text
    assert get_user_model().objects.get(username="admin").check_password("main-job-test-pw")
    assert set(Trade.objects.filter(chain="ethereum").values_list("block_number", flat=True)) == set(
        recorded.RECORDED_BLOCKS)
    assert Whale.objects.filter(address="0x28c6c06298d514db089934071355e5743bf21d60", name="Binance 14").exists()
    # Bitcoin: the recorded addresses are tracked and collected, the recorded mempool stream monitored.
    genesis = Whale.objects.get(chain="bitcoin", address=btc_recorded.GENESIS_ADDRESS)
    assert genesis.trades.count() == len(btc_recorded.exposed("satoshi-genesis-txs.json"))
    assert genesis.whale_labels.get().source == "recordings"
    assert "5 recorded Bitcoin addresses tracked (5 new)" in text
    assert "bitcoin: partial," in text and "(not in the recordings)" in text  # the label sets' BTC whales
    assert "mempool: ok, 15 messages" in text and "5 whales (5 new events), 1 replaced, 1 confirmed" in text
    assert MempoolTransaction.objects.filter(status=MempoolStatus.CONFIRMED, confirmed_block_number=890448).count() == 1
    # Hyperliquid: the recorded accounts and the two recorded bridge depositors are tracked and collected.
    assert "3 recorded Hyperliquid accounts tracked (3 new)" in text
    assert "bridge: ok, " in text and "2 deposits, 2 above the threshold, 2 new Hyperliquid whales" in text
    assert Whale.objects.filter(chain="hyperliquid").count() == 5
    fills = Trade.objects.filter(chain="hyperliquid", whale__address=hl_recorded.FILLS_USER).count()
    assert fills == 500 + sum(1 for f in hl_recorded.fills() if ">" in f["dir"])
    assert Trade.objects.filter(chain="hyperliquid", direction="deposit", value_usd=Decimal("2703997.45")).exists()
    assert Holding.objects.filter(whale__address=hl_recorded.POSITIONS_USER, is_perp=True).count() == 12
    assert "hyperliquid: partial, 5 of 5 whales" in text  # two recorded accounts have no recorded positions
    # SEC EDGAR: every seeded issuer's recorded filings of the stored forms (three older pages are not recorded).
    listed, wanted = sec_recorded_counts()
    assert (f"sec: partial, 14 issuers, {listed} filings listed, {wanted} new of the forms "
            "4, 8-K, 10-K, 10-Q, S-1, 144, 424B5") in text
    assert SecFiling.objects.count() == wanted
    assert "sec_feed: ok, 3 pages, 300 entries (ended: past the end (503))" in text
    assert "skipped: no exchange announcement feed is recorded" in text
    assert "skipped: CryptoPanic is off (no CRYPTOPANIC_API_KEY; no answer of it is recorded)" in text
    assert "defillama: partial, 2 stablecoins, 1 supply moves as catalysts, 0 protocols" in text  # no TVL recorded
    # Reddit: the recorded r/popular and r/AskReddit listings; the seeded crypto subreddits are not recorded.
    reddit_posts = reddit_recorded_posts()
    assert "2 recorded subreddits followed (2 new)" in text
    assert f"reddit: partial, 13 listings (10 failed), {sum(reddit_posts.values())} posts, " \
           f"{len(set().union(*(reddit_recorded_ids(n) for n in reddit_posts)))} new" in text

    # Paper trading: the admin's account with a scheduled strategy, and a backtest that records one signal
    # per trading fill of the recorded trader (each ordered, rejected or skipped, never dropped).
    paper = Account.objects.get(owner__username="admin", name="paper")
    strategy = paper.strategies.get()
    assert (strategy.kind, strategy.status, strategy.periodic_task.task) == (
        "follow_smart_money", "active", "trading.run_strategy")
    backtest = Account.objects.get(owner__username="backtest")
    trader_trades = Trade.objects.filter(whale__address=hl_recorded.FILLS_USER, amount_base__gt=0,
                                         direction__in=["buy", "sell", "long", "short", "close_long", "close_short"])
    signals = StrategySignal.objects.filter(strategy__account=backtest)
    assert signals.count() == trader_trades.count() > 400
    assert signals.filter(outcome="skipped").count() >= trader_trades.filter(
        direction__in=["short", "close_short"]).count()
    filled = Fill.objects.filter(account=backtest)
    assert filled.exists() and set(filled.values_list("symbol", flat=True)) <= {"BTC", "ETH"}
    assert f"backtest 'recorded fills of 0xb7b6f3ce: follow_whale x 0.1' (account {backtest.pk}): " in text
    # Data quality: one report, printed as stored; every accuracy check passes on the recorded data.
    demo = assert_live_demo(text)
    report = QualityReport.objects.get()
    assert f"quality: {report.score} / 100 ({len(report.issues)} open issues" in text
    for ledger, figures in report.ledgers.items():
        assert (f"{ledger}: {figures['score']} (completeness {figures['completeness']}, timeliness "
                f"{figures['timeliness']}, accuracy {figures['accuracy']})") in text
    # Every check passes on the recorded data but one: the replay node DERIVES a Bitcoin address's balance from
    # the recorded transactions alone (ledgers.replay.bitcoin.address_stats), and for addresses whose recorded
    # window lacks earlier receipts that is negative; the monitor reports exactly those holdings.
    negative = Holding.objects.filter(amount__lt=0, is_perp=False)
    assert negative.exists() and set(negative.values_list("whale__chain", flat=True)) == {"bitcoin"}
    assert {name: check["failed"] for name, check in report.checks.items()} == {
        **dict.fromkeys(report.checks, 0), "negative_spot_balance": negative.count()}
    assert report.checks["event_without_trade"]["checked"] == WhaleEvent.objects.filter(
        type__in=["large_transfer", "large_swap", "exchange_flow", "perp_trade"], whale__isnull=False).count() > 0
    assert report.checks["sec_filing_catalyst"]["checked"] == SecFiling.objects.count()
    assert report.checks["reddit_post_sentiment"]["checked"] == RedditPost.objects.count()
    assert report.checks["price_neighbours"]["checked"] == PriceHistory.objects.count()
    first = snapshot()

    again = StringIO()
    call_command("run_main", "--no-serve", stdout=again)

    assert "ethereum: ok, 2 blocks, " + f"{transactions} transactions, 0 new trades, 0 new events" in again.getvalue()
    assert "admin user 'admin' exists (kept as it is)" in again.getvalue()
    assert "5 whales (0 new events)" in again.getvalue()
    # Tesla's older page was stored by the first run and is not read again.
    assert f"sec: partial, 14 issuers, {listed - 720} filings listed, 0 new" in again.getvalue()
    assert snapshot() == first
    again_demo = assert_live_demo(again.getvalue())
    assert again_demo.pk != demo.pk and not Account.objects.filter(pk=demo.pk).exists()


def test_main_job_follows_a_reachable_live_node_instead_of_the_recordings(settings):
    from tests.ledgers.glass.ethereum.evm_node import EvmNode

    node = EvmNode()  # a live JSON-RPC chain on loopback (eth-tester / py-evm): no internet here
    try:
        w3 = node.w3
        whale_account = w3.eth.accounts[0]
        w3.eth.send_transaction({"from": whale_account, "to": w3.eth.accounts[1], "value": 3 * 10**18})
        settings.WHALETRACK_SOURCES = "auto"
        settings.ETH_RPC_URL = node.url
        settings.ETH_START_BLOCK = 1
        settings.ETH_CONFIRMATIONS = 0
        settings.WHALETRACK_ADMIN_PASSWORD = "main-job-test-pw"
        # Nothing listens on port 9: Bitcoin, Arbitrum and Hyperliquid are down (a machine that reaches only a
        # local node: make demo-chain). Their retries stay as configured; the set-up probes each once instead.
        settings.BITCOIN_API_URL = "http://127.0.0.1:9/api"
        settings.HYPERLIQUID_API_URL = "http://127.0.0.1:9"
        settings.ARBITRUM_RPC_URL = "http://127.0.0.1:9/arbitrum"
        Whale.objects.create(chain="ethereum", address=whale_account.lower(), name="live whale")
        out = StringIO()

        call_command("run_main", "--no-serve", stdout=out)

        text = out.getvalue()
        assert f"== Sources: live ({node.url}, http://127.0.0.1:9/api, " in text
        for name, url, error in (("bitcoin", "http://127.0.0.1:9/api", "EsploraUnavailable"),
                                 ("arbitrum", "http://127.0.0.1:9/arbitrum", "RpcUnavailable"),
                                 ("hyperliquid", "http://127.0.0.1:9", "HyperliquidUnavailable")):
            assert f"   {name} source {url} unreachable ({error}): its set-up run is skipped" in text
            assert f"   skipped: {name} source {url} unreachable ({error}); its beat row keeps trying" in text
        assert not CollectorRun.objects.filter(collector__in=["bitcoin", "hyperliquid_bridge", "hyperliquid"]).exists()
        trade = Trade.objects.get(whale__address=whale_account.lower())
        assert (trade.direction, trade.amount_base, trade.block_number) == ("send", Decimal(3), 1)
        assert not Trade.objects.filter(block_number__in=recorded.RECORDED_BLOCKS).exists()
    finally:
        node.stop()
