// Live feed page: the full feed with filter controls. The filter goes to the server ({"action": "filter"})
// and is applied here too (to the backfill and to the reloaded list), with the same rules.
import { eventMatches, feedPanel } from "./feed.js";
import { apiFetch } from "./format.js";

const RELOAD_LIMIT = 100;
const panel = document.getElementById("feed-panel");
const form = document.getElementById("feed-filters");
const note = document.getElementById("feed-filter-note");
let current = null;  // null = everything
const walletsNode = document.getElementById("watchlist-wallets");
const watchlistWallets = walletsNode ? JSON.parse(walletsNode.textContent) : {};  // list id -> ["chain:address"]

function readFilter() {
  const checked = (name) => [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((input) => input.value);
  const chains = checked("chains");
  const eventTypes = checked("event_types");
  const min = form.elements.min_value_usd.value.trim();
  const options = [...form.elements.whales.selectedOptions];
  const watchlist = form.elements.watchlist ? form.elements.watchlist.value : "";
  const filter = {
    chains: chains.length ? chains : null,
    event_types: eventTypes.length ? eventTypes : null,
    min_value_usd: min === "" ? null : min,
    whales: options.length ? options.map((option) => Number(option.value)) : null,
    whaleKeys: options.length ? new Set(options.map((o) => `${o.dataset.chain}:${o.dataset.address}`)) : null,
    watchlist: watchlist === "" ? null : Number(watchlist),
    watchlistKeys: watchlist === "" ? null : new Set(watchlistWallets[watchlist] || []),
  };
  const any = filter.chains || filter.event_types || filter.min_value_usd !== null || filter.whales || filter.watchlist;
  return any ? filter : null;
}

function wireFilter(filter) {
  // Sent after every (re)connect; all fields, so a cleared filter widens the server's one too.
  if (!filter) return { chains: null, event_types: null, min_value_usd: null, whales: null, watchlist: null };
  const { whaleKeys, watchlistKeys, ...wire } = filter;  // eslint-disable-line no-unused-vars
  return wire;
}

function describe(filter) {
  if (!filter) return "All events.";
  const parts = [];
  if (filter.chains) parts.push(`chains: ${filter.chains.join(", ")}`);
  if (filter.event_types) parts.push(`types: ${filter.event_types.join(", ")}`);
  if (filter.min_value_usd !== null) parts.push(`value ≥ ${filter.min_value_usd} USD`);
  if (filter.whales) parts.push(`${filter.whales.length} whale(s)`);
  if (filter.watchlist) {
    const option = form.elements.watchlist.selectedOptions[0];
    parts.push(`watchlist: ${option ? option.textContent : filter.watchlist}`);
  }
  return `Showing ${parts.join("; ")}.`;
}

const { feed, table } = feedPanel(panel, {
  filter: () => wireFilter(current),
  accept: (event) => eventMatches(current, event),
});

/** After a filter change: the newest matching events from the API, then live frames on top. */
async function reload() {
  const params = new URLSearchParams({ limit: String(RELOAD_LIMIT) });
  // The API filters one chain / one type; several are filtered here.
  if (current?.chains?.length === 1) params.set("chain", current.chains[0]);
  if (current?.event_types?.length === 1) params.set("type", current.event_types[0]);
  if (current?.min_value_usd !== null && current?.min_value_usd !== undefined) params.set("min_value_usd", current.min_value_usd);
  if (current?.watchlist) params.set("watchlist", String(current.watchlist));
  table.clear();
  feed.seen.clear();
  try {
    const page = await apiFetch(`/api/v1/events/recent?${params}`);
    const items = (page.items || []).filter((event) => !feed.seen.has(Number(event.id)));
    feed.markSeen(items.map((event) => event.id));
    table.append(items.filter((event) => eventMatches(current, event)));
  } catch (error) {
    note.textContent = `Could not load events: ${error.message}`;
  }
}

function apply() {
  current = readFilter();
  note.textContent = describe(current);
  feed.sendFilter();
  reload();
}

form.addEventListener("submit", (event) => { event.preventDefault(); apply(); });
document.getElementById("feed-filter-apply").addEventListener("click", apply);
document.getElementById("feed-filter-clear").addEventListener("click", () => { form.reset(); apply(); });

feed.start();
window.whaletrackFeed = feed;  // for debugging and browser tests
