"""Parsers for the public address-label sets in ``settings.REPLAY_DATA_DIR`` (read in place, never copied).

Two sets (see each folder's PROVENANCE.md):

- Etherscan label cloud, ``labels-etherscan-brianleect/etherscan_combinedAccountLabels.json``:
  ``{address: {"name": str, "labels": [slug, ...]}}``, 23,288 Ethereum addresses, scraped 2023-06.
- GraphSense TagPacks, ``labels-graphsense-tagpacks/*.yaml``: a header (``title``, ``source``,
  ``confidence``, defaults ``currency`` ``category`` ``actor`` ``label``) and ``tags: [{address, ...}]``;
  a tag inherits every missing field from the header. ``graphsense.actorpack.yaml`` maps actor ids
  (``binance``, ``okex``) to names, categories and websites.

Everything here is pure parsing: plain dataclasses out, no database. ``whales.importers.labels_import``
writes them. Only ETH (-> ``ethereum``) and BTC (-> ``bitcoin``) tags are kept; other currencies are
counted as skipped, not reported as errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.utils.text import slugify

from whales.chains import Chain, normalize_address
from whales.errors import ApplicationError, InvalidParameter
from whales.models import AddressCategory, EntityKind, LabelConfidence

ETHERSCAN_DIR = "labels-etherscan-brianleect"
ETHERSCAN_FILE = "etherscan_combinedAccountLabels.json"
ETHERSCAN_SOURCE = "etherscan-labelcloud"
GRAPHSENSE_DIR = "labels-graphsense-tagpacks"
GRAPHSENSE_ACTORPACK = "graphsense.actorpack.yaml"
GRAPHSENSE_EXCHANGE_PACK_PREFIX = "exchange-wallets-"

CURRENCY_CHAINS = {"ETH": Chain.ETHEREUM.value, "BTC": Chain.BITCOIN.value}

# Etherscan per-exchange label slug -> GraphSense actor id, so one exchange is one Entity whichever set
# names it. Checked against graphsense.actorpack.yaml (tests assert every target exists there).
ETHERSCAN_EXCHANGE_ACTORS: dict[str, str] = {
    "abcc": "abcc", "allbit": "allbit", "ascendex": "bitmax", "bgogo": "bgogo",
    "binance": "binance", "binance-deposit": "binance", "bitcoin-suisse": "bitcoinsuisse",
    "bitfinex": "bitfinex", "bithumb": "bithumb", "bitmart": "bitmart", "bitmex": "bitmex",
    "bitstamp": "bitstamp", "bittrex": "bittrex", "changenow": "changenow", "cobinhood": "cobinhood",
    "coinbase": "coinbase", "coinbit": "coinbit", "coinhako": "coinhako", "coinlist": "coinlistpro",
    "coinmetro": "coinmetro", "coinone": "coinone", "coinsquare": "coinsquare", "coss-io": "cossexchange",
    "crex24": "crex24", "crypto-com": "cryptocom", "deribit": "deribit", "digifinex": "digifinex",
    "ftx": "ftx", "gate-io": "gate", "gemini": "gemini", "hitbtc": "hitbtc", "hoo-com": "hoo",
    "hotbit": "hotbit", "huobi": "huobi", "korbit": "korbit", "kraken": "kraken", "kryptono": "kryptono",
    "kucoin": "kucoin", "latoken": "latoken", "lcx-ag": "lcx", "liquid": "liquid", "maskex": "maskex",
    "nexo": "nexo", "okx": "okex", "paribu": "paribu", "poloniex": "poloniex", "quadrigacx": "quadrigacx",
    "remitano": "remitano", "resfinex": "resfinex", "tidex": "tidex", "topbtc": "topbtc",
    "trade-io": "tradeio", "upbit": "upbit", "wirex": "wirex", "yunbi": "yunbi", "zb-com": "zbcom",
}

# The major exchanges whose numbered Etherscan wallet series ("Binance 14") join the default whale list.
MAJOR_EXCHANGE_LABELS = frozenset({
    "binance", "coinbase", "kraken", "okx", "bitfinex", "huobi", "kucoin", "crypto-com", "gemini",
    "bitstamp", "gate-io", "bithumb", "upbit", "deribit", "ftx", "bittrex", "poloniex",
})

# Owners (the name before ": " or a trailing number) that are trading firms / market makers.
MARKET_MAKER_OWNERS = frozenset({
    "alameda research", "jump trading", "wintermute", "cumberland", "amber group", "auros global",
    "falconx", "genesis trading", "gsr", "b2c2", "dwf labs",
})

_DEX_LABELS = frozenset({
    "dex", "uniswap", "sushiswap", "balancer", "bancor", "curve-fi", "1inch", "kyberswap", "0x-protocol",
    "0x-protocol-ecosystem", "paraswap", "cow-protocol", "dex-ag", "airswap", "tokenlon", "loopring", "dydx",
    "idex", "pancakeswap", "sudoswap", "mcdex", "swipeswap", "hydro-protocol", "switcheo", "dutchx",
})
_BRIDGE_LABELS = frozenset({
    "bridge", "wormhole", "multichain", "hop-protocol", "across-protocol", "synapse", "connext", "celer-network",
})
_MEV_LABELS = frozenset({"mev-bot", "mev-builder", "backrunning-bots"})
_SANCTIONED_LABELS = frozenset({"ofac-sanctions-lists", "tornado-cash"})
_TOKEN_LABELS = frozenset({"spam-token", "bridged-token", "stablecoin"})
_MINER_LABELS = frozenset({"mining", "f2pool", "miningpoolhub"})
_FUND_LABELS = frozenset({"fund", "alameda-research", "defiance-capital"})

_TOKEN_NAME = re.compile(r"^[^:]+:\s.*\b(Token|Stablecoin)$|\([A-Za-z0-9$.\-]{2,12}\)$")
_HACK_NAME = re.compile(r"\b(exploiter?|hack(er)?)\b", re.IGNORECASE)
_TRAILING_NUMBER = re.compile(r"^(?P<base>[^:]+?) \d+$")
_HEX_ADDRESS_IN_NAME = re.compile(r"^0x[0-9a-fA-F.]+$")

# GraphSense confidence ids (graphsense-tagpacks/config/confidence.csv) -> our three levels.
GRAPHSENSE_CONFIDENCE = {
    "ownership": LabelConfidence.HIGH, "authority_data": LabelConfidence.HIGH,
    "service_data": LabelConfidence.HIGH, "override": LabelConfidence.HIGH,
    "forensic_investigation": LabelConfidence.MEDIUM, "web_crawl": LabelConfidence.MEDIUM,
    "heuristic": LabelConfidence.LOW, "unknown": LabelConfidence.LOW, "": LabelConfidence.MEDIUM,
}
# GraphSense category ids -> AddressCategory (others -> other).
GRAPHSENSE_CATEGORIES = {
    "exchange": AddressCategory.EXCHANGE, "miner": AddressCategory.MINER, "mining_service": AddressCategory.MINER,
    "defi_dex": AddressCategory.DEX, "defi_bridge": AddressCategory.BRIDGE,
}
# A pack whose whole content is sanctioned / hack related, whatever its tags' category says.
GRAPHSENSE_PACK_CATEGORIES = {"ofac": AddressCategory.SANCTIONED, "tornado_cash": AddressCategory.SANCTIONED}

CATEGORY_ENTITY_KIND: dict[str, EntityKind] = {
    AddressCategory.EXCHANGE: EntityKind.EXCHANGE, AddressCategory.DEX: EntityKind.PROTOCOL,
    AddressCategory.BRIDGE: EntityKind.BRIDGE, AddressCategory.FUND: EntityKind.FUND,
    AddressCategory.MARKET_MAKER: EntityKind.MARKET_MAKER, AddressCategory.MINER: EntityKind.MINER,
    AddressCategory.TOKEN: EntityKind.PROTOCOL,
}


@dataclass(frozen=True)
class Actor:
    """One GraphSense actor: ``id`` is the entity slug, ``name`` its display label, ``website`` a URL or ""."""

    id: str
    name: str
    categories: tuple[str, ...]
    website: str


@dataclass(frozen=True)
class EntityRef:
    """The owner of an address as a label set names it; ``slug`` is the Entity key."""

    slug: str
    name: str
    kind: str  # EntityKind value
    website: str = ""


@dataclass(frozen=True)
class LabeledAddress:
    """One address as one source labels it.

    Shape: ``chain`` a Chain value; ``address`` normalized (EVM lowercase); ``category`` an
    AddressCategory value; ``confidence`` a LabelConfidence value; ``tags`` the source's raw tags
    (Etherscan label slugs; GraphSense ``category:<id>`` / ``actor:<id>``), sorted.
    ``file``/``ref`` locate the row (file name and key or line) for reports.
    """

    chain: str
    address: str
    name: str
    category: str
    entity: EntityRef | None
    source: str
    source_url: str
    confidence: str
    tags: tuple[str, ...]
    file: str
    ref: str
    # Raw Etherscan label slugs (empty for GraphSense): the default-whale rule reads them.
    etherscan_labels: tuple[str, ...] = ()

    @property
    def is_exchange_pack(self) -> bool:
        """True for a GraphSense reserve-wallet pack published by the exchange itself."""
        return self.source.startswith(f"graphsense:{GRAPHSENSE_EXCHANGE_PACK_PREFIX}")


@dataclass(frozen=True)
class BadRow:
    """A row that could not be imported: file name, key or ``line N``, and why."""

    file: str
    ref: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file} {self.ref}: {self.reason}"


@dataclass
class FileReport:
    """Per-file parse counts: ``read`` rows seen, ``kept`` ETH/BTC rows parsed, ``skipped`` other currencies."""

    file: str
    read: int = 0
    kept: int = 0
    skipped: int = 0
    bad: int = 0


@dataclass
class LabelSets:
    """Everything parsed from both sets, in source priority order (see ``source_priority``)."""

    records: list[LabeledAddress] = field(default_factory=list)
    bad_rows: list[BadRow] = field(default_factory=list)
    files: list[FileReport] = field(default_factory=list)
    actors: dict[str, Actor] = field(default_factory=dict)


def source_priority(record: LabeledAddress) -> tuple[int, str]:
    """Sort key: GraphSense exchange-published packs, then Etherscan, then other GraphSense packs (by name).

    When several sources label one address, the first in this order decides its name, category and entity.
    """
    if record.is_exchange_pack:
        return (0, record.source)
    if record.source == ETHERSCAN_SOURCE:
        return (1, record.source)
    return (2, record.source)


def actors_load(path: Path) -> dict[str, Actor]:
    """Parse ``graphsense.actorpack.yaml``; return ``{actor id: Actor}``.

    Raises: OSError if unreadable, yaml.YAMLError if not YAML.
    """
    with path.open(encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=yaml.CSafeLoader)
    actors: dict[str, Actor] = {}
    for raw in data.get("actors") or []:
        actor_id = str(raw["id"])
        uri = str(raw.get("uri") or "")
        website = uri if not uri or uri.startswith(("http://", "https://")) else f"https://{uri}"
        actors[actor_id] = Actor(
            id=actor_id, name=str(raw.get("label") or actor_id),
            categories=tuple(raw.get("categories") or ()), website=website,
        )
    return actors


def _owner(name: str) -> str:
    """'Jump Trading: Binance Deposit' -> 'Jump Trading'; 'Three Arrows Capital 2' -> 'Three Arrows Capital'."""
    owner = name.split(":", 1)[0].strip()
    match = _TRAILING_NUMBER.match(owner)
    return match.group("base") if match else owner


def _actor_entity(actor_id: str, actors: dict[str, Actor], kind: str) -> EntityRef:
    actor = actors.get(actor_id)
    if actor is None:
        return EntityRef(slug=slugify(actor_id)[:100], name=actor_id, kind=kind)
    return EntityRef(slug=actor.id, name=actor.name, kind=kind, website=actor.website)


def etherscan_category(*, name: str, labels: Iterable[str]) -> str:
    """AddressCategory of an Etherscan entry; the first rule that matches wins.

    Order: sanctioned (OFAC list, tornado-cash) > hack (name says exploiter/hacker) > token (name
    ``"X: Y Token"``, token labels) > mev (mev-bot/mev-builder) > bridge > exchange (an exchange label
    from ETHERSCAN_EXCHANGE_ACTORS) > dex > market maker (owner in MARKET_MAKER_OWNERS) > fund > miner > other.
    """
    slugs = set(labels)
    if slugs & _SANCTIONED_LABELS:
        return AddressCategory.SANCTIONED
    if _HACK_NAME.search(name):
        return AddressCategory.HACK
    if _TOKEN_NAME.search(name) or slugs & _TOKEN_LABELS:
        return AddressCategory.TOKEN
    if slugs & _MEV_LABELS:
        return AddressCategory.MEV
    if slugs & _BRIDGE_LABELS:
        return AddressCategory.BRIDGE
    if slugs & ETHERSCAN_EXCHANGE_ACTORS.keys():
        return AddressCategory.EXCHANGE
    if slugs & _DEX_LABELS:
        return AddressCategory.DEX
    if _owner(name).lower() in MARKET_MAKER_OWNERS:
        return AddressCategory.MARKET_MAKER
    if slugs & _FUND_LABELS:
        return AddressCategory.FUND
    if slugs & _MINER_LABELS:
        return AddressCategory.MINER
    return AddressCategory.OTHER


def _etherscan_entity(name: str, labels: list[str], category: str, actors: dict[str, Actor]) -> EntityRef | None:
    for slug in sorted(labels):
        if slug in ETHERSCAN_EXCHANGE_ACTORS:
            return _actor_entity(ETHERSCAN_EXCHANGE_ACTORS[slug], actors, EntityKind.EXCHANGE)
    if category not in (AddressCategory.FUND, AddressCategory.MARKET_MAKER):
        return None
    owner = _owner(name)
    if not owner or owner.lower() == "fund" or _HEX_ADDRESS_IN_NAME.match(owner):
        return None  # "Fund: 0x071...5C0": a fund, but no named owner
    kind = EntityKind.MARKET_MAKER if category == AddressCategory.MARKET_MAKER else EntityKind.FUND
    actor_id = re.sub(r"[^a-z0-9]", "", owner.lower())
    if actor_id in actors:
        return EntityRef(slug=actor_id, name=actors[actor_id].name, kind=kind, website=actors[actor_id].website)
    return EntityRef(slug=slugify(owner)[:100], name=owner, kind=kind)


def etherscan_parse(path: Path, *, actors: dict[str, Actor]) -> tuple[list[LabeledAddress], list[BadRow], FileReport]:
    """Parse the Etherscan combined label file; return (records, bad rows, file report).

    Source: brianleect/etherscan-labels ``combinedAccountLabels.json`` (Ethereum mainnet, 2023-06).
    Shape: one record per key, ``ref`` = the key as written; ``source_url`` is the Etherscan
    label-cloud page of the entry's first label (alphabetical). A key that is not an address, or a
    value without a ``labels`` list, is a BadRow.
    Raises: OSError / json.JSONDecodeError when the file itself is unreadable.
    """
    with path.open(encoding="utf-8") as handle:
        data = json.load(handle)
    report = FileReport(file=path.name)
    records: list[LabeledAddress] = []
    bad: list[BadRow] = []
    for key, value in data.items():
        report.read += 1
        try:
            address = normalize_address(Chain.ETHEREUM, key)
            if not isinstance(value, dict) or not isinstance(value.get("labels"), list):
                raise InvalidParameter("value must be an object with a 'labels' list")
        except ApplicationError as exc:
            bad.append(BadRow(file=path.name, ref=f"key {key!r}", reason=str(exc)))
            report.bad += 1
            continue
        labels = sorted({str(slug) for slug in value["labels"]})
        name = str(value.get("name") or "").strip()
        category = etherscan_category(name=name, labels=labels)
        records.append(LabeledAddress(
            chain=Chain.ETHEREUM.value, address=address, name=name, category=str(category),
            entity=_etherscan_entity(name, labels, category, actors), source=ETHERSCAN_SOURCE,
            source_url=f"https://etherscan.io/accounts/label/{labels[0]}" if labels else "",
            confidence=LabelConfidence.MEDIUM.value, tags=tuple(labels), file=path.name, ref=f"key {key!r}",
            etherscan_labels=tuple(labels),
        ))
        report.kept += 1
    return records, bad, report


def _tag_lines(path: Path) -> list[int]:
    """1-based line number of each item of the pack's ``tags`` list (YAML node marks)."""
    with path.open(encoding="utf-8") as handle:
        root = yaml.compose(handle, Loader=yaml.CSafeLoader)
    if not isinstance(root, yaml.MappingNode):
        return []
    for key_node, value_node in root.value:
        if key_node.value == "tags" and isinstance(value_node, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value_node.value]
    return []


