// The live whale feed: /ws/events/ with reconnect and backfill, and the table that shows it.
//
// Guarantees (DESIGN.md section 8): after every (re)connect the client backfills with
// GET /api/v1/events/recent?since_id=<largest id seen>&limit=100, paging on with the last id of each
// page until a page has fewer than `limit` items; live frames that arrive meanwhile are kept. Every
// event passes through one de-duplication set keyed by id, so an event that comes both from the
// backfill and from the socket (or twice from either) is shown once.
import { apiFetch, backoffDelay, choiceLabels, el, formatDecimal, formatLatency, formatTime, socketUrl } from "./format.js";

const BACKFILL_LIMIT = 100;

export class LiveFeed {
  /**
   * @param {object} options
   * @param {number} options.sinceId largest event id the page already covers (server-rendered)
   * @param {(events: object[], origin: "live"|"backfill") => void} options.onEvents new (never seen) events
   * @param {(state: string, detail?: string) => void} options.onState "connecting" | "open" | "reconnecting"
   * @param {() => object|null} [options.filter] the filter message fields to send after each open
   */
  constructor({ sinceId = 0, onEvents, onState, filter = () => null, path = "/ws/events/",
                backfillPath = "/api/v1/events/recent", minDelayMs = 500, maxDelayMs = 15_000 }) {
    this.maxId = Number(sinceId) || 0;
    this.seen = new Set();
    this.onEvents = onEvents;
    this.onState = onState;
    this.filter = filter;
    this.path = path;
    this.backfillPath = backfillPath;
    this.minDelayMs = minDelayMs;
    this.maxDelayMs = maxDelayMs;
    this.attempt = 0;
    this.socket = null;
    this.generation = 0;
    this.reconnects = 0;
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    this._connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close(1000);
  }

  /** Mark ids already on the page (server-rendered rows) so they are never shown twice. */
  markSeen(ids) {
    for (const id of ids) {
      this.seen.add(Number(id));
      this.maxId = Math.max(this.maxId, Number(id));
    }
  }

  /** Send the current filter to the server (if connected). */
  sendFilter() {
    const filter = this.filter();
    if (filter && this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ action: "filter", ...filter }));
    }
  }

  _setState(state, detail) {
    this.state = state;
    this.onState(state, detail);
  }

  _connect() {
    if (this.stopped) return;
    const generation = ++this.generation;
    this._setState(this.reconnects === 0 ? "connecting" : "reconnecting");
    let socket;
    try {
      socket = new WebSocket(socketUrl(this.path));
    } catch (error) {
      this._scheduleReconnect(String(error));
      return;
    }
    this.socket = socket;
    socket.addEventListener("open", () => {
      if (generation !== this.generation) return;
      this.sendFilter();
      this._backfill(generation).then(
        () => {
          if (generation !== this.generation) return;
          this.attempt = 0;  // only a connection that also backfilled counts as healthy
          this._setState("open");
        },
        (error) => {
          // The gap cannot be closed without the backfill: drop this socket and try again.
          if (generation === this.generation && socket.readyState === WebSocket.OPEN) socket.close(4001, "backfill failed");
          console.warn("whaletrack feed: backfill failed", error);
        },
      );
    });
    socket.addEventListener("message", (message) => {
      let frame;
      try { frame = JSON.parse(message.data); } catch { return; }
      if (frame.type === "event" && frame.event) this._accept([frame.event], "live");
      else if (frame.type === "error") console.warn("whaletrack feed:", frame.code, frame.detail);
    });
    socket.addEventListener("close", (event) => {
      if (generation !== this.generation) return;
      this.socket = null;
      this._scheduleReconnect(`closed (${event.code})`);
    });
  }

  _scheduleReconnect(detail) {
    if (this.stopped) return;
    const delay = backoffDelay(this.attempt, this.minDelayMs, this.maxDelayMs);
    this.attempt += 1;
    this.reconnects += 1;
    this._setState("reconnecting", `${detail}; retrying in ${(delay / 1000).toFixed(1)} s`);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this._connect(), delay);
  }

  /** Page through events/recent?since_id= from the largest id seen when the socket opened. */
  async _backfill(generation) {
    let since = this.maxId;
    for (;;) {
      const page = await apiFetch(`${this.backfillPath}?since_id=${since}&limit=${BACKFILL_LIMIT}`);
      if (generation !== this.generation) return;  // a newer connection runs its own backfill
      const items = page.items || [];
      this._accept(items, "backfill");
      if (items.length < BACKFILL_LIMIT) return;
      since = Math.max(...items.map((item) => item.id));  // ascending ids: page on from the last one
    }
  }

  _accept(events, origin) {
    const fresh = [];
    for (const event of events) {
      const id = Number(event.id);
      if (!Number.isFinite(id) || this.seen.has(id)) continue;
      this.seen.add(id);
      this.maxId = Math.max(this.maxId, id);
      fresh.push(event);
    }
    if (fresh.length) this.onEvents(fresh, origin);
  }
}

/** Client-side copy of the server's filter (alerts.consumers.EventFilter.matches), applied to backfilled
 * events and to rows already on the page. `whaleKeys` = Set of "chain:address". */
export function eventMatches(filter, event) {
  if (!filter) return true;
  if (filter.chains && !filter.chains.includes(event.chain)) return false;
  if (filter.event_types && !filter.event_types.includes(event.type)) return false;
  if (event.type === "reorg_retraction") return true;
  if (filter.min_value_usd !== null && filter.min_value_usd !== undefined) {
    if (event.value_usd === null || event.value_usd === undefined) return false;
    if (Number(event.value_usd) < Number(filter.min_value_usd)) return false;
  }
  if (filter.whaleKeys) {
    if (!event.whale || !filter.whaleKeys.has(`${event.whale.chain}:${event.whale.address}`)) return false;
  }
  if (filter.watchlistKeys) {
    if (!event.whale || !filter.watchlistKeys.has(`${event.whale.chain}:${event.whale.address}`)) return false;
  }
  return true;
}

