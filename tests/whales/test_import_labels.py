"""manage.py import_labels over the real label sets in REPLAY_DATA_DIR (read in place).

Expected values are computed in each test from the raw JSON/YAML, not copied from the importer.
"""

import io
import json
import re
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from whales.chains import normalize_address
from whales.labelsets import ETHERSCAN_EXCHANGE_ACTORS, actors_load
from whales.models import AddressCategory, Entity, KnownAddress, Label, Whale, WhaleLabel

pytestmark = pytest.mark.django_db

BINANCE_14 = "0x28c6c06298d514db089934071355e5743bf21d60"
CHAINS = {"ETH": "ethereum", "BTC": "bitcoin"}


def _etherscan(data_dir: Path) -> dict:
    path = data_dir / "labels-etherscan-brianleect" / "etherscan_combinedAccountLabels.json"
    return json.loads(path.read_text())


def _tagpacks(data_dir: Path) -> dict[str, dict]:
    folder = data_dir / "labels-graphsense-tagpacks"
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted(folder.glob("*.yaml"))
            if p.name != "graphsense.actorpack.yaml"}


def _tags(pack: dict, currency: str) -> list[dict]:
    header = {k: v for k, v in pack.items() if k != "tags"}
    return [{**header, **tag} for tag in pack["tags"] if {**header, **tag}.get("currency") == currency]


def _valid(chain: str, address: str) -> str | None:
    try:
        return normalize_address(chain, address)
    except ValueError:
        return None