def _graphsense_category(pack: str, tag: dict, label: str) -> str:
    if pack in GRAPHSENSE_PACK_CATEGORIES:
        return GRAPHSENSE_PACK_CATEGORIES[pack]
    raw = str(tag.get("category") or "")
    if tag.get("abuse") or (pack == "hacks" and not raw):
        return AddressCategory.HACK
    if _TOKEN_NAME.search(label):
        return AddressCategory.TOKEN
    return GRAPHSENSE_CATEGORIES.get(raw, AddressCategory.OTHER)


def tagpack_parse(path: Path, *, actors: dict[str, Actor]) -> tuple[list[LabeledAddress], list[BadRow], FileReport]:
    """Parse one GraphSense TagPack; return (records, bad rows, file report).

    Source: graphsense/graphsense-tagpacks ``packs/<name>.yaml``. Each tag inherits ``currency``,
    ``category``, ``actor``, ``label``, ``source``, ``confidence`` and ``abuse`` from the header.
    Shape: ``source`` = ``graphsense:<file stem>``; ``ref`` = ``line N`` of the tag; ``name`` = the tag
    label, else the actor's name, else the pack title. Tags in currencies other than ETH/BTC are
    counted as skipped. A tag without an address, or with an address invalid for its chain, is a BadRow.
    Raises: OSError / yaml.YAMLError when the file itself is unreadable.
    """
    with path.open(encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=yaml.CSafeLoader)
    pack = path.stem
    report = FileReport(file=path.name)
    if not isinstance(data, dict) or not isinstance(data.get("tags"), list):
        return [], [BadRow(file=path.name, ref="header", reason="not a TagPack (no 'tags' list)")], report
    lines = _tag_lines(path)
    header = {key: value for key, value in data.items() if key != "tags"}
    records: list[LabeledAddress] = []
    bad: list[BadRow] = []
    for index, raw in enumerate(data["tags"]):
        report.read += 1
        ref = f"line {lines[index]}" if index < len(lines) else f"tag #{index + 1}"
        tag = {**header, **raw} if isinstance(raw, dict) else {}
        chain = CURRENCY_CHAINS.get(str(tag.get("currency") or "").upper())
        if tag and chain is None:
            report.skipped += 1
            continue
        try:
            if not tag.get("address"):
                raise InvalidParameter("tag has no address")
            address = normalize_address(chain or "", str(tag["address"]))
        except ApplicationError as exc:  # no address, unknown chain, invalid address
            bad.append(BadRow(file=path.name, ref=ref, reason=str(exc)))
            report.bad += 1
            continue
        actor_id = str(tag.get("actor") or "")
        label = str(tag.get("label") or "").strip()
        category = _graphsense_category(pack, tag, label)
        entity = None
        if actor_id:
            entity = _actor_entity(actor_id, actors, CATEGORY_ENTITY_KIND.get(category, EntityKind.UNKNOWN))
        name = label or (entity.name if entity else str(header.get("title") or pack))
        tags = sorted({f"category:{tag['category']}"} if tag.get("category") else set())
        if actor_id:
            tags.append(f"actor:{actor_id}")
        records.append(LabeledAddress(
            chain=chain or "", address=address, name=name[:200], category=str(category), entity=entity,
            source=f"graphsense:{pack}", source_url=str(tag.get("source") or ""),
            confidence=str(GRAPHSENSE_CONFIDENCE.get(str(tag.get("confidence") or ""), LabelConfidence.MEDIUM)),
            tags=tuple(sorted(tags)), file=path.name, ref=ref,
        ))
        report.kept += 1
    return records, bad, report


