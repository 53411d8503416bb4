"""manage.py import_whales FILE: analysts' CSV/YAML whale lists (addresses taken from the real label sets)."""

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from whales.models import Entity, Label, Whale, WhaleLabel, WhaleType

pytestmark = pytest.mark.django_db

BINANCE_14_MIXED = "0x28C6c06298d514Db089934071355E5743bf21d60"  # etherscan "Binance 14", EIP-55 case
BINANCE_14 = BINANCE_14_MIXED.lower()
CRYPTOCOM_BTC = "bc1qr4dl5wa7kl8yu792dceg9z5knl2gkn220lk7a9"  # exchange-wallets-cryptocom.yaml
JUMP = "0xf584f8728b874a6a5c7a8d4d387c9aae9172d621"  # etherscan "Jump Trading"


def _run(path: Path) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_whales", str(path), stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def _state() -> list:
    return [list(Whale.objects.order_by("id").values_list()), list(Entity.objects.order_by("id").values_list()),
            list(Label.objects.order_by("id").values_list()), list(WhaleLabel.objects.order_by("id").values_list())]


def test_csv_import_creates_whales_entities_and_labels_with_provenance(tmp_path):
    path = tmp_path / "desk.csv"
    path.write_text(
        "chain,address,entity,labels,type,notes,name\n"
        f"ethereum,{BINANCE_14_MIXED},Binance,exchange;cex-hot|binance,holder,hot wallet,Binance 14\n"
        f"bitcoin,{CRYPTOCOM_BTC},Crypto.com,exchange,,,\n"
    )

    output = _run(path)

    whale = Whale.objects.select_related("entity").get(chain="ethereum", address=BINANCE_14)
    assert (whale.name, whale.entity.slug, whale.entity.name, whale.type, whale.type_is_manual, whale.notes) == (
        "Binance 14", "binance", "Binance", WhaleType.HOLDER, True, "hot wallet")
    assert sorted(WhaleLabel.objects.filter(whale=whale).values_list("label__slug", "source", "confidence")) == [
        ("binance", "analyst-import:desk.csv", "high"), ("cex-hot", "analyst-import:desk.csv", "high"),
        ("exchange", "analyst-import:desk.csv", "high")]
    btc = Whale.objects.get(chain="bitcoin", address=CRYPTOCOM_BTC)
    assert (btc.entity.slug, btc.type, btc.type_is_manual) == ("cryptocom", WhaleType.UNCLASSIFIED, False)
    assert "2 rows; whales 2 created, 0 updated, 0 unchanged; 0 bad rows skipped" in output


def test_yaml_import_uses_label_lists_and_reports_item_lines(tmp_path):
    path = tmp_path / "funds.yaml"
    path.write_text(
        "- chain: ethereum\n"
        f"  address: '{JUMP}'\n"
        "  entity: Jump Trading\n"
        "  labels: [market-maker, fund]\n"
        "  type: trader\n"
        "- chain: solana\n"
        f"  address: '{JUMP}'\n"
    )

    output = _run(path)

    whale = Whale.objects.get(chain="ethereum", address=JUMP)
    assert (whale.entity.name, whale.type, whale.type_is_manual) == ("Jump Trading", WhaleType.TRADER, True)
    assert sorted(whale.labels.values_list("slug", flat=True)) == ["fund", "market-maker"]
    assert "funds.yaml line 6: unknown chain 'solana'" in output
    assert Whale.objects.count() == 1


def test_bad_rows_are_reported_with_line_numbers_and_the_rest_imported(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text(
        "chain,address,entity,labels,type,notes\n"
        f"ethereum,{BINANCE_14},Binance,exchange,holder,\n"     # line 2: good
        f"dogecoin,{BINANCE_14},,,,\n"                           # line 3: unknown chain
        "ethereum,0x28c6c06298d514db0899,,,,\n"                  # line 4: bad address
        f"ethereum,{JUMP},,,whale,\n"                            # line 5: unknown type
        "bitcoin\n"                                              # line 6: missing column
        f"bitcoin,{CRYPTOCOM_BTC},,,,\n"                            # line 7: good
    )

    output = _run(path)

    assert set(Whale.objects.values_list("chain", "address")) == {("ethereum", BINANCE_14), ("bitcoin", CRYPTOCOM_BTC)}
    assert "mixed.csv line 3: unknown chain 'dogecoin'" in output
    assert "mixed.csv line 4: '0x28c6c06298d514db0899' is not an EVM address" in output
    assert "mixed.csv line 5: unknown type 'whale'" in output
    assert "mixed.csv line 6: missing column address" in output
    assert "6 rows; whales 2 created, 0 updated, 0 unchanged; 4 bad rows skipped" in output


def test_reimporting_the_same_file_changes_nothing(tmp_path):
    path = tmp_path / "desk.csv"
    path.write_text(f"chain,address,entity,labels,type\nethereum,{BINANCE_14},Binance,exchange;binance,holder\n")
    _run(path)
    first = _state()

    output = _run(path)

    assert _state() == first
    assert "whales 0 created, 0 updated, 1 unchanged" in output


def test_manual_type_is_kept_when_a_later_file_has_no_type(tmp_path):
    typed, untyped = tmp_path / "a.csv", tmp_path / "b.yaml"
    typed.write_text(f"chain,address,type\nethereum,{JUMP},trader\n")
    untyped.write_text(f"- chain: ethereum\n  address: '{JUMP}'\n  notes: market maker\n")

    _run(typed)
    _run(untyped)

    whale = Whale.objects.get(chain="ethereum", address=JUMP)
    assert (whale.type, whale.type_is_manual, whale.notes) == (WhaleType.TRADER, True, "market maker")


def test_labels_dropped_from_the_file_are_removed_only_for_that_source(tmp_path):
    path = tmp_path / "desk.csv"
    path.write_text(f"chain,address,labels\nethereum,{JUMP},fund;otc\n")
    _run(path)
    other = WhaleLabel.objects.create(whale=Whale.objects.get(), label=Label.objects.get(slug="otc"), source="analyst")
    path.write_text(f"chain,address,labels\nethereum,{JUMP},fund\n")

    _run(path)

    assert sorted(WhaleLabel.objects.values_list("label__slug", "source")) == [
        ("fund", "analyst-import:desk.csv"), ("otc", "analyst")]
    assert WhaleLabel.objects.filter(pk=other.pk).exists()


@pytest.mark.parametrize("name, content", [("missing.csv", None), ("list.txt", "chain,address\n"),
                                           ("scalar.yaml", "just text\n"), ("binary.csv", b"\xff\xfe\x00bad")])
def test_an_unreadable_file_fails_the_command_and_writes_nothing(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)

    with pytest.raises(CommandError):
        _run(path)
    assert Whale.objects.count() == 0
