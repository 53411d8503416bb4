"""Label conflicts of ``import_labels`` over the real label sets in REPLAY_DATA_DIR (read in place).

The expected name conflicts are computed here from the raw JSON/YAML (names and the documented precedence:
the Etherscan name tag, else the first source in priority order), independently of ``whales.labelsets``. The
real sets hold name and category conflicts but no entity conflict: the entity case is a variant derived in the
test (one TagPack of our own naming another owner for a real Etherscan address), and says so.
"""

import io
import json
from pathlib import Path

import pytest
import yaml
from django.contrib.admin.sites import site
from django.core.management import call_command

from whales.chains import normalize_address
from whales.models import LabelConflict

pytestmark = pytest.mark.django_db

CHAINS = {"ETH": "ethereum", "BTC": "bitcoin"}
BINANCE_14 = "0x28c6c06298d514db089934071355e5743bf21d60"


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("import_labels", *args, stdout=out, stderr=out)
    return out.getvalue()


def _valid(chain: str, address: str) -> str | None:
    try:
        return normalize_address(chain, address)
    except ValueError:
        return None


def _expected_name_conflicts(data_dir: Path) -> dict[tuple[str, str], tuple[str, str, list[tuple[str, str]]]]:
    """{(chain, address): (winner source, winner name, [(source, name) in the merge's reading order])} from the
    raw files: sources in priority order (exchange-wallets-* packs, Etherscan, other packs; packs by name, tags in
    file order), the Etherscan name read first."""
    records: list[tuple[int, str, str, str, str]] = []  # (priority, source, chain, address, name)
    etherscan_path = data_dir / "labels-etherscan-brianleect" / "etherscan_combinedAccountLabels.json"
    for key, value in json.loads(etherscan_path.read_text()).items():
        address = _valid("ethereum", key)
        if address and isinstance(value, dict) and isinstance(value.get("labels"), list):
            records.append((1, "etherscan-labelcloud", "ethereum", address, str(value.get("name") or "").strip()))
    folder = data_dir / "labels-graphsense-tagpacks"
    actors = {str(a["id"]): str(a.get("label") or a["id"])
              for a in yaml.safe_load((folder / "graphsense.actorpack.yaml").read_text())["actors"]}
    for path in sorted(folder.glob("*.yaml")):
        if path.name == "graphsense.actorpack.yaml":
            continue
        pack = yaml.safe_load(path.read_text())
        header = {k: v for k, v in pack.items() if k != "tags"}
        priority = 0 if path.stem.startswith("exchange-wallets-") else 2
        for raw in pack["tags"]:
            tag = {**header, **raw}
            chain = CHAINS.get(str(tag.get("currency") or "").upper())
            address = chain and tag.get("address") and _valid(chain, str(tag["address"]))
            if not address:
                continue
            actor = str(tag.get("actor") or "")
            name = (str(tag.get("label") or "").strip() or (actors.get(actor, actor) if actor else "")
                    or str(header.get("title") or path.stem))
            records.append((priority, f"graphsense:{path.stem}", chain, address, name[:200]))
    records.sort(key=lambda r: (r[0], r[1]))  # stable: file order kept within a source
    grouped: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for _, source, chain, address, name in records:
        grouped.setdefault((chain, address), []).append((source, name))
    expected = {}
    for key, values in grouped.items():
        named = [v for v in values if v[0] == "etherscan-labelcloud" and v[1]]
        named += [v for v in values if v[0] != "etherscan-labelcloud" and v[1]]
        if len({name for _, name in named}) > 1:
            expected[key] = (named[0][0], named[0][1], named)
    return expected