def labelsets_load(data_dir: Path) -> LabelSets:
    """Parse the label sets under ``data_dir`` (normally ``settings.REPLAY_DATA_DIR``): the Etherscan file
    and the TagPacks (with their actor pack) that are there, in the layout above. A folder of one's own
    TagPacks (``labels-graphsense-tagpacks/*.yaml``, e.g. what ``scripts/demo_chain.py`` writes) is enough.

    Shape: ``records`` sorted by ``source_priority`` then file order, so merging is deterministic;
    ``files`` in read order (Etherscan first, then TagPacks alphabetically).
    Raises: FileNotFoundError when ``data_dir`` holds neither set; OSError / ValueError / yaml.YAMLError when
    a file itself is unreadable (bad rows are not raised).
    """
    result = LabelSets()
    graphsense_dir = data_dir / GRAPHSENSE_DIR
    etherscan_path = data_dir / ETHERSCAN_DIR / ETHERSCAN_FILE
    packs = [path for path in sorted(graphsense_dir.glob("*.yaml")) if path.name != GRAPHSENSE_ACTORPACK]
    if not etherscan_path.exists() and not packs:
        raise FileNotFoundError(f"no label sets in {data_dir}: expected {ETHERSCAN_DIR}/{ETHERSCAN_FILE} "
                                f"or {GRAPHSENSE_DIR}/*.yaml")
    actorpack = graphsense_dir / GRAPHSENSE_ACTORPACK
    if actorpack.exists():
        result.actors = actors_load(actorpack)
    if etherscan_path.exists():
        records, bad, report = etherscan_parse(etherscan_path, actors=result.actors)
        result.records.extend(records)
        result.bad_rows.extend(bad)
        result.files.append(report)
    for path in packs:
        records, bad, report = tagpack_parse(path, actors=result.actors)
        result.records.extend(records)
        result.bad_rows.extend(bad)
        result.files.append(report)
    result.records.sort(key=source_priority)  # stable: file and row order kept within one priority
    return result


