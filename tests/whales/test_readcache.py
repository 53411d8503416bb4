"""The read cache of the heavy API reads (whales.readcache) on real PostgreSQL and Redis: hits send the miss's
exact bytes, writes drop what they change (committed or not, ORM or raw SQL, once per transaction), errors are
never cached, and each answer says how fresh it is."""

import threading
import time
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction
from django.test import override_settings

from ledgers.models import CollectorRun
from ledgers.redact import ERROR_HIDDEN
from tests.ports import free_port
from tests.whales.factories import TradeFactory, WhaleEventFactory, WhaleFactory
from whales.models import RunStatus, Whale
from whales.readcache import read_cache_generation

API = "/api/v1"
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _registry(only_test_collector):
    """The dashboard summary lists only ``test.collector``."""


def in_thread(work):
    """Run ``work()`` in a new thread, on its own database connection (closed after); return its result."""
    result = {}

    def run():
        try:
            result["value"] = work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    return result["value"]


def get(client, path, **extra):
    response = client.get(path, **extra)
    assert response.status_code == 200, response.content
    return response


# --- hits and misses ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_hit_sends_the_miss_bytes_and_each_answer_says_how_fresh_it_is(api_client):
    whales = [WhaleFactory(name=f"w{i}", last_active_at=T0) for i in range(3)]
    miss = get(api_client, f"{API}/whales?limit=2&sort_by=last_active&order=asc")
    assert (miss["X-Cache"], miss["Age"]) == ("MISS", "0")
    assert [item["id"] for item in miss.json()["items"]] == [whales[0].id, whales[1].id]
    assert miss.json()["total"] == 3
    hit = get(api_client, f"{API}/whales?limit=2&sort_by=last_active&order=asc")
    assert (hit["X-Cache"], hit["Age"]) == ("HIT", "0")
    assert hit.content == miss.content
    assert hit["ETag"] == miss["ETag"]


@pytest.mark.django_db
def test_age_counts_whole_seconds_since_the_answer_was_computed(api_client):
    WhaleFactory()
    assert get(api_client, f"{API}/whales/top")["X-Cache"] == "MISS"
    time.sleep(1.2)
    hit = get(api_client, f"{API}/whales/top")
    assert (hit["X-Cache"], hit["Age"]) == ("HIT", "1")


@pytest.mark.django_db
def test_unknown_parameters_are_refused_before_the_cache_and_known_ones_split_it(api_client):
    WhaleFactory()
    assert get(api_client, f"{API}/whales?limit=5")["X-Cache"] == "MISS"
    refused = api_client.get(f"{API}/whales?limit=5&utm_source=x")
    assert refused.status_code == 400
    assert "X-Cache" not in refused
    assert refused.json()["detail"].startswith("Unknown parameter(s): utm_source. Known: ")
    assert get(api_client, f"{API}/whales?limit=6")["X-Cache"] == "MISS"
    assert get(api_client, f"{API}/whales?limit=5&chain=ethereum")["X-Cache"] == "MISS"


@pytest.mark.django_db
def test_bad_input_is_an_error_every_time_and_never_cached(api_client):
    WhaleFactory()
    for _ in range(2):
        response = api_client.get(f"{API}/whales?limit=0")
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_parameter"
        assert "X-Cache" not in response
    for _ in range(2):
        response = api_client.get(f"{API}/wallets/ethereum/0x{'1' * 40}/trades")
        assert response.status_code == 404
        assert "X-Cache" not in response


@pytest.mark.django_db
def test_each_wallet_has_its_own_trade_pages(api_client):
    first, second = WhaleFactory(), WhaleFactory()
    trade_a = TradeFactory(whale=first, block_time=T0)
    trade_b = TradeFactory(whale=second, block_time=T0)
    a = get(api_client, f"{API}/wallets/ethereum/{first.address}/trades")
    b = get(api_client, f"{API}/wallets/ethereum/{second.address}/trades")
    assert (a["X-Cache"], b["X-Cache"]) == ("MISS", "MISS")
    assert [item["id"] for item in a.json()["items"]] == [trade_a.id]
    assert [item["id"] for item in b.json()["items"]] == [trade_b.id]
    assert get(api_client, f"{API}/wallets/ethereum/{first.address}/trades")["X-Cache"] == "HIT"


@pytest.mark.django_db
def test_the_browsable_api_renders_a_hit(api_client):
    WhaleFactory(name="Jump 1")
    get(api_client, f"{API}/whales")
    page = get(api_client, f"{API}/whales", HTTP_ACCEPT="text/html")
    assert page["X-Cache"] == "HIT"
    assert page["Content-Type"].startswith("text/html")
    assert "&quot;name&quot;: &quot;Jump 1&quot;" in page.content.decode()


@pytest.mark.django_db
def test_the_dashboard_summary_is_kept_apart_for_staff_and_the_public(api_client, staff_user):
    started = datetime.now(UTC)
    CollectorRun.objects.create(collector="test.collector", status=RunStatus.FAILED, started_at=started,
                                error="upstream answered 503")
    public = get(api_client, f"{API}/dashboard/summary")
    assert public["X-Cache"] == "MISS"
    assert public.json()["collectors"][0]["last_error"] == ERROR_HIDDEN
    api_client.force_authenticate(staff_user)
    staff = get(api_client, f"{API}/dashboard/summary")
    assert staff["X-Cache"] == "MISS"
    assert staff.json()["collectors"][0]["last_error"] == "upstream answered 503"
    assert get(api_client, f"{API}/dashboard/summary")["X-Cache"] == "HIT"
    api_client.force_authenticate(None)
    again = get(api_client, f"{API}/dashboard/summary")
    assert (again["X-Cache"], again.content) == ("HIT", public.content)