def _run(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_labels", *args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def _db_state() -> dict[str, list]:
    return {
        "entity": list(Entity.objects.order_by("slug").values_list()),
        "known": list(KnownAddress.objects.order_by("chain", "address").values_list()),
        "label": list(Label.objects.order_by("slug").values_list()),
        "whale": list(Whale.objects.order_by("chain", "address").values_list()),
        "whale_label": list(WhaleLabel.objects.order_by("whale_id", "label_id", "source").values_list()),
    }


def test_every_etherscan_exchange_slug_maps_to_an_existing_graphsense_actor(replay_data_dir):
    actors = actors_load(replay_data_dir / "labels-graphsense-tagpacks" / "graphsense.actorpack.yaml")
    assert sorted(a for a in ETHERSCAN_EXCHANGE_ACTORS.values() if a not in actors) == []
    assert ETHERSCAN_EXCHANGE_ACTORS["okx"] == "okex" and actors["okex"].name == "OKX"
    assert ETHERSCAN_EXCHANGE_ACTORS["crypto-com"] == "cryptocom"


def test_import_labels_stores_every_eth_and_btc_address_once_with_priorities(replay_data_dir):
    etherscan, packs = _etherscan(replay_data_dir), _tagpacks(replay_data_dir)
    expected = {("ethereum", key.lower()) for key in etherscan}
    for pack in packs.values():
        for currency, chain in CHAINS.items():
            expected |= {(chain, a) for tag in _tags(pack, currency) if (a := _valid(chain, str(tag["address"])))}
    binance_eth = {tag["address"].lower() for tag in _tags(packs["exchange-wallets-binance.yaml"], "ETH")}

    output = _run()

    assert set(KnownAddress.objects.values_list("chain", "address")) == expected
    assert KnownAddress.objects.count() == len(expected)
    assert set(KnownAddress.objects.filter(chain="ethereum", source="graphsense:exchange-wallets-binance")
               .values_list("address", flat=True)) == binance_eth
    assert len(binance_eth) == 11  # the pack's 32 ETH tags name 11 distinct addresses (one tag per token)
    row = KnownAddress.objects.select_related("entity").get(chain="ethereum", address=BINANCE_14)
    assert (row.name, row.category, row.entity.slug, row.entity.name) == (
        etherscan[BINANCE_14]["name"], AddressCategory.EXCHANGE, "binance", "Binance")
    assert row.name == "Binance 14"
    assert row.source == "graphsense:exchange-wallets-binance"
    assert row.tags == ["actor:binance", "binance", "category:exchange", "source:etherscan-labelcloud",
                        "source:graphsense:etherscan-wordcloud-exchange",
                        "source:graphsense:exchange-wallets-binance"]
    # one exchange, one Entity: Etherscan's 'okx' label joins the GraphSense actor 'okex'
    okx_10 = next(k for k, v in etherscan.items() if v["name"] == "OKX 10")
    assert KnownAddress.objects.get(chain="ethereum", address=okx_10).entity.slug == "okex"
    assert not Entity.objects.filter(slug__in=["okx", "crypto-com"]).exists()
    # the one invalid address in the real data: a TRON address filed under BTC in ofac.yaml
    ofac_lines = (replay_data_dir / "labels-graphsense-tagpacks" / "ofac.yaml").read_text().splitlines()
    bad_line = next(i for i, line in enumerate(ofac_lines, 1) if "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq" in line)
    assert f"ofac.yaml line {bad_line}: 'TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq' is not a Bitcoin address" in output
    assert f"known addresses: {len(expected)} created" in output
    assert "exchange-wallets-binance.yaml: 86 rows read, 36 kept, 50 skipped (other currencies), 0 bad" in output


def test_import_labels_twice_leaves_the_database_identical(replay_data_dir):
    _run("--track-default-whales")
    first = _db_state()

    output = _run("--track-default-whales")

    assert _db_state() == first
    assert "entities: 0 created; known addresses: 0 created, 0 updated" in output
    assert "whales: 0 created, 0 updated; labels: 0 created; whale labels: 0 created" in output


def _default_whales_by_rule(etherscan: dict, packs: dict[str, dict]) -> set[tuple[str, str]]:
    """The documented rule, re-derived from the raw files."""
    expected: set[tuple[str, str]] = set()
    for name, pack in packs.items():
        if name.startswith("exchange-wallets-"):
            for currency, chain in CHAINS.items():
                expected |= {(chain, normalize_address(chain, str(t["address"]))) for t in _tags(pack, currency)}
    expected |= {("bitcoin", str(t["address"])) for t in packs["richest_addresses.yaml"]["tags"]}
    majors = {"binance", "coinbase", "kraken", "okx", "bitfinex", "huobi", "kucoin", "crypto-com", "gemini",
              "bitstamp", "gate-io", "bithumb", "upbit", "deribit", "ftx", "bittrex", "poloniex"}
    market_makers = {"alameda research", "jump trading", "wintermute", "cumberland", "amber group",
                     "auros global", "falconx", "genesis trading", "gsr", "b2c2", "dwf labs"}
    numbered = re.compile(r"^([^:]+?) \d+$")
    bases = {(slug, m.group(1)) for v in etherscan.values() if (m := numbered.match(v["name"]))
             for slug in set(v["labels"]) & majors}
    for address, value in etherscan.items():
        name, labels = value["name"], set(value["labels"])
        owner = name.split(":", 1)[0].strip()
        owner = m.group(1) if (m := numbered.match(owner)) else owner
        exchange = any(numbered.match(name) or (slug, name) in bases for slug in labels & majors)
        # a market-maker owner counts unless a stronger category (token, exchange, ...) claims the address
        market_maker = owner.lower() in market_makers and not labels & set(ETHERSCAN_EXCHANGE_ACTORS)
        if exchange or "fund" in labels or market_maker:
            expected.add(("ethereum", address))
    return expected


def test_track_default_whales_creates_exactly_the_documented_list(replay_data_dir):
    expected = _default_whales_by_rule(_etherscan(replay_data_dir), _tagpacks(replay_data_dir))
    binance_pack = _tagpacks(replay_data_dir)["exchange-wallets-binance.yaml"]

    output = _run("--track-default-whales")

    assert set(Whale.objects.values_list("chain", "address")) == expected
    per_chain = {c: sum(1 for chain, _ in expected if chain == c) for c in ("bitcoin", "ethereum")}
    assert f"default whales: bitcoin {per_chain['bitcoin']}, ethereum {per_chain['ethereum']}" in output
    whale = Whale.objects.select_related("entity").get(chain="ethereum", address=BINANCE_14)
    assert (whale.name, whale.entity.slug, whale.type, whale.is_tracked) == ("Binance 14", "binance",
                                                                              "unclassified", True)
    provenance = set(WhaleLabel.objects.filter(whale=whale).values_list(
        "label__slug", "source", "evidence_url", "confidence", "added_by"))
    assert provenance == {
        ("exchange", "graphsense:exchange-wallets-binance", binance_pack["source"], "high", None),
        ("binance", "graphsense:exchange-wallets-binance", binance_pack["source"], "high", None),
        ("exchange", "etherscan-labelcloud", "https://etherscan.io/accounts/label/binance", "medium", None),
        ("binance", "etherscan-labelcloud", "https://etherscan.io/accounts/label/binance", "medium", None),
    }


def _derived_data_dir(real: Path, tmp_path: Path) -> tuple[Path, str, str]:
    """A data dir in tmp_path: the real actorpack (symlinked, not copied), the real OKX pack with one ETH
    address corrupted (a 'g' is not hex), and the first 50 Etherscan entries with one key corrupted."""
    gs = tmp_path / "labels-graphsense-tagpacks"
    gs.mkdir()
    (gs / "graphsense.actorpack.yaml").symlink_to(real / "labels-graphsense-tagpacks" / "graphsense.actorpack.yaml")
    okx_text = (real / "labels-graphsense-tagpacks" / "exchange-wallets-okx.yaml").read_text()
    okx_eth = [str(t["address"]) for t in _tags(yaml.safe_load(okx_text), "ETH")]
    broken_okx = okx_eth[0][:-1] + "g"
    (gs / "exchange-wallets-okx.yaml").write_text(okx_text.replace(okx_eth[0], broken_okx))
    es = tmp_path / "labels-etherscan-brianleect"
    es.mkdir()
    entries = list(_etherscan(real).items())[:50]
    broken_key = "0xnot-an-address"
    entries[3] = (broken_key, entries[3][1])
    (es / "etherscan_combinedAccountLabels.json").write_text(json.dumps(dict(entries)))
    return tmp_path, broken_okx, broken_key


def test_bad_rows_are_reported_with_file_and_line_and_the_rest_is_imported(replay_data_dir, tmp_path):
    data_dir, broken_okx, broken_key = _derived_data_dir(replay_data_dir, tmp_path)
    okx_lines = (data_dir / "labels-graphsense-tagpacks" / "exchange-wallets-okx.yaml").read_text().splitlines()
    line = next(i for i, text in enumerate(okx_lines, 1) if broken_okx in text)
    okx_pack = yaml.safe_load((data_dir / "labels-graphsense-tagpacks" / "exchange-wallets-okx.yaml").read_text())
    good_okx = {("bitcoin", str(t["address"])) for t in _tags(okx_pack, "BTC")} | {
        ("ethereum", str(t["address"]).lower()) for t in _tags(okx_pack, "ETH") if str(t["address"]) != broken_okx}
    good_etherscan = {("ethereum", k) for k in json.loads(
        (data_dir / "labels-etherscan-brianleect" / "etherscan_combinedAccountLabels.json").read_text())
        if k != broken_key}

    output = _run("--data-dir", str(data_dir))

    assert f"exchange-wallets-okx.yaml line {line}: '{broken_okx}' is not an EVM address" in output
    assert f"etherscan_combinedAccountLabels.json key '{broken_key}': '{broken_key}' is not an EVM address" in output
    assert set(KnownAddress.objects.values_list("chain", "address")) == good_okx | good_etherscan
    assert len(good_okx) == 35 and len(good_etherscan) == 49
    assert "2 bad rows skipped" in output


def test_a_folder_of_ones_own_tagpacks_is_imported_without_the_etherscan_file(replay_data_dir, tmp_path):
    """``--data-dir`` may hold TagPacks only (make demo-chain writes one for its simulated exchange): here the
    real OKX pack and actor pack, symlinked (not copied), and no Etherscan file."""
    real = replay_data_dir / "labels-graphsense-tagpacks"
    packs = tmp_path / "labels-graphsense-tagpacks"
    packs.mkdir()
    for name in ("exchange-wallets-okx.yaml", "graphsense.actorpack.yaml"):
        (packs / name).symlink_to(real / name)
    okx = yaml.safe_load((real / "exchange-wallets-okx.yaml").read_text())
    actorpack = yaml.safe_load((real / "graphsense.actorpack.yaml").read_text())
    actors = {actor["id"]: actor for actor in actorpack["actors"]}
    expected = {("ethereum", str(t["address"]).lower()) for t in _tags(okx, "ETH")} | {
        ("bitcoin", str(t["address"])) for t in _tags(okx, "BTC")}

    output = _run("--data-dir", str(tmp_path))

    assert "etherscan" not in output
    assert set(KnownAddress.objects.values_list("chain", "address")) == expected
    assert set(KnownAddress.objects.values_list("category", "entity__name")) == {
        ("exchange", actors[okx["actor"]]["label"])}


def test_a_folder_without_label_sets_is_refused(tmp_path):
    with pytest.raises(CommandError, match="no label sets in"):
        _run("--data-dir", str(tmp_path))
    assert not KnownAddress.objects.exists()