@dataclass(frozen=True)
class MergedAddress:
    """One KnownAddress as imported: the best record's name/category/entity plus every source's tags."""

    chain: str
    address: str
    name: str
    category: str
    entity: EntityRef | None
    source: str
    source_url: str
    tags: tuple[str, ...]
    records: tuple[LabeledAddress, ...]


def _name_priority(record: LabeledAddress) -> int:
    return 0 if record.source == ETHERSCAN_SOURCE else 1


def addresses_merge(records: Iterable[LabeledAddress]) -> dict[tuple[str, str], MergedAddress]:
    """Merge records (already in priority order) per ``(chain, address)``.

    Shape: name = the Etherscan name when there is one (its name tags are per address, "Binance 14",
    where a GraphSense pack often repeats one label for all its tags), else the first non-empty name;
    category = first record's category, or the first one that is not ``other``; entity = first
    record that has one; source/source_url = first record's; tags = sorted union of every record's
    tags plus ``source:<source>`` per source (deterministic).
    """
    grouped: dict[tuple[str, str], list[LabeledAddress]] = {}
    for record in records:
        grouped.setdefault((record.chain, record.address), []).append(record)
    merged: dict[tuple[str, str], MergedAddress] = {}
    for key, group in grouped.items():
        first = group[0]
        category = next((r.category for r in group if r.category != AddressCategory.OTHER), first.category)
        tags = {tag for r in group for tag in r.tags} | {f"source:{r.source}" for r in group}
        merged[key] = MergedAddress(
            chain=first.chain, address=first.address,
            name=next((r.name for r in sorted(group, key=_name_priority) if r.name), ""),
            category=category, entity=next((r.entity for r in group if r.entity), None), source=first.source,
            source_url=first.source_url, tags=tuple(sorted(tags)), records=tuple(group),
        )
    return merged


