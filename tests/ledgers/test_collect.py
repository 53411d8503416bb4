"""``manage.py collect``: options come from what each collector declares; bad input changes nothing."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from ledgers.models import CollectorRun, SyncCursor

pytestmark = pytest.mark.django_db


def test_list_names_every_collector_with_its_ledger():
    out = StringIO()
    call_command("collect", "--list", stdout=out)
    lines = out.getvalue().splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["catalyst", "announcements:"], ["glass", "bitcoin:"], ["glass", "bitcoin_mempool:"], ["human", "cryptopanic:"],
        ["glass", "defillama:"],
        ["glass", "ethereum:"], ["glass", "ethereum_holdings:"],
        ["glass", "hyperliquid:"],
        ["glass", "hyperliquid_bridge:"], ["exchange", "market:"], ["human", "reddit:"],
        ["catalyst", "sec:"], ["catalyst", "sec_feed:"]]


@pytest.mark.parametrize(("argv", "message"), [
    (["bitcoin", "--from-block", "5"], "--from-block does not apply to collector 'bitcoin'"),
    (["market", "--address", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"], "--address does not apply to collector 'market'"),
    (["ethereum", "--ws-url", "ws://127.0.0.1:9"], "--ws-url does not apply to collector 'ethereum'"),
])
def test_an_option_of_another_collector_is_refused_before_anything_runs(argv, message):
    with pytest.raises(CommandError, match=message):
        call_command("collect", *argv)
    assert not CollectorRun.objects.exists()
    assert not SyncCursor.objects.exists()


@pytest.mark.parametrize(("argv", "message"), [
    (["ethereum", "--from-block", "-1"], "must be >= 0"),
    (["ethereum", "--max-blocks", "0"], "must be > 0"),
    (["ethereum", "--to-block", "12x"], "not a whole number"),
    (["bitcoin_mempool", "--duration", "nan"], "must be > 0"),
    (["market", "--days", "0"], "must be > 0"),
])
def test_a_bad_value_is_refused_by_the_parser(argv, message):
    with pytest.raises(CommandError, match=f"argument {argv[1]}: {message}"):
        call_command("collect", *argv)
    assert not CollectorRun.objects.exists()


def test_market_days_beyond_a_year_is_refused_and_nothing_runs():
    with pytest.raises(CommandError, match="days must be 1 to 365, not 400"):
        call_command("collect", "market", "--days", "400")
    assert not CollectorRun.objects.exists()