/** The feed table: one <tr data-event-id> per event, newest arrival first, at most `maxRows`. */
export class FeedTable {
  constructor(tbody, { maxRows = 500, emptyNode = null } = {}) {
    this.tbody = tbody;
    this.maxRows = maxRows;
    this.emptyNode = emptyNode;
    this.labels = choiceLabels();
  }

  ids() {
    return [...this.tbody.querySelectorAll("tr[data-event-id]")].map((row) => Number(row.dataset.eventId));
  }

  clear() {
    this.tbody.replaceChildren();
  }

  /** Insert `events` (in arrival order) at the top; each new row gets the "new" class briefly. A reorg
   * retraction also marks the rows of the transactions it withdrew (details.trades[].tx_hash, same chain). */
  prepend(events, { highlight = true } = {}) {
    for (const event of events) {
      if (this.tbody.querySelector(`tr[data-event-id="${Number(event.id)}"]`)) continue;
      const row = this.row(event);
      if (highlight) row.classList.add("new");
      this.tbody.prepend(row);
      if (event.type === "reorg_retraction") this.withdraw(event);
    }
    this.trim();
    if (this.emptyNode) this.emptyNode.hidden = this.tbody.rows.length > 0;
  }

  /** Append `events` (already newest first) at the bottom. */
  append(events) {
    for (const event of events) {
      if (!this.tbody.querySelector(`tr[data-event-id="${Number(event.id)}"]`)) this.tbody.append(this.row(event));
    }
    this.trim();
    if (this.emptyNode) this.emptyNode.hidden = this.tbody.rows.length > 0;
  }

  /** Mark the rows of the events a retraction withdrew: struck through, with the orphaned block named. */
  withdraw(retraction) {
    const hashes = new Set(((retraction.details || {}).trades || []).map((trade) => trade.tx_hash));
    for (const row of this.tbody.querySelectorAll("tr[data-tx-hash]")) {
      if (row.dataset.chain !== retraction.chain || !hashes.has(row.dataset.txHash)) continue;
      if (row.dataset.type === "reorg_retraction") continue;
      row.classList.add("withdrawn");
      row.title = `withdrawn: block ${retraction.block_number} was orphaned by a reorg`;
    }
  }

  trim() {
    while (this.tbody.rows.length > this.maxRows) this.tbody.lastElementChild.remove();
  }

  row(event) {
    const whale = event.whale;
    const whaleCell = whale
      ? el("a", { href: `/wallets/${encodeURIComponent(whale.chain)}/${encodeURIComponent(whale.address)}/` },
        whale.name || `${whale.chain}:${whale.address}`)
      : "—";
    const summary = el("td", {}, event.summary || "");
    if (event.external_url) {
      summary.append(" ", el("a", { class: "ext", href: event.external_url, rel: "noopener noreferrer" }, "tx"));
    }
    return el("tr", {
      dataset: {
        eventId: String(event.id), chain: event.chain, type: event.type, txHash: event.tx_hash || "",
        valueUsd: event.value_usd ?? "", whaleKey: whale ? `${whale.chain}:${whale.address}` : "",
      },
    },
    el("td", { class: "time" }, formatTime(event.block_time)),
    el("td", {}, this.labels.chains[event.chain] || event.chain),
    el("td", {}, el("span", { class: event.type === "reorg_retraction" ? "tag neg" : "tag" },
      this.labels.event_types[event.type] || event.type)),
    el("td", {}, whaleCell),
    summary,
    el("td", { class: "num" }, event.value_usd === null || event.value_usd === undefined ? "—" : formatDecimal(event.value_usd, 2)),
    el("td", {
      class: "num muted latency",
      title: event.published_at ? `observed ${event.observed_at}, published ${event.published_at}` : "",
    }, formatLatency(event.detection_latency_ms ?? latencyOf(event))));
  }
}

/** observed_at - block_time in ms (what the live payload calls detection_latency_ms); null if unknown or negative. */
function latencyOf(event) {
  const ms = Date.parse(event.observed_at) - Date.parse(event.block_time);
  return Number.isFinite(ms) && ms >= 0 ? Math.round(ms) : null;
}

/** Show the connection state: data-state on the status element (tests wait on it) and a short text. */
export function showState(node, state, detail) {
  if (!node) return;
  node.dataset.state = state;
  const text = { connecting: "connecting…", open: "live", reconnecting: "reconnecting…" }[state] || state;
  node.textContent = text;
  node.title = detail || "";
}

/** Wire a feed panel (dashboard or live page): server-rendered rows + LiveFeed. Returns {feed, table}. */
export function feedPanel(panel, { filter = () => null, accept = () => true } = {}) {
  const table = new FeedTable(panel.querySelector("#feed-rows"), {
    maxRows: Number(panel.dataset.maxRows) || 500, emptyNode: panel.querySelector("#feed-empty"),
  });
  const status = panel.querySelector("#feed-status");
  const feed = new LiveFeed({
    sinceId: Number(panel.dataset.sinceId) || 0,
    filter,
    onState: (state, detail) => showState(status, state, detail),
    onEvents: (events) => table.prepend(events.filter(accept)),
  });
  feed.markSeen(table.ids());
  return { feed, table };
}