def is_default_whale(record: LabeledAddress, *, numbered_bases: dict[str, set[str]]) -> bool:
    """Whether one record puts its address on the default whale list (rule in ``default_whales_select``)."""
    if record.is_exchange_pack:
        return True
    if record.source == "graphsense:richest_addresses":
        return True
    if record.source != ETHERSCAN_SOURCE:
        return False
    labels = set(record.etherscan_labels)
    if "fund" in labels or record.category == AddressCategory.MARKET_MAKER:
        return True
    for slug in labels & MAJOR_EXCHANGE_LABELS:
        match = _TRAILING_NUMBER.match(record.name)
        if match or record.name in numbered_bases.get(slug, set()):
            return True
    return False


def default_whales_select(records: Iterable[LabeledAddress]) -> dict[tuple[str, str], list[LabeledAddress]]:
    """The DEFAULT WHALE LIST: ``{(chain, address): [qualifying records, in priority order]}``.

    Rule (an address qualifies when any one source record does):

    - Ethereum: every ETH tag of the GraphSense reserve-wallet packs the exchanges published
      (``exchange-wallets-*.yaml``); every Etherscan label-cloud address of a major exchange
      (MAJOR_EXCHANGE_LABELS: binance, coinbase, kraken, okx, bitfinex, huobi, kucoin, crypto-com,
      gemini, bitstamp, gate-io, bithumb, upbit, deribit, ftx, bittrex, poloniex) whose name is a
      numbered wallet of the series, ``"<Name> <n>"`` with no colon ("Binance 14", "Kraken 4"), or
      the series' unnumbered first wallet (exactly "<Name>", e.g. "Binance"); every Etherscan
      address with the ``fund`` label; every Etherscan address whose owner is a known market maker
      (MARKET_MAKER_OWNERS: Alameda Research, Jump Trading, Wintermute, Cumberland, Amber Group,
      Auros Global, FalconX, Genesis Trading, ...).
    - Bitcoin: every tag of ``richest_addresses.yaml`` (owners of bitinfocharts' top-100 richest
      addresses) and every BTC tag of the ``exchange-wallets-*.yaml`` packs.
    """
    records = list(records)
    numbered_bases: dict[str, set[str]] = {}
    for record in records:
        if record.source != ETHERSCAN_SOURCE:
            continue
        match = _TRAILING_NUMBER.match(record.name)
        if match:
            for slug in set(record.etherscan_labels) & MAJOR_EXCHANGE_LABELS:
                numbered_bases.setdefault(slug, set()).add(match.group("base"))
    selected: dict[tuple[str, str], list[LabeledAddress]] = {}
    for record in records:
        if is_default_whale(record, numbered_bases=numbered_bases):
            selected.setdefault((record.chain, record.address), []).append(record)
    return selected