@pytest.mark.django_db
def test_an_answer_expires_after_the_ttl(api_client, settings):
    settings.API_READ_CACHE_TTL_S = 1
    WhaleFactory()
    assert get(api_client, f"{API}/events/recent")["X-Cache"] == "MISS"
    assert get(api_client, f"{API}/events/recent")["X-Cache"] == "HIT"
    time.sleep(2.1)
    assert get(api_client, f"{API}/events/recent")["X-Cache"] == "MISS"


# --- writes drop what they change --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_write_after_a_read_on_the_same_connection_drops_the_answer_before_commit(api_client):
    """Inside one transaction (a test, a shell) the connection's own reads see its writes: so must the cache."""
    whale = WhaleFactory()
    assert get(api_client, f"{API}/whales")["X-Cache"] == "MISS"
    assert get(api_client, f"{API}/events/recent").json()["items"] == []
    event = WhaleEventFactory(whale=whale, block_time=T0)
    events = get(api_client, f"{API}/events/recent")
    assert (events["X-Cache"], [item["id"] for item in events.json()["items"]]) == ("MISS", [event.id])
    second = WhaleFactory()
    listed = get(api_client, f"{API}/whales?sort_by=last_active")
    assert sorted(item["id"] for item in listed.json()["items"]) == [whale.id, second.id]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # see tests/browser/test_pages.py
def test_a_committed_transaction_bumps_its_scope_once_and_only_after_commit(api_client):
    assert get(api_client, f"{API}/whales").json()["total"] == 0
    before = read_cache_generation("whales")

    def work():
        with transaction.atomic():
            whale = WhaleFactory()
            for minute in range(3):
                TradeFactory(whale=whale, block_time=T0.replace(minute=minute))
            inside = read_cache_generation("whales")
        return inside, read_cache_generation("whales")

    assert in_thread(work) == (before, before + 1)
    answer = get(api_client, f"{API}/whales")
    assert (answer["X-Cache"], answer.json()["total"]) == ("MISS", 1)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # see tests/browser/test_pages.py
def test_a_rolled_back_transaction_bumps_nothing_and_a_rolled_back_savepoint_does_not_lose_the_bump():
    before = read_cache_generation("whales")

    def rolled_back():
        with pytest.raises(RuntimeError), transaction.atomic():
            WhaleFactory()
            raise RuntimeError
        return read_cache_generation("whales")

    assert in_thread(rolled_back) == before

    def savepoint_then_commit():
        with transaction.atomic():
            with pytest.raises(RuntimeError), transaction.atomic():  # a savepoint: its on_commit callbacks go
                WhaleFactory()
                raise RuntimeError
            WhaleFactory()
        return read_cache_generation("whales")

    assert in_thread(savepoint_then_commit) == before + 1
    assert Whale.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # see tests/browser/test_pages.py
def test_raw_sql_writes_bump_their_scope_and_reads_do_not():
    WhaleFactory(name="before")
    whales, collectors = read_cache_generation("whales"), read_cache_generation("collectors")

    def raw():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM whales_whale")
            cursor.execute("SELECT 1")
            after_reads = read_cache_generation("whales")
            cursor.execute("UPDATE whales_whale SET name = %s", ["after"])  # autocommit: committed now
        return after_reads, read_cache_generation("whales"), read_cache_generation("collectors")

    assert in_thread(raw) == (whales, whales + 1, collectors)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # see tests/browser/test_pages.py
def test_a_collector_run_bumps_the_collectors_scope_and_drops_the_summary(api_client):
    first = get(api_client, f"{API}/dashboard/summary")
    assert first.json()["collectors"][0]["last_status"] is None
    whales, collectors = read_cache_generation("whales"), read_cache_generation("collectors")
    assert get(api_client, f"{API}/dashboard/summary")["X-Cache"] == "HIT"

    def run():
        CollectorRun.objects.create(collector="test.collector", status=RunStatus.OK,
                                    started_at=datetime.now(UTC), duration_ms=12)
        return read_cache_generation("whales"), read_cache_generation("collectors")

    assert in_thread(run) == (whales, collectors + 1)
    answer = get(api_client, f"{API}/dashboard/summary")
    assert answer["X-Cache"] == "MISS"
    assert (answer.json()["collectors"][0]["last_status"], answer.json()["collectors"][0]["last_duration_ms"]) == (
        "ok", 12)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # see tests/browser/test_pages.py
def test_a_write_while_the_cache_is_unreachable_still_succeeds_and_is_logged(caplog):
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    with override_settings(CACHES={"default": {"BACKEND": "whaletrack.cache.RedisCache",
                                               "LOCATION": unreachable}}):
        def write():
            with transaction.atomic():
                WhaleFactory(name="kept")
            return Whale.objects.filter(name="kept").count()

        assert in_thread(write) == 1
    assert "whales.readcache.invalidate_failed" in [record.getMessage() for record in caplog.records]


@pytest.mark.django_db
def test_a_lost_generation_is_a_miss_never_a_stale_hit(api_client):
    """Eviction or a flush of the generation key restarts it from the clock: no entry stored before matches."""
    from django.core.cache import cache

    WhaleFactory()
    assert get(api_client, f"{API}/whales")["X-Cache"] == "MISS"
    assert get(api_client, f"{API}/whales")["X-Cache"] == "HIT"
    cache.delete("readcache:generation:whales")
    assert get(api_client, f"{API}/whales")["X-Cache"] == "MISS"
    assert get(api_client, f"{API}/whales")["X-Cache"] == "HIT"
