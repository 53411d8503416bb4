// Smart-money leaderboard: reads the cached GET /api/v1/smart-money/wallets with the form's filters and pages
// through it; every row links to its wallet page and its most traded tokens' pages. The filters stay in the
// page's query string (same names as the API's), so a filtered leaderboard can be linked.
import { apiFetch, choiceLabels, el, formatDecimal } from "./format.js";

const root = document.getElementById("smart-money");
const form = document.getElementById("sm-filters");
const body = document.querySelector("#sm-wallets tbody");
const count = document.getElementById("sm-count");
const prev = document.getElementById("sm-prev");
const next = document.getElementById("sm-next");
const json = document.getElementById("sm-json");
const pageSize = Number(root.dataset.pageSize);
const labels = choiceLabels();
const COMPONENTS = ["roi", "win_rate", "realized_pnl", "consistency"];
let offset = Number(new URLSearchParams(window.location.search).get("offset") || 0);
let latest = 0;

/** The form's non-empty filters as API query parameters. */
function filters() {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData(form)) if (String(value).trim() !== "") params.set(name, String(value).trim());
  return params;
}

const walletUrl = (item) => `/wallets/${encodeURIComponent(item.chain)}/${encodeURIComponent(item.address)}/`;

function componentCell(item, name) {
  const part = item.breakdown.find((row) => row.name === name);
  if (!part) return el("td", { class: "num" }, "—");
  return el("td", {
    class: "num", "data-component": name,
    title: `input ${part.input === null ? "none" : part.input}, normalized ${part.normalized}, weight ${part.weight}`,
  }, el("span", { class: "points" }, part.points), " ", el("span", { class: "muted weight" }, `×${part.weight}`));
}

function row(item, rank) {
  const labelTags = item.labels.map((slug) => el("a", { class: "tag", href: `?label=${encodeURIComponent(slug)}` }, slug));
  const tokens = item.top_tokens.map((t) => el("a", {
    class: "tag token", href: `/tokens/${encodeURIComponent(t.token)}/`,
    title: `volume ${formatDecimal(t.volume_usd, 2)} USD, net ${formatDecimal(t.net_usd, 2)} USD`,
  }, t.token));
  return el("tr", { "data-whale-id": String(item.id) },
    el("td", { class: "num" }, String(rank)),
    el("td", {}, el("a", { href: walletUrl(item), class: "wallet" }, item.name || item.address),
      el("div", { class: "muted mono", title: item.address },
        item.address.length > 14 ? `${item.address.slice(0, 8)}…${item.address.slice(-4)}` : item.address)),
    el("td", { class: "chain" }, labels.chains[item.chain] || item.chain),
    el("td", { class: "labels" }, ...(labelTags.length ? labelTags : ["—"])),
    el("td", { class: "num score" }, el("strong", {}, item.score)),
    el("td", {}, el("span", { class: `tag confidence ${item.confidence}` }, item.confidence)),
    ...COMPONENTS.map((name) => componentCell(item, name)),
    el("td", { class: "num roi" }, formatDecimal(item.roi_percent, 2)),
    el("td", { class: "num win-rate" }, formatDecimal(item.win_rate_percent, 1)),
    el("td", { class: "num pnl" }, formatDecimal(item.realized_pnl_usd, 2)),
    el("td", { class: "num volume" }, formatDecimal(item.volume_30d_usd, 2)),
    el("td", { class: "tokens" }, ...(tokens.length ? tokens.flatMap((t, i) => (i ? [" ", t] : [t])) : ["—"])));
}

async function load() {
  const request = ++latest;
  const params = filters();
  const query = params.toString();  // what this answer is for (the form may have changed before it arrives)
  params.set("limit", String(pageSize));
  params.set("offset", String(offset));
  root.dataset.loading = "true";
  try {
    const page = await apiFetch(`/api/v1/smart-money/wallets?${params}`);
    if (request !== latest) return;
    body.replaceChildren(...page.items.map((item, i) => row(item, offset + i + 1)));
    count.textContent = page.total
      ? `${offset + 1}–${offset + page.items.length} of ${page.total} scored wallet${page.total === 1 ? "" : "s"}`
      : "No scored wallet matches.";
    prev.hidden = offset === 0;
    next.hidden = offset + page.items.length >= page.total;
    json.href = `/api/v1/smart-money/wallets?${params}`;
    root.dataset.total = String(page.total);
    root.dataset.query = query;
  } catch (error) {
    if (request !== latest) return;
    body.replaceChildren();
    count.textContent = `Could not load: ${error.message}`;
  } finally {
    if (request === latest) root.dataset.loading = "false";
  }
}

function go(newOffset) {
  offset = Math.max(0, newOffset);
  const query = filters();
  if (offset) query.set("offset", String(offset));
  window.history.replaceState(null, "", query.toString() ? `?${query}` : window.location.pathname);
  load();
}

form.addEventListener("submit", (event) => { event.preventDefault(); go(0); });
form.addEventListener("change", () => go(0));
prev.addEventListener("click", () => go(offset - pageSize));
next.addEventListener("click", () => go(offset + pageSize));
load();