# The precedence rules of ``addresses_merge``, as the conflict reports state them.
CONFLICT_RULES = {
    "name": "the Etherscan name tag wins (Etherscan names each address, a GraphSense pack often repeats one label); "
            "else the first source in priority order with a name",
    "category": "the first source in priority order (exchange-published GraphSense packs, Etherscan, other "
                "GraphSense packs) whose category is not 'other'",
    "entity": "the first source in priority order (exchange-published GraphSense packs, Etherscan, other "
              "GraphSense packs) that names an owner",
}


@dataclass(frozen=True)
class SourceValue:
    """What one source says about one field of an address."""

    source: str
    value: str


@dataclass(frozen=True)
class FoundConflict:
    """Sources disagree on one field (``name``, ``category``, ``entity``: an entity slug) of one address.

    Shape: ``values`` every source's non-empty value (category: not ``other``) in the order the merge reads them;
    ``winner_source`` / ``winner_value`` what ``addresses_merge`` kept; ``rule`` why (``CONFLICT_RULES``)."""

    chain: str
    address: str
    field: str
    values: tuple[SourceValue, ...]
    winner_source: str
    winner_value: str
    rule: str


def label_conflicts_find(merged: dict[tuple[str, str], MergedAddress]) -> list[FoundConflict]:
    """The disagreements ``addresses_merge`` settled: for each address and field (name, category, entity slug),
    when its records hold two or more different values. Sorted by (chain, address, field)."""
    found: list[FoundConflict] = []
    for (chain, address), item in sorted(merged.items()):
        fields = {
            "name": ([SourceValue(r.source, r.name) for r in sorted(item.records, key=_name_priority) if r.name],
                     item.name),
            "category": ([SourceValue(r.source, r.category) for r in item.records
                          if r.category != AddressCategory.OTHER], item.category),
            "entity": ([SourceValue(r.source, r.entity.slug) for r in item.records if r.entity],
                       item.entity.slug if item.entity else ""),
        }
        for name, (values, kept) in fields.items():
            if len({v.value for v in values}) < 2:
                continue
            winner = next(v for v in values if v.value == kept)
            found.append(FoundConflict(chain=chain, address=address, field=name, values=tuple(values),
                                       winner_source=winner.source, winner_value=kept, rule=CONFLICT_RULES[name]))
    return found
