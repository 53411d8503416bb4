"""Alerts as people read them: the title and body sent to a destination (e-mail, Telegram, Discord, Slack, ntfy...).

``alert_facts`` gathers what a person wants to know about an alert, as display strings: the whale's name and
entity, the direction, the amount and asset in human units, the USD value, the explorer link and the catalysts
around the move (``whales.context.event_context``). ``message_render`` lays them out in one of the styles
below; ``alert_message`` picks the style of the destination's service:

- ``html`` (Telegram, whose ``parse_mode=HTML`` allows <b>, <i>, <a href>; e-mail): values are escaped.
- ``markdown`` (Discord, sent as an embed: title, description, link; Slack, sent as Block Kit blocks whose
  Markdown Apprise turns into Slack mrkdwn): names are escaped, links are ``[text](url)``.
- ``text`` (everything else, e.g. ntfy, the JSON target): plain lines, the link in full.

Units: amounts are the trade's ``amount_base`` (human units, not base units) with at most 8 decimals, trailing
zeros dropped, thousands separated; USD has 2 decimals. Times are UTC.
"""

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from alerts.models import Alert, AlertKind
from whales.chains import tx_url
from whales.context import event_context
from whales.models import EventType, Trade, WhaleEvent

Style = Literal["text", "html", "markdown"]
DIGEST_MAX_EVENTS = 10
"""Events listed in a digest message; the rest are counted ("... and 3 more")."""
MAX_CATALYSTS = 3
AMOUNT_PLACES = Decimal("0.00000001")
# Which style each Apprise scheme gets (the rest: text).
SERVICE_STYLES: dict[str, Style] = {
    "tgram": "html", "mailto": "html", "mailtos": "html",
    "discord": "markdown", "slack": "markdown",
}
# Characters that change Markdown inline (emphasis, code, links, quotes); escaped in names and summaries.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|>~<])")


@dataclass(frozen=True)
class Catalyst:
    """A catalyst near the move: its title, link and signed offset in hours (catalyst time - move time)."""

    title: str
    url: str
    offset_hours: float


@dataclass(frozen=True)
class EventFacts:
    """One event as display strings ("" when unknown)."""

    summary: str
    event_type: str
    chain: str
    whale: str
    direction: str
    amount: str
    value_usd: str
    link: str
    when: str
    catalysts: Sequence[Catalyst] = field(default_factory=tuple)
    source: bool = False
    """The link is the catalyst's own source (a filing, an announcement), not an explorer page."""
    impact: str = ""


@dataclass(frozen=True)
class AlertFacts:
    """An alert as display strings: ``rule`` its rule's name; ``events`` the event (one) or, for a digest, the
    first DIGEST_MAX_EVENTS events it covers; ``count`` how many events it covers; ``kind`` event | digest."""

    rule: str
    kind: str
    count: int
    summary: str
    events: Sequence[EventFacts]


@dataclass(frozen=True)
class Message:
    """What is sent: ``title``, ``body`` in ``style``, and ``link`` (the first event's explorer link, "" when
    none: Discord shows it as the embed's link)."""

    title: str
    body: str
    style: Style
    link: str = ""


def amount_text(amount: Decimal) -> str:
    """``amount`` with at most 8 decimals, trailing zeros dropped, thousands separated: 1234.5 -> "1,234.5"."""
    quantized = amount.quantize(AMOUNT_PLACES)
    text = f"{quantized:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def usd_text(value: Decimal) -> str:
    """USD with 2 decimals and thousands separated: 4375000 -> "$4,375,000.00"."""
    return f"${value.quantize(Decimal('0.01')):,f}"


def _label(value: str) -> str:
    return value.replace("_", " ")


def _event_trade(event: WhaleEvent) -> Trade | None:
    if event.whale_id is None or not event.tx_hash:
        return None
    return (Trade.objects.filter(chain=event.chain, tx_hash=event.tx_hash, log_index=event.log_index,
                                 whale_id=event.whale_id).order_by("pk").first())


def event_facts(event: WhaleEvent) -> EventFacts:
    """The display strings of ``event``. Source: the event, its whale and entity (select them), its ``Trade``
    (same chain, tx_hash, log_index and whale: amount, asset, direction; one query) and its catalyst context
    (``event_context``: two queries). An event without a trade takes ``details["amount"]`` / ``["asset"]`` /
    ``["direction"]`` where present. A catalyst event (a high-impact filing or announcement on the feed) links
    to its source (``details["url"]``) and shows its impact score."""
    whale = event.whale
    whale_text = ""
    if whale is not None:
        name = whale.name or f"{whale.address[:8]}…{whale.address[-6:]}"
        whale_text = f"{name} ({whale.entity.name})" if whale.entity_id and whale.entity else name
    trade = _event_trade(event)
    details = event.details or {}
    amount, asset, direction = None, "", ""
    if trade is not None:
        amount, asset, direction = trade.amount_base, trade.base_asset, trade.direction
    else:
        raw_amount = details.get("amount")
        try:
            amount = Decimal(str(raw_amount)) if raw_amount is not None else None
        except ArithmeticError:
            amount = None
        asset, direction = str(details.get("asset") or ""), str(details.get("direction") or "")
    amount_str = f"{amount_text(amount)} {asset}".strip() if amount is not None else ""
    context = event_context(event)
    is_catalyst = event.type == EventType.CATALYST
    if is_catalyst:
        link = str(details.get("url") or "")
    else:
        link = tx_url(event.chain, event.tx_hash) if event.chain else ""
    impact = f"Impact {details['impact_score']}/100" if is_catalyst and details.get("impact_score") is not None else ""
    catalysts = tuple(Catalyst(title=str(c["title"]), url=str(c["url"] or ""), offset_hours=float(c["offset_hours"]))
                      for c in context.get("catalysts", [])[:MAX_CATALYSTS])
    return EventFacts(
        summary=event.summary, event_type=_label(event.type), chain=event.chain, whale=whale_text,
        direction=_label(direction), amount=amount_str,
        value_usd=usd_text(event.value_usd) if event.value_usd is not None else "",
        link=link, when=event.block_time.strftime("%Y-%m-%d %H:%M UTC"), catalysts=catalysts, source=is_catalyst,
        impact=impact,
    )


