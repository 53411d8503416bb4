"""No network call under a lock (issue 14, item 7): a Hyperliquid-venue order fetches the mid BEFORE it
locks the account, so a slow venue does not hold the account row (every other order, the limit
matching and the daily-loss guard of that account would wait for its timeout). Real PostgreSQL row
locks and a real slow HTTP server on loopback."""

import json
import threading
from decimal import Decimal

import pytest
from django.db import OperationalError, close_old_connections, connection, transaction

from tests.http_servers import LoopbackServer, QuietHandler
from tests.trading.factories import AccountFactory
from trading.models import Account, OrderStatus, Venue
from trading.services import order_place
from trading.venues import mids_cache_clear

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

D = Decimal
DELAY_S = 2.0


class SlowMidsHandler(QuietHandler):
    """``POST /info`` allMids answered after DELAY_S; ``asked`` is set when a request arrives."""

    asked = threading.Event()
    release = threading.Event()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).asked.set()
        type(self).release.wait(DELAY_S)
        body = json.dumps({"ETH": "2000"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def slow_venue(settings):
    SlowMidsHandler.asked.clear()
    SlowMidsHandler.release.clear()
    httpd = LoopbackServer(SlowMidsHandler)
    settings.HYPERLIQUID_API_URL = httpd.url
    settings.HYPERLIQUID_WEIGHT_BUDGET = "1000000/minute"
    settings.HYPERLIQUID_RETRIES = 0
    settings.HYPERLIQUID_TIMEOUT_S = 10
    mids_cache_clear()
    yield
    SlowMidsHandler.release.set()
    httpd.close()
    mids_cache_clear()


def test_the_account_row_is_free_while_the_venue_answers_slowly(slow_venue):
    account = AccountFactory(venue=Venue.HYPERLIQUID)
    placed: list = []

    def place() -> None:
        try:
            placed.append(order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=D("0.1"),
                                      client_order_id="slow"))
        finally:
            close_old_connections()
            connection.close()

    worker = threading.Thread(target=place)
    worker.start()
    assert SlowMidsHandler.asked.wait(10)  # the order is now waiting for the venue
    try:
        with transaction.atomic():  # another writer of this account (limit matching, a halt, an order)
            locked = Account.objects.select_for_update(nowait=True).get(pk=account.pk)
        free = locked.pk == account.pk
    except OperationalError:  # could not obtain lock: the order holds the row across the network call
        free = False
    SlowMidsHandler.release.set()
    worker.join(30)
    assert free
    assert [o.status for o in placed] == [OrderStatus.FILLED]
