"""The label trail: removing a label (service, admin inline, admin label delete, a re-import) leaves a LabelRemoval
that the admin and the staff wallet page show, and restoring puts the label back exactly."""

import io
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.whales.factories import LabelFactory, WhaleFactory, WhaleLabelFactory
from whales.errors import Conflict, InvalidParameter, NotFound
from whales.label_trail import label_remove, label_remove_by_key, label_restore
from whales.models import Label, LabelRemoval, WhaleLabel

pytestmark = pytest.mark.django_db

BINANCE_14 = "0x28c6c06298d514db089934071355e5743bf21d60"
ADDED_AT = datetime(2025, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture
def labelled(django_user_model):
    """Binance 14 with an ``exchange`` label from Etherscan added by analyst ``curator``."""
    curator = django_user_model.objects.create_user(username="curator")
    whale = WhaleFactory(address=BINANCE_14, name="Binance 14")
    link = WhaleLabelFactory(whale=whale, label=LabelFactory(slug="exchange", name="Exchange"),
                             source="etherscan-labelcloud", evidence_url="https://etherscan.io/accounts/label/binance",
                             confidence="medium", added_by=curator, added_at=ADDED_AT)
    return whale, link, curator


def _provenance(link: WhaleLabel) -> tuple:
    return (link.whale_id, link.label_id, link.source, link.evidence_url, link.confidence, link.added_by_id,
            link.added_at)


def test_remove_keeps_who_when_why_and_the_provenance(labelled, staff_user):
    _, link, _ = labelled
    before = _provenance(link)

    removal = label_remove(whale_label_id=link.pk, removed_by=staff_user, reason="  Wrong entity: this is OKX  ")

    assert not WhaleLabel.objects.exists()
    removal.refresh_from_db()
    assert (removal.whale_id, removal.label_id, removal.source, removal.evidence_url, removal.confidence,
            removal.added_by_id, removal.added_at) == before
    assert (removal.label_slug, removal.removed_by_id, removal.reason, removal.restored_at) == (
        "exchange", staff_user.pk, "Wrong entity: this is OKX", None)


def test_remove_without_a_reason_changes_nothing(labelled, staff_user):
    _, link, _ = labelled
    with pytest.raises(InvalidParameter, match="why"):
        label_remove(whale_label_id=link.pk, removed_by=staff_user, reason="  ")
    assert WhaleLabel.objects.count() == 1 and LabelRemoval.objects.count() == 0
    with pytest.raises(NotFound):
        label_remove(whale_label_id=link.pk + 1000, removed_by=staff_user, reason="x")


def test_remove_by_key_is_idempotent(labelled, staff_user):
    whale, _, _ = labelled
    first = label_remove_by_key(whale_id=whale.pk, label_slug="exchange", source="etherscan-labelcloud",
                                removed_by=staff_user, reason="wrong")
    second = label_remove_by_key(whale_id=whale.pk, label_slug="exchange", source="etherscan-labelcloud",
                                 removed_by=staff_user, reason="wrong again")
    assert second.pk == first.pk
    assert list(LabelRemoval.objects.values_list("reason", flat=True)) == ["wrong"]


def test_restore_recreates_the_label_exactly_and_is_idempotent(labelled, staff_user, admin_user):
    _, link, _ = labelled
    before = _provenance(link)
    removal = label_remove(whale_label_id=link.pk, removed_by=staff_user, reason="wrong")

    restored = label_restore(removal_id=removal.pk, restored_by=admin_user)

    assert _provenance(WhaleLabel.objects.get()) == before == _provenance(restored)
    removal.refresh_from_db()
    assert removal.restored_by_id == admin_user.pk and removal.restored_at is not None
    restored_at = removal.restored_at
    again = label_restore(removal_id=removal.pk, restored_by=staff_user)
    removal.refresh_from_db()
    assert again.pk == restored.pk and WhaleLabel.objects.count() == 1
    assert (removal.restored_at, removal.restored_by_id) == (restored_at, admin_user.pk)
    # removed again after the restore: a second trail row, the first one stays restored
    label_remove_by_key(whale_id=restored.whale_id, label_slug="exchange", source="etherscan-labelcloud",
                        removed_by=staff_user, reason="wrong after all")
    assert list(LabelRemoval.objects.order_by("id").values_list("reason", "restored_at")) == [
        ("wrong", restored_at), ("wrong after all", None)]


def test_restore_of_a_deleted_label_is_a_conflict(labelled, staff_user):
    _, link, _ = labelled
    removal = label_remove(whale_label_id=link.pk, removed_by=staff_user, reason="wrong")
    Label.objects.all().delete()
    with pytest.raises(Conflict, match="no longer exists"):
        label_restore(removal_id=removal.pk, restored_by=staff_user)
    removal.refresh_from_db()
    assert (removal.label_id, removal.label_slug, removal.restored_at) == (None, "exchange", None)
    assert not WhaleLabel.objects.exists()


def _change_form(whale, link, **overrides) -> dict:
    data = {
        "chain": "ethereum", "address": BINANCE_14, "name": "Binance 14", "entity": "", "type": "unclassified",
        "is_tracked": "on", "notes": "",
        "whale_labels-TOTAL_FORMS": "1", "whale_labels-INITIAL_FORMS": "1",
        "whale_labels-MIN_NUM_FORMS": "0", "whale_labels-MAX_NUM_FORMS": "1000",
        "whale_labels-0-id": str(link.pk), "whale_labels-0-whale": str(whale.pk),
        "whale_labels-0-label": str(link.label_id), "whale_labels-0-source": link.source,
        "whale_labels-0-evidence_url": link.evidence_url, "whale_labels-0-confidence": link.confidence,
        "whale_labels-0-DELETE": "on",
    }
    data.update(overrides)
    return data


def test_admin_inline_delete_asks_why_and_leaves_the_trail(labelled, admin_client, admin_user):
    whale, link, _ = labelled
    url = reverse("admin:whales_whale_change", args=[whale.pk])

    refused = admin_client.post(url, _change_form(whale, link))
    assert refused.status_code == 200
    assert "Say why the label is removed (exchange: removal reason)." in refused.content.decode()
    assert WhaleLabel.objects.count() == 1 and not LabelRemoval.objects.exists()

    done = admin_client.post(url, _change_form(whale, link, **{"whale_labels-0-removal_reason": "Not Binance"}))
    assert done.status_code == 302
    assert not WhaleLabel.objects.exists()
    assert list(LabelRemoval.objects.values_list("label_slug", "source", "removed_by", "reason")) == [
        ("exchange", "etherscan-labelcloud", admin_user.pk, "Not Binance")]


def test_admin_restore_action_and_label_delete(labelled, admin_client, admin_user, staff_user):
    _, link, _ = labelled
    before = _provenance(link)
    removal = label_remove(whale_label_id=link.pk, removed_by=staff_user, reason="wrong")
    changelist = reverse("admin:whales_labelremoval_changelist")
    page = admin_client.get(changelist).content.decode()
    assert "wrong" in page and "etherscan-labelcloud" in page

    response = admin_client.post(changelist, {"action": "restore", "_selected_action": [removal.pk]})
    assert response.status_code == 302
    assert _provenance(WhaleLabel.objects.get()) == before
    assert LabelRemoval.objects.get().restored_by_id == admin_user.pk

    label = Label.objects.get(slug="exchange")
    response = admin_client.post(reverse("admin:whales_label_delete", args=[label.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert list(LabelRemoval.objects.order_by("id").values_list("label_slug", "reason", "label")) == [
        ("exchange", "wrong", None), ("exchange", "label exchange deleted in the admin", None)]


def test_a_reimport_that_drops_a_label_leaves_the_trail(tmp_path):
    path = tmp_path / "desk.csv"
    path.write_text(f"chain,address,labels\nethereum,{BINANCE_14},exchange;hot\n")
    call_command("import_whales", str(path), stdout=io.StringIO())
    path.write_text(f"chain,address,labels\nethereum,{BINANCE_14},exchange\n")
    call_command("import_whales", str(path), stdout=io.StringIO())
    assert list(WhaleLabel.objects.values_list("label__slug", flat=True)) == ["exchange"]
    assert list(LabelRemoval.objects.values_list("label_slug", "source", "removed_by", "reason")) == [
        ("hot", "analyst-import:desk.csv", None, "no longer listed by analyst-import:desk.csv")]


def test_wallet_page_shows_the_trail_to_staff_only(labelled, client, django_user_model, staff_user):
    whale, link, _ = labelled
    label_remove(whale_label_id=link.pk, removed_by=staff_user, reason="Belongs to OKX, see tx 0xabc")
    url = reverse("wallet", args=[whale.chain, whale.address])

    client.force_login(staff_user)
    page = client.get(url).content.decode()
    assert "Removed labels" in page and "Belongs to OKX, see tx 0xabc" in page
    assert '<td>exchange</td><td>etherscan-labelcloud</td>' in page
    assert "curator 2025-03-01 09:30" in page and "<td>staff</td>" in page

    client.force_login(django_user_model.objects.create_user(username="viewer"))
    page = client.get(url).content.decode()
    assert client.get(url).status_code == 200
    assert "Removed labels" not in page and "Belongs to OKX" not in page
    client.logout()
    anonymous = client.get(url)
    assert "Belongs to OKX" not in anonymous.content.decode()
