"""Importers of the whale registry: public label sets and analysts' own whale files, and the upsert of one
whale with its label evidence that they (and bridge discovery) use.

Services here take keyword-only arguments, own their transaction and are idempotent: running one
twice leaves the database exactly as after the first run. Commands (``import_labels``,
``import_whales``) and admin actions only parse input, call one of these and print the result.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from whales.chains import Chain, normalize_address
from whales.errors import ApplicationError, InvalidParameter
from whales.label_trail import label_conflicts_store, label_removals_record
from whales.labelsets import (
    BadRow,
    EntityRef,
    FileReport,
    FoundConflict,
    LabeledAddress,
    MergedAddress,
    addresses_merge,
    default_whales_select,
    label_conflicts_find,
    labelsets_load,
)
from whales.models import (
    AddressCategory,
    Entity,
    EntityKind,
    KnownAddress,
    Label,
    LabelConfidence,
    Whale,
    WhaleLabel,
    WhaleType,
)

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000
_KNOWN_ADDRESS_FIELDS = ("name", "category", "entity_id", "source", "source_url", "tags")


@dataclass
class LabelsImportResult:
    """What ``labels_import`` did. Counts are rows; ``default_whales`` is the selected list size per chain."""

    files: list[FileReport] = field(default_factory=list)
    bad_rows: list[BadRow] = field(default_factory=list)
    entities_created: int = 0
    addresses_created: int = 0
    addresses_updated: int = 0
    addresses_unchanged: int = 0
    default_whales: dict[str, int] = field(default_factory=dict)
    whales_created: int = 0
    whales_updated: int = 0
    labels_created: int = 0
    whale_labels_created: int = 0
    conflicts: list[FoundConflict] = field(default_factory=list)


def _entities_ensure(refs: Iterable[EntityRef], *, source: str) -> tuple[dict[str, int], int]:
    """Create the Entities of ``refs`` that do not exist (first ref per slug wins); return ({slug: id}, created).

    Existing entities are never changed: an analyst's edits in the admin survive a re-import.
    """
    first: dict[str, EntityRef] = {}
    for ref in refs:
        first.setdefault(ref.slug, ref)
    existing = dict(Entity.objects.filter(slug__in=first).values_list("slug", "id"))
    missing = [
        Entity(slug=ref.slug, name=ref.name[:200], kind=ref.kind, website=ref.website, source=source)
        for slug, ref in sorted(first.items()) if slug not in existing
    ]
    Entity.objects.bulk_create(missing, batch_size=BATCH_SIZE, ignore_conflicts=True)
    if missing:
        existing = dict(Entity.objects.filter(slug__in=first).values_list("slug", "id"))
    return existing, len(missing)


def _known_addresses_upsert(merged: Mapping[tuple[str, str], MergedAddress], entity_ids: Mapping[str, int],
                            result: LabelsImportResult) -> None:
    chains = {chain for chain, _ in merged}
    existing = {
        (row["chain"], row["address"]): row
        for row in KnownAddress.objects.filter(chain__in=chains).values("id", "chain", "address",
                                                                          *_KNOWN_ADDRESS_FIELDS)
    }
    to_create: list[KnownAddress] = []
    to_update: list[KnownAddress] = []
    for key, item in merged.items():
        values = {
            "name": item.name[:200], "category": item.category,
            "entity_id": entity_ids[item.entity.slug] if item.entity else None,
            "source": item.source[:100], "source_url": item.source_url[:500], "tags": list(item.tags),
        }
        row = existing.get(key)
        if row is None:
            to_create.append(KnownAddress(chain=item.chain, address=item.address, **values))
        elif any(row[name] != value for name, value in values.items()):
            to_update.append(KnownAddress(id=row["id"], chain=item.chain, address=item.address, **values))
    KnownAddress.objects.bulk_create(to_create, batch_size=BATCH_SIZE)
    KnownAddress.objects.bulk_update(to_update, list(_KNOWN_ADDRESS_FIELDS), batch_size=BATCH_SIZE)
    result.addresses_created = len(to_create)
    result.addresses_updated = len(to_update)
    result.addresses_unchanged = len(merged) - len(to_create) - len(to_update)


def _labels_ensure(labels: Mapping[str, str]) -> tuple[dict[str, int], int]:
    """Create missing Labels ``{slug: name}``; return ({slug: id}, created). Existing labels are kept as they are."""
    existing = dict(Label.objects.filter(slug__in=labels).values_list("slug", "id"))
    missing = [Label(slug=slug, name=name[:200]) for slug, name in sorted(labels.items()) if slug not in existing]
    Label.objects.bulk_create(missing, ignore_conflicts=True)
    if missing:
        existing = dict(Label.objects.filter(slug__in=labels).values_list("slug", "id"))
    return existing, len(missing)


def _record_labels(record: LabeledAddress, merged: MergedAddress) -> list[tuple[str, str]]:
    """(slug, name) of the labels one qualifying record puts on a default whale: its category and its entity."""
    labels = [(slugify(record.category), str(AddressCategory(record.category).label))]
    entity = record.entity or merged.entity
    if entity is not None:
        labels.append((entity.slug, entity.name))
    return labels


def _default_whales_track(selected: Mapping[tuple[str, str], list[LabeledAddress]],
                          merged: Mapping[tuple[str, str], MergedAddress], entity_ids: Mapping[str, int],
                          result: LabelsImportResult) -> None:
    by_chain: dict[str, list[str]] = {}
    for chain, address in selected:
        by_chain.setdefault(chain, []).append(address)
    result.default_whales = {chain: len(addresses) for chain, addresses in sorted(by_chain.items())}
    existing: dict[tuple[str, str], Whale] = {}
    for chain, addresses in by_chain.items():
        for stored in Whale.objects.filter(chain=chain, address__in=addresses).only(
                "id", "chain", "address", "name", "entity_id"):
            existing[(stored.chain, stored.address)] = stored
    to_create: list[Whale] = []
    to_update: list[Whale] = []
    for key in selected:
        item = merged[key]
        entity_id = entity_ids[item.entity.slug] if item.entity else None
        whale = existing.get(key)
        if whale is None:
            to_create.append(Whale(chain=item.chain, address=item.address, name=item.name[:200], entity_id=entity_id,
                                   type=WhaleType.UNCLASSIFIED, is_tracked=True))
            continue
        # Only fill blanks: a name, entity, type or tracking flag an analyst set is kept.
        changed = False
        if not whale.name and item.name:
            whale.name, changed = item.name[:200], True
        if whale.entity_id is None and entity_id is not None:
            whale.entity_id, changed = entity_id, True
        if changed:
            to_update.append(whale)
    Whale.objects.bulk_create(to_create, batch_size=BATCH_SIZE)
    Whale.objects.bulk_update(to_update, ["name", "entity_id"], batch_size=BATCH_SIZE)
    result.whales_created, result.whales_updated = len(to_create), len(to_update)

    whale_ids: dict[tuple[str, str], int] = {}
    for chain, addresses in by_chain.items():
        for address, whale_id in Whale.objects.filter(chain=chain, address__in=addresses).values_list("address", "id"):
            whale_ids[(chain, address)] = whale_id
    wanted: dict[tuple[int, str, str], LabeledAddress] = {}
    label_names: dict[str, str] = {}
    for key, records in selected.items():
        for record in records:
            for slug, name in _record_labels(record, merged[key]):
                label_names.setdefault(slug, name)
                wanted.setdefault((whale_ids[key], slug, record.source[:100]), record)
    label_ids, result.labels_created = _labels_ensure(label_names)
    present = set(
        WhaleLabel.objects.filter(whale_id__in=whale_ids.values()).values_list("whale_id", "label_id", "source")
    )
    new_links = [
        WhaleLabel(whale_id=whale_id, label_id=label_ids[slug], source=source,
                   evidence_url=record.source_url[:500], confidence=record.confidence, added_by=None)
        for (whale_id, slug, source), record in wanted.items()
        if (whale_id, label_ids[slug], source) not in present
    ]
    WhaleLabel.objects.bulk_create(new_links, batch_size=BATCH_SIZE, ignore_conflicts=True)
    result.whale_labels_created = len(new_links)


def labels_import(*, data_dir: Path, track_default_whales: bool = False) -> LabelsImportResult:
    """Import the Etherscan label cloud and the GraphSense TagPacks into Entity and KnownAddress.

    Source: ``data_dir`` (normally ``settings.REPLAY_DATA_DIR``), parsed by ``whales.labelsets``.
    Shape: one KnownAddress per (chain, address). When several sources label one address, the
    source priority of ``labelsets.source_priority`` (GraphSense exchange-published packs, then
    Etherscan, then the other GraphSense packs) decides category, entity and source; the name is the
    Etherscan name tag when there is one; ``tags`` is the sorted union of every source's tags.
    Entities are created once per slug and never overwritten. With ``track_default_whales`` the
    default whale list (``labelsets.default_whales_select``) becomes Whales (type unclassified,
    tracked) with WhaleLabel provenance per source: label = the address category and its entity,
    evidence_url = the pack's / label page's URL, confidence from the pack, added_by None.
    Sources that disagree on an address's name, category or entity are reported, not settled silently: each
    disagreement (``labelsets.label_conflicts_find``: the values, the one kept and the rule) is in ``conflicts``
    and stored as a LabelConflict (``label_trail.label_conflicts_store``).
    Idempotent: a second run creates and updates nothing (but the conflicts' ``last_seen_at``). Bulk queries only
    (~25k rows in seconds).
    Bad rows are returned in ``bad_rows`` and skipped; the rest is imported.
    Raises: OSError / ValueError / yaml.YAMLError when a label file itself is unreadable (nothing written).
    """
    sets = labelsets_load(data_dir)
    merged = addresses_merge(sets.records)
    result = LabelsImportResult(files=sets.files, bad_rows=sets.bad_rows, conflicts=label_conflicts_find(merged))
    selected = default_whales_select(sets.records) if track_default_whales else {}
    with transaction.atomic():
        label_conflicts_store(found=result.conflicts, now=timezone.now())
        refs = [item.entity for item in merged.values() if item.entity is not None]
        refs += [r.entity for records in selected.values() for r in records if r.entity is not None]
        entity_ids, result.entities_created = _entities_ensure(refs, source="label-import")
        _known_addresses_upsert(merged, entity_ids, result)
        if track_default_whales:
            _default_whales_track(selected, merged, entity_ids, result)
    logger.info("whales.labels_import.done", extra={
        "addresses_created": result.addresses_created, "addresses_updated": result.addresses_updated,
        "whales_created": result.whales_created, "bad_rows": len(result.bad_rows)})
    return result


# --- analysts' whale files -------------------------------------------------------------------------------

WHALE_FILE_COLUMNS = ("chain", "address", "entity", "labels", "type", "notes", "name")
REQUIRED_COLUMNS = ("chain", "address")


class WhaleFileUnreadable(Exception):
    """The whale file itself cannot be read (missing, not UTF-8, not CSV/YAML, wrong top-level shape)."""


@dataclass(frozen=True)
class RawWhaleRow:
    """One row of an analysts' file as read: 1-based ``line`` in the file and its raw values."""

    line: int
    values: Mapping[str, Any]


@dataclass(frozen=True)
class LabelEvidence:
    """One label with its provenance, as ``whale_upsert`` stores it in WhaleLabel."""

    slug: str
    name: str
    source: str
    evidence_url: str = ""
    confidence: str = LabelConfidence.HIGH


@dataclass
class WhalesImportResult:
    """What ``whales_import_rows`` did: whales created/updated/unchanged and the rejected rows."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    bad_rows: list[BadRow] = field(default_factory=list)


def _split_labels(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        items = [str(item) for item in value]
    else:
        items = str(value).replace("|", ";").split(";")
    return [item.strip() for item in items if item and item.strip()]


def whale_file_read(*, path: Path) -> list[RawWhaleRow]:
    """Read an analysts' whale file: CSV (``.csv``) or YAML (``.yaml``/``.yml``) by extension.

    Shape: CSV with a header row (columns chain, address, entity, labels, type, notes, name; labels
    separated by ';' or '|'); YAML a list of mappings with the same keys (labels a list), or a mapping
    with a ``whales`` list. Each row keeps its 1-based line number (CSV: the row's line; YAML: the
    line of the item's first key). Cell values are returned raw; ``whales_import_rows`` validates them.
    Raises: WhaleFileUnreadable when the file is missing, not UTF-8 text, has an unknown extension or
        is not a list of rows.
    """
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise WhaleFileUnreadable(f"{path}: {exc}") from exc
    if suffix == ".csv":
        reader = csv.DictReader(text.splitlines(keepends=True))
        try:
            rows = [RawWhaleRow(line=reader.line_num, values=row) for row in reader]
        except csv.Error as exc:
            raise WhaleFileUnreadable(f"{path}: {exc}") from exc
        if reader.fieldnames is None:
            raise WhaleFileUnreadable(f"{path}: empty CSV file (no header row)")
        return rows
    if suffix in (".yaml", ".yml"):
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise WhaleFileUnreadable(f"{path}: {exc}") from exc
        items_node = root
        if isinstance(data, dict) and isinstance(data.get("whales"), list) and isinstance(root, yaml.MappingNode):
            items_node = next(v for k, v in root.value if k.value == "whales")
            data = data["whales"]
        if not isinstance(data, list) or not isinstance(items_node, yaml.SequenceNode):
            raise WhaleFileUnreadable(f"{path}: expected a list of whales (or a 'whales:' list)")
        return [
            RawWhaleRow(line=node.start_mark.line + 1, values=item if isinstance(item, dict) else {"_raw": item})
            for node, item in zip(items_node.value, data, strict=True)
        ]
    raise WhaleFileUnreadable(f"{path}: unknown file type {suffix!r} (expected .csv, .yaml or .yml)")


def _entity_for_name(name: str, *, source: str) -> Entity:
    """The Entity called ``name``: by slug (``slugify(name)``), else by name (case-insensitive), else new."""
    slug = slugify(name)[:100] or "entity"
    entity = Entity.objects.filter(slug=slug).first() or Entity.objects.filter(name__iexact=name).order_by("id").first()
    if entity is None:
        entity, _ = Entity.objects.get_or_create(
            slug=slug, defaults={"name": name[:200], "kind": EntityKind.UNKNOWN, "source": source[:100]})
    return entity


def whale_upsert(
    *,
    chain: str,
    address: str,
    name: str | None = None,
    entity_name: str | None = None,
    type: str | None = None,
    notes: str | None = None,
    labels: Sequence[LabelEvidence] | None = None,
    label_source: str = "",
    added_by: User | None = None,
) -> tuple[Whale, bool, bool]:
    """Create or update the Whale at (chain, address); return (whale, created, changed).

    Shape: ``address`` is normalized for ``chain``. A None/empty ``name``, ``entity_name``, ``type`` or
    ``notes`` leaves that field as it is. ``entity_name`` finds or creates the Entity (slug =
    slugify(name)). A ``type`` sets ``type_is_manual=True`` so classification keeps it. ``labels``
    (when not None) becomes exactly the whale's WhaleLabels from ``label_source``: missing ones are
    added with their provenance, ones from that source no longer listed are removed; labels from
    other sources are untouched. Labels are found or created by slug.
    Raises: UnknownChain, InvalidAddress, or InvalidParameter for an unknown type (``whales.errors``;
    nothing written).
    """
    address = normalize_address(chain, address)
    chain = Chain(chain).value
    if type and type not in WhaleType.values:
        raise InvalidParameter(f"unknown type {type!r} (expected one of {', '.join(WhaleType.values)})")
    with transaction.atomic():
        whale, created = Whale.objects.select_for_update().get_or_create(chain=chain, address=address)
        before = (whale.name, whale.entity_id, whale.type, whale.type_is_manual, whale.notes)
        if name:
            whale.name = name[:200]
        if entity_name:
            whale.entity = _entity_for_name(entity_name, source=label_source or "analyst")
        if type:
            whale.type, whale.type_is_manual = type, True
        if notes:
            whale.notes = notes
        changed = (whale.name, whale.entity_id, whale.type, whale.type_is_manual, whale.notes) != before
        if changed:
            whale.save()
        if labels is not None:
            changed = _whale_labels_sync(whale, labels, source=label_source, added_by=added_by) or changed
    return whale, created, changed and not created


def _whale_labels_sync(whale: Whale, labels: Sequence[LabelEvidence], *, source: str,
                       added_by: User | None) -> bool:
    wanted: dict[str, LabelEvidence] = {}
    for evidence in labels:
        wanted.setdefault(evidence.slug, evidence)
    label_ids, _ = _labels_ensure({slug: evidence.name for slug, evidence in wanted.items()})
    current = dict(WhaleLabel.objects.filter(whale=whale, source=source).values_list("label__slug", "id"))
    stale = [link_id for slug, link_id in current.items() if slug not in wanted]
    if stale:  # the file no longer lists them: removed, with their trail
        links = list(WhaleLabel.objects.select_related("label").filter(id__in=stale))
        label_removals_record(links=links, removed_by=added_by, reason=f"no longer listed by {source}")
    new_links = [
        WhaleLabel(whale=whale, label_id=label_ids[slug], source=source, evidence_url=evidence.evidence_url,
                   confidence=evidence.confidence, added_by=added_by)
        for slug, evidence in wanted.items() if slug not in current
    ]
    WhaleLabel.objects.bulk_create(new_links)
    return bool(stale or new_links)


def _row_value(values: Mapping[str, Any], key: str) -> str | None:
    value = values.get(key)
    return None if value is None else str(value).strip()


def whales_import_rows(*, rows: Iterable[RawWhaleRow], source: str, file: str = "") -> WhalesImportResult:
    """Validate and store analysts' whale rows; return counts and the rejected rows.

    Shape: each row needs ``chain`` and ``address``; optional ``entity``, ``labels`` (list, or a string
    separated by ';' or '|'), ``type`` (holder, trader, holder_trader, unclassified), ``notes``,
    ``name``. Each row is written by ``whale_upsert`` with label provenance ``source`` (e.g.
    ``analyst-import:whales.csv``), confidence high. A bad row (missing column, unknown chain, bad
    address, unknown type) is reported as BadRow(file, "line N", reason) and skipped; the others are
    written, each in its own transaction. Idempotent: re-importing a file changes nothing.
    """
    result = WhalesImportResult()
    for row in rows:
        values = row.values
        ref = f"line {row.line}"
        missing = [column for column in REQUIRED_COLUMNS if not _row_value(values, column)]
        if missing:
            result.bad_rows.append(BadRow(file=file, ref=ref, reason=f"missing column {', '.join(missing)}"))
            continue
        chain = _row_value(values, "chain") or ""
        if chain.lower() not in Chain.values:
            result.bad_rows.append(BadRow(file=file, ref=ref, reason=f"unknown chain {chain!r}"))
            continue
        type_ = (_row_value(values, "type") or "").lower()
        labels = None
        if "labels" in values:
            labels = [LabelEvidence(slug=slugify(text)[:100], name=text, source=source)
                      for text in _split_labels(values.get("labels")) if slugify(text)]
        try:
            _, created, changed = whale_upsert(
                chain=chain.lower(), address=_row_value(values, "address") or "", name=_row_value(values, "name"),
                entity_name=_row_value(values, "entity"), type=type_ or None, notes=_row_value(values, "notes"),
                labels=labels, label_source=source,
            )
        except ApplicationError as exc:  # unknown chain or type, invalid address: this row only
            result.bad_rows.append(BadRow(file=file, ref=ref, reason=str(exc)))
            continue
        if created:
            result.created += 1
        elif changed:
            result.updated += 1
        else:
            result.unchanged += 1
    return result


# --- admin actions -------------------------------------------------------------------------------------


# --- analysts' whale files, written back -------------------------------------------------------------------


def _label_text(slug: str, name: str) -> str:
    """What a whale file says for one label: its name when ``whales_import_rows`` turns that name back into the
    same slug (so the name survives too), else the slug itself."""
    return name if name and slugify(name)[:100] == slug and not set(name) & {";", "|"} else slug


def whale_file_rows(*, whales: Iterable[Whale], label_source: str | None = None) -> list[dict[str, Any]]:
    """The rows of an analysts' whale file (``WHALE_FILE_COLUMNS``) that ``whales_import_rows`` turns back into
    ``whales``: ``import_whales`` of the written file is the identity on what it holds.

    Shape: one row per whale, sorted by (chain, address): ``entity`` = its entity's name (the importer finds the
    entity by slugify(name) or by name); ``labels`` = its label texts (``_label_text``) sorted by slug, each once,
    from every source or only ``label_source``; ``type`` only when an analyst set it (``type_is_manual``: the
    importer marks any given type manual, so a classifier's type is left out); ``notes`` and ``name`` as stored.
    Provenance is not part of the format: the importer records ``analyst-import:<file name>`` as the source.
    """
    rows = []
    for whale in sorted(whales, key=lambda w: (w.chain, w.address)):
        links = [link for link in whale.whale_labels.all() if label_source is None or link.source == label_source]
        labels = {link.label.slug: _label_text(link.label.slug, link.label.name) for link in links}
        rows.append({
            "chain": whale.chain, "address": whale.address, "entity": whale.entity.name if whale.entity else "",
            "labels": [labels[slug] for slug in sorted(labels)], "type": whale.type if whale.type_is_manual else "",
            "notes": whale.notes, "name": whale.name,
        })
    return rows


def whale_file_render(*, rows: Sequence[Mapping[str, Any]], fmt: str) -> str:
    """``rows`` (``whale_file_rows``) as the text of the file ``whale_file_read`` reads: ``fmt`` ``csv`` (header row,
    labels joined by ';', ``\n`` line ends) or ``yaml`` (a list of mappings, labels a list, keys in
    ``WHALE_FILE_COLUMNS`` order). The same rows always give the same text.
    Raises: ValueError for another ``fmt``."""
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(WHALE_FILE_COLUMNS)
        for row in rows:
            writer.writerow([";".join(row[c]) if c == "labels" else row[c] for c in WHALE_FILE_COLUMNS])
        return buffer.getvalue()
    if fmt == "yaml":
        items = [{c: row[c] for c in WHALE_FILE_COLUMNS} for row in rows]
        return yaml.safe_dump(items, sort_keys=False, allow_unicode=True, width=1000)
    raise ValueError(f"unknown whale file format {fmt!r}")


def whale_file_write(*, path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write ``rows`` (``whale_file_rows``) to ``path`` as ``whale_file_render`` renders them, by extension
    (``.csv``, ``.yaml``/``.yml``), UTF-8.
    Raises: WhaleFileUnreadable for an unknown extension; OSError when the file cannot be written."""
    suffix = path.suffix.lower()
    formats = {".csv": "csv", ".yaml": "yaml", ".yml": "yaml"}
    if suffix not in formats:
        raise WhaleFileUnreadable(f"{path}: unknown file type {suffix!r} (expected .csv, .yaml or .yml)")
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(whale_file_render(rows=rows, fmt=formats[suffix]))