def alert_facts(alert: Alert) -> AlertFacts:
    """The display strings of ``alert`` (select ``rule`` and ``event__whale__entity``). A digest lists the first
    DIGEST_MAX_EVENTS events it covers that still exist, oldest first."""
    if alert.kind == AlertKind.DIGEST:
        ids = list(alert.events)[:DIGEST_MAX_EVENTS]
        by_id = WhaleEvent.objects.select_related("whale__entity").in_bulk(ids)
        events = [event_facts(by_id[i]) for i in ids if i in by_id]
    else:
        events = [event_facts(alert.event)] if alert.event is not None else []
    return AlertFacts(rule=alert.rule.name, kind=alert.kind, count=len(alert.events), summary=alert.summary,
                      events=events)


def _md(value: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", value)


def _offset(hours: float) -> str:
    return f"{abs(hours):g} h {'before' if hours < 0 else 'after'}"


def _event_lines(facts: EventFacts, style: Style) -> list[str]:
    """The lines of one event: what/who, amount and value, chain and time, summary, impact (a catalyst event),
    link (explorer, or a catalyst event's source), the catalysts around it."""
    def esc(value: str) -> str:
        return html.escape(value) if style == "html" else _md(value) if style == "markdown" else value

    def bold(value: str) -> str:
        return f"<b>{value}</b>" if style == "html" else f"**{value}**" if style == "markdown" else value

    lines = []
    head = " · ".join(part for part in (facts.event_type.capitalize(), facts.direction) if part)
    lines.append(bold(esc(head)) + (f" by {esc(facts.whale)}" if facts.whale else ""))
    money = " · ".join(part for part in (facts.amount, facts.value_usd) if part)
    if money:
        lines.append(esc(money))
    lines.append(esc(f"{facts.chain or 'no chain'} · {facts.when}"))
    if facts.summary:
        lines.append(esc(facts.summary))
    if facts.impact:
        lines.append(esc(facts.impact))
    if facts.link:
        label, prefix = ("Read the source", "Source") if facts.source else ("View on explorer", "Explorer")
        lines.append(f'<a href="{html.escape(facts.link)}">{label}</a>' if style == "html"
                     else f"[{label}]({facts.link})" if style == "markdown"
                     else f"{prefix}: {facts.link}")
    for catalyst in facts.catalysts:
        text = f"{catalyst.title} ({_offset(catalyst.offset_hours)})"
        if style == "html":
            lines.append(f'Context: <a href="{html.escape(catalyst.url)}">{html.escape(text)}</a>' if catalyst.url
                         else f"Context: {html.escape(text)}")
        elif style == "markdown":
            lines.append(f"Context: [{_md(text)}]({catalyst.url})" if catalyst.url else f"Context: {_md(text)}")
        else:
            lines.append(f"Context: {text}" + (f" {catalyst.url}" if catalyst.url else ""))
    return lines


def message_render(facts: AlertFacts, *, style: Style) -> Message:
    """The message of ``facts`` in ``style``.

    Title: "Whale alert: <rule>" (an event) or "Whale alert digest: <rule> (<n> events)". Body: the event's
    lines (see ``_event_lines``); a digest's events are separated by a blank line, followed by "… and <k> more"
    when it covers more than it lists. Lines are joined with "\\n" ("<br>"-free: Telegram HTML keeps newlines).
    """
    if facts.kind == AlertKind.DIGEST:
        title = f"Whale alert digest: {facts.rule} ({facts.count} events)"
        blocks = ["\n".join(_event_lines(event, style)) for event in facts.events]
        if facts.count > len(facts.events):
            blocks.append(f"… and {facts.count - len(facts.events)} more")
        body = "\n\n".join(blocks) if blocks else facts.summary
    else:
        title = f"Whale alert: {facts.rule}"
        body = "\n".join(_event_lines(facts.events[0], style)) if facts.events else facts.summary
    link = facts.events[0].link if facts.events else ""
    return Message(title=title, body=body, style=style, link=link)


def style_for(service: str) -> Style:
    """The style of an Apprise scheme (``SERVICE_STYLES``; text for the rest)."""
    return SERVICE_STYLES.get(service, "text")


def alert_message(alert: Alert, *, service: str) -> Message:
    """``alert``'s message in the style of ``service`` (an Apprise scheme)."""
    return message_render(alert_facts(alert), style=style_for(service))


def probe_message(*, name: str, service: str) -> Message:
    """The message sent by "test" on the alerts page, in the style of ``service``."""
    style = style_for(service)
    shown = html.escape(name) if style == "html" else _md(name) if style == "markdown" else name
    return Message(title="WhaleTrack test message",
                   body=f"This destination ({shown}) will receive your whale alerts.", style=style)
