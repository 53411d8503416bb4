"""manage.py export_whales FILE: the import format written back, so import_whales ∘ export_whales is the identity
(addresses from the real label sets, as tests/whales/test_import_whales.py uses them)."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.whales.factories import LabelFactory, WhaleFactory, WhaleLabelFactory
from whales.models import Entity, Label, Whale, WhaleLabel, WhaleType

pytestmark = pytest.mark.django_db

BINANCE_14 = "0x28c6c06298d514db089934071355e5743bf21d60"  # etherscan "Binance 14"
CRYPTOCOM_BTC = "bc1qr4dl5wa7kl8yu792dceg9z5knl2gkn220lk7a9"  # exchange-wallets-cryptocom.yaml
JUMP = "0xf584f8728b874a6a5c7a8d4d387c9aae9172d621"  # etherscan "Jump Trading"

DESK = (
    "chain,address,entity,labels,type,notes,name\n"
    f"ethereum,{BINANCE_14.upper().replace('0X', '0x')},Binance,Exchange;cex-hot|Binance,holder,\"hot wallet, "
    "seen 2024\nsecond line\",Binance 14\n"
    f"bitcoin,{CRYPTOCOM_BTC},Crypto.com,exchange,,,\n"
    f"ethereum,{JUMP},Jump Trading,Market Maker;=SUM(A1),trader,,=1+2\n"
)


def _call(name: str, *args: str) -> str:
    out = io.StringIO()
    call_command(name, *args, stdout=out, stderr=out)
    return out.getvalue()


def _strict_state() -> list:
    """Every stored field of whales, entities, labels and label links but ids and clocks, by natural key."""
    whales = sorted(Whale.objects.values_list("chain", "address", "name", "entity__slug", "entity__name", "type",
                                              "type_is_manual", "notes", "is_tracked"))
    entities = sorted(Entity.objects.values_list("slug", "name", "kind", "website", "source"))
    labels = sorted(Label.objects.values_list("slug", "name", "description"))
    links = sorted(WhaleLabel.objects.values_list("whale__chain", "whale__address", "label__slug", "source",
                                                  "evidence_url", "confidence", "added_by"))
    return [whales, entities, labels, links]


def _fresh_db() -> None:
    WhaleLabel.objects.all().delete()
    Whale.objects.all().delete()
    Label.objects.all().delete()
    Entity.objects.all().delete()


def test_an_analysts_list_round_trips_byte_for_byte_and_row_for_row(tmp_path):
    desk = tmp_path / "in" / "desk.csv"
    desk.parent.mkdir()
    desk.write_text(DESK)
    _call("import_whales", str(desk))
    before = _strict_state()
    first = tmp_path / "a" / "desk.csv"
    first.parent.mkdir()
    assert _call("export_whales", str(first)) == "desk.csv: 3 whales written\n"
    assert first.read_text() == (
        "chain,address,entity,labels,type,notes,name\n"
        f"bitcoin,{CRYPTOCOM_BTC},Crypto.com,Exchange,,,\n"
        f"ethereum,{BINANCE_14},Binance,Binance;cex-hot;Exchange,holder,\"hot wallet, seen 2024\nsecond line\","
        "Binance 14\n"
        f"ethereum,{JUMP},Jump Trading,Market Maker;=SUM(A1),trader,,=1+2\n"
    )

    _fresh_db()
    assert "3 rows; whales 3 created" in _call("import_whales", str(first))
    assert _strict_state() == before
    second = tmp_path / "b" / "desk.csv"
    second.parent.mkdir()
    _call("export_whales", str(second))
    assert second.read_bytes() == first.read_bytes()


def test_yaml_export_round_trips_too(tmp_path):
    desk = tmp_path / "desk.csv"
    desk.write_text(DESK)
    _call("import_whales", str(desk))
    exported = tmp_path / "desk.yaml"
    _call("export_whales", str(exported))
    whales = _strict_state()[0]
    _fresh_db()
    _call("import_whales", str(exported))
    assert _strict_state()[0] == whales
    again = tmp_path / "again.yaml"
    _call("export_whales", str(again))
    assert again.read_bytes() == exported.read_bytes()


def test_export_of_mixed_sources_keeps_what_the_format_carries(tmp_path):
    """Labels from other sources come back with the import's provenance; a classifier's type is not written
    (the importer would make it manual), so it comes back unclassified."""
    whale = WhaleFactory(address=BINANCE_14, name="Binance 14", type=WhaleType.TRADER, type_is_manual=False)
    WhaleLabelFactory(whale=whale, label=LabelFactory(slug="exchange", name="Exchange"), source="etherscan-labelcloud")
    WhaleLabelFactory(whale=whale, label=LabelFactory(slug="cex_hot", name="CEX hot"), source="graphsense:x")
    path = tmp_path / "all.csv"
    _call("export_whales", str(path))
    assert path.read_text().splitlines()[1] == f"ethereum,{BINANCE_14},,cex_hot;Exchange,,,Binance 14"
    _fresh_db()
    _call("import_whales", str(path))
    restored = Whale.objects.get()
    assert (restored.name, restored.type, restored.type_is_manual) == ("Binance 14", WhaleType.UNCLASSIFIED, False)
    assert sorted(WhaleLabel.objects.values_list("label__slug", "label__name", "source")) == [
        ("cex_hot", "cex_hot", "analyst-import:all.csv"), ("exchange", "Exchange", "analyst-import:all.csv")]


def test_label_source_option_exports_only_that_sources_labels_and_whales(tmp_path):
    desk = tmp_path / "desk.csv"
    desk.write_text(DESK)
    _call("import_whales", str(desk))
    other = WhaleFactory(address="0x" + "ab" * 20)
    WhaleLabelFactory(whale=other, label=LabelFactory(slug="fund"), source="etherscan-labelcloud")
    WhaleLabelFactory(whale=Whale.objects.get(address=JUMP), label=Label.objects.get(slug="fund"),
                      source="etherscan-labelcloud")
    path = tmp_path / "only.csv"
    assert _call("export_whales", str(path), "--label-source", "analyst-import:desk.csv") == (
        "only.csv: 3 whales written\n")
    import csv

    rows = list(csv.DictReader(io.StringIO(path.read_text(), newline="")))
    assert [(row["address"], row["labels"]) for row in rows] == [
        (CRYPTOCOM_BTC, "Exchange"), (BINANCE_14, "Binance;cex-hot;Exchange"), (JUMP, "Market Maker;=SUM(A1)")]
    assert "fund" not in path.read_text()


def test_unknown_extension_is_a_command_error(tmp_path):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match=r"unknown file type '\.txt'"):
        _call("export_whales", str(Path(tmp_path) / "x.txt"))


def test_admin_action_downloads_the_same_file_as_the_command(tmp_path, admin_client):
    desk = tmp_path / "desk.csv"
    desk.write_text(DESK)
    _call("import_whales", str(desk))
    WhaleFactory(address="0x" + "ab" * 20, name="not selected")
    exported = tmp_path / "selected.csv"
    _call("export_whales", str(exported), "--label-source", "analyst-import:desk.csv")

    selected = list(Whale.objects.exclude(name="not selected").values_list("pk", flat=True))
    response = admin_client.post("/admin/whales/whale/", {"action": "export_whale_file",
                                                          "_selected_action": selected})

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="whales.csv"'
    assert response.content == exported.read_bytes()