def test_real_label_sets_name_conflicts_are_stored_and_printed(replay_data_dir):
    expected = _expected_name_conflicts(replay_data_dir)
    assert len(expected) > 100  # the real sets disagree on many names

    output = _run("--conflicts-shown", "3")

    stored = {(c.chain, c.address): (c.winner_source, c.winner_value, [(v["source"], v["value"]) for v in c.values])
              for c in LabelConflict.objects.filter(field="name")}
    assert stored == expected
    total = LabelConflict.objects.count()
    categories = LabelConflict.objects.filter(field="category").count()
    assert LabelConflict.objects.filter(field="entity").count() == 0  # none in the real sets (see the variant)
    assert f"label conflicts: {total} (name {len(expected)}, category {categories}, entity 0)" in output
    first = LabelConflict.objects.order_by("chain", "address", "field").first()
    others = "; ".join(f"{v['source']}={v['value']!r}" for v in first.values
                       if (v["source"], v["value"]) != (first.winner_source, first.winner_value))
    assert (f"  {first.chain} {first.address} {first.field}: kept {first.winner_value!r} from "
            f"{first.winner_source} over {others}\n") in output
    assert f"  ... {total - 3} more (admin: Label conflicts)" in output
    assert "  rule for name: the Etherscan name tag wins" in output


def test_a_second_run_keeps_the_conflicts_and_their_first_sighting(replay_data_dir):
    _run("--conflicts-shown", "0")
    first = {(c.chain, c.address, c.field): (c.first_seen_at, c.values, c.winner_value)
             for c in LabelConflict.objects.all()}
    _run("--conflicts-shown", "0")
    again = {(c.chain, c.address, c.field): (c.first_seen_at, c.values, c.winner_value)
             for c in LabelConflict.objects.all()}
    assert again == first
    assert LabelConflict.objects.filter(last_seen_at__gt=LabelConflict.objects.order_by("first_seen_at")
                                        .values_list("first_seen_at", flat=True)[0]).count() == len(first)


def test_entity_conflict_variant_and_stale_conflicts_are_dropped(replay_data_dir, tmp_path):
    """Variant (the real sets have no entity conflict): the real Etherscan file and actor pack, symlinked, plus one
    TagPack of our own that says Binance 14 belongs to OKX."""
    _run("--conflicts-shown", "0")
    real_count = LabelConflict.objects.count()
    (tmp_path / "labels-etherscan-brianleect").mkdir()
    (tmp_path / "labels-etherscan-brianleect" / "etherscan_combinedAccountLabels.json").symlink_to(
        replay_data_dir / "labels-etherscan-brianleect" / "etherscan_combinedAccountLabels.json")
    gs = tmp_path / "labels-graphsense-tagpacks"
    gs.mkdir()
    (gs / "graphsense.actorpack.yaml").symlink_to(
        replay_data_dir / "labels-graphsense-tagpacks" / "graphsense.actorpack.yaml")
    (gs / "variant.yaml").write_text(
        "title: variant\ncurrency: ETH\ncategory: exchange\nactor: okex\nconfidence: heuristic\n"
        f"tags:\n- address: '{BINANCE_14}'\n  label: OKX cold wallet\n")

    output = _run("--data-dir", str(tmp_path), "--conflicts-shown", "0")

    conflicts = {c.field: c for c in LabelConflict.objects.filter(address=BINANCE_14)}
    assert set(conflicts) == {"name", "entity"}
    entity = conflicts["entity"]
    assert (entity.winner_source, entity.winner_value, entity.values) == (
        "etherscan-labelcloud", "binance",
        [{"source": "etherscan-labelcloud", "value": "binance"}, {"source": "graphsense:variant", "value": "okex"}])
    assert entity.rule.startswith("the first source in priority order")
    assert (conflicts["name"].winner_source, conflicts["name"].winner_value) == ("etherscan-labelcloud", "Binance 14")
    # the packs left out of this run no longer disagree with anything: their conflicts are gone
    assert LabelConflict.objects.count() == 2 < real_count
    assert "label conflicts: 2 (name 1, category 0, entity 1)" in output


def test_conflicts_are_listed_in_the_admin(replay_data_dir, admin_client):
    _run("--conflicts-shown", "0")
    assert LabelConflict in site._registry
    conflict = LabelConflict.objects.filter(field="name").order_by("address").first()
    page = admin_client.get(f"/admin/whales/labelconflict/?q={conflict.address}")
    assert page.status_code == 200
    text = page.content.decode()
    assert conflict.address in text and conflict.winner_source in text
    detail = admin_client.get(f"/admin/whales/labelconflict/{conflict.pk}/change/")
    assert detail.status_code == 200
    assert conflict.rule.split(" (")[0] in detail.content.decode()
