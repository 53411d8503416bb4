"""The watchlists page and "+ watch" in a real browser against a real server (``conftest.daphne_server``):
make a list, paste wallets, see them joined to their whales, add one from the whale list, and filter the whale
list by the list. Every figure checked is worked out here from the rows the test made."""

import re

import pytest

from tests.browser.helpers import sign_in
from tests.whales.factories import WhaleEventFactory, WhaleFactory
from whales.models.watchlists import Watchlist, WatchlistEntry

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
PASSWORD = "pw-watcher-1"
UNSTORED_BTC = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"


def setup(user_model) -> dict:
    user_model.objects.create_user(username="watcher", password=PASSWORD)
    whales = [WhaleFactory(name=f"Fund {n}") for n in range(3)]
    untracked = WhaleFactory(name="Dormant", is_tracked=False)
    events = [WhaleEventFactory(whale=w, summary=f"{w.name} moved") for w in whales]
    return {"whales": [(w.pk, w.chain, w.address, w.name) for w in whales],
            "untracked": (untracked.pk, untracked.chain, untracked.address, untracked.name),
            "events": [e.pk for e in events]}


def test_make_fill_and_filter_by_a_watchlist(browser, daphne_server, run, django_user_model):
    data = run(setup, django_user_model)
    (id0, chain0, address0, name0), _, (id2, _, address2, _) = data["whales"]
    untracked_id, _, untracked_address, untracked_name = data["untracked"]
    page = browser.new_page()
    sign_in(page, daphne_server, "/watchlists/", "watcher", PASSWORD)
    assert page.inner_text("#no-watchlists") == "No watchlists yet."

    page.fill("#watchlist-create input[name=name]", "desk")
    page.click("#watchlist-create button[type=submit]")
    page.wait_for_selector("section.watchlist")
    watchlist_id = run(lambda: Watchlist.objects.get(name="desk").pk)
    section = f"#watchlist-{watchlist_id}"
    page.fill(f"{section} textarea[name=addresses]",
              f"{chain0}:{address0.upper().replace('0X', '0x')}\nethereum:{untracked_address}\n{UNSTORED_BTC}\nnope")
    page.click(f"{section} form.paste button[type=submit]")
    page.wait_for_selector("#messages")
    assert page.inner_text("#messages li:first-child") == "3 added, 0 already on the list, 1 refused."
    rows = page.locator(f"{section} table.watchlist-wallets tbody tr")
    cells = [[c.strip() for c in rows.nth(n).locator("td").all_inner_texts()[:3]] for n in range(rows.count())]
    assert cells == [[address0, chain0, name0], [untracked_address, "ethereum", f"{untracked_name} untracked"],
                     [UNSTORED_BTC, "bitcoin", "not stored yet"]]

    # "+ watch" on a whale row of the whale list, back on the same page afterwards
    page.goto(f"{daphne_server}/whales/?sort_by=last_active")
    page.locator(f'tr[data-whale-id="{id2}"] form.watchlist-add button').click()
    page.wait_for_selector("#messages")
    assert page.url == f"{daphne_server}/whales/?sort_by=last_active"
    assert page.inner_text("#messages li") == "On watchlist 'desk'."
    assert run(lambda: sorted(WatchlistEntry.objects.values_list("address", flat=True))) == sorted(
        [address0, untracked_address, UNSTORED_BTC, address2])

    # the whale list filtered by the list: the stored whales on it, tracked or not
    page.select_option("#filter-watchlist", str(watchlist_id))
    page.click("#whale-filters button[type=submit]")
    page.wait_for_url(re.compile(rf".*watchlist={watchlist_id}.*"))
    listed = sorted(int(v) for v in page.locator("#whales tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.whaleId)"))
    assert listed == sorted([id0, id2, untracked_id])
    assert page.inner_text("#whale-count").startswith("1\u20133 of 3 whales")

    # the live feed filtered by the list: its reload shows the events of its wallets only (Fund 0 and Fund 2)
    page.goto(f"{daphne_server}/live/")
    page.select_option("#feed-watchlist", str(watchlist_id))
    page.click("#feed-filter-apply")
    page.wait_for_function("() => document.getElementById('feed-filter-note').textContent === "
                           "'Showing watchlist: desk.'", timeout=20_000)
    event0, _, event2 = data["events"]
    page.wait_for_function("() => document.querySelectorAll('#feed-rows tr[data-event-id]').length === 2",
                           timeout=20_000)
    shown = sorted(int(v) for v in page.locator("#feed-rows tr[data-event-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.eventId)"))
    assert shown == sorted([event0, event2])
