// Token page: the coin's price (line, left axis), whale moves (circles) and catalysts (triangles) placed at the
// price of their moment, and the daily mood (line, right axis, -1..1), on one linear time axis (ms since the
// epoch; no date adapter needed). First paint from the embedded JSON; the window select asks the API again.
import { apiFetch, axisTick, el, formatDecimal } from "./format.js";

const root = document.getElementById("token");
const canvas = document.getElementById("token-chart");
const empty = document.getElementById("token-chart-empty");
const select = document.getElementById("token-days");
let chart = null;
let latest = 0;

const ms = (iso) => Date.parse(iso);
const day = (t) => new Date(t).toISOString().slice(0, 10);
const minute = (iso) => iso.slice(0, 16).replace("T", " ");

/** The price at time t: the last price at or before it (else the first), as a float for plotting. */
function priceAt(prices, t) {
  let found = prices.length ? prices[0] : null;
  for (const point of prices) {
    if (point.t > t) break;
    found = point;
  }
  return found ? found.y : null;
}

/** Chart.js datasets of one token overview (``GET /api/v1/tokens/{symbol}``). */
export function datasets(token) {
  const prices = token.prices.map((p) => ({ t: ms(p.at), y: Number(p.price_usd), exact: p.price_usd }));
  const events = token.events.map((e) => {
    const t = ms(e.block_time);
    return { x: t, y: priceAt(prices, t) ?? 0, label: `${e.summary}${e.value_usd ? ` ($${formatDecimal(e.value_usd, 0)})` : ""}` };
  });
  const catalysts = token.catalysts.map((c) => {
    const t = ms(c.occurred_at);
    return { x: t, y: priceAt(prices, t) ?? 0, label: `${c.type}: ${c.title} (impact ${c.impact_score})` };
  });
  const mood = token.sentiment.daily.map((d) => ({
    x: ms(`${d.day}T12:00:00Z`), y: Number(d.weighted_compound), label: `mood ${d.weighted_compound} (${d.posts} posts)`,
  }));
  return [
    { label: "Price (USD)", type: "line", data: prices.map((p) => ({ x: p.t, y: p.y, label: `$${formatDecimal(p.exact, 2)}` })),
      yAxisID: "y", borderColor: "#1f6feb", backgroundColor: "#1f6feb22", pointRadius: 0, tension: 0.1 },
    { label: "Whale moves", type: "scatter", data: events, yAxisID: "y", backgroundColor: "#cf222e", pointRadius: 5 },
    { label: "Catalysts", type: "scatter", data: catalysts, yAxisID: "y", backgroundColor: "#9a6700",
      pointStyle: "triangle", pointRadius: 7 },
    { label: "Mood", type: "line", data: mood, yAxisID: "mood", borderColor: "#8250df", pointRadius: 2, tension: 0.2 },
  ];
}

function draw(token) {
  const sets = datasets(token);
  const points = sets.reduce((n, set) => n + set.data.length, 0);
  canvas.dataset.points = String(points);
  canvas.dataset.series = sets.map((set) => `${set.label}:${set.data.length}`).join(",");
  empty.hidden = points > 0;
  canvas.hidden = points === 0;
  if (chart) chart.destroy();
  chart = null;
  if (!points || typeof window.Chart === "undefined") return;
  chart = new window.Chart(canvas, {
    data: { datasets: sets },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false, parsing: true,
      plugins: { tooltip: { callbacks: { label: (ctx) => ctx.raw.label } } },
      scales: {
        x: { type: "linear", min: ms(token.since), max: ms(token.until), ticks: { maxTicksLimit: 8, callback: (v) => day(v) } },
        y: { position: "left", ticks: { callback: axisTick } },
        mood: { position: "right", min: -1, max: 1, grid: { drawOnChartArea: false } },
      },
    },
  });
}

function rows(tbodyId, items, cells, emptyText) {
  const body = document.querySelector(`#${tbodyId} tbody`);
  body.replaceChildren(...(items.length ? items.map(cells)
    : [el("tr", { class: "empty" }, el("td", { colspan: "4" }, emptyText))]));
}

function fill(token) {
  document.getElementById("token-until").textContent = minute(token.until);
  document.getElementById("token-json").href = `/api/v1/tokens/${encodeURIComponent(token.symbol)}?days=${token.days}`;
  rows("token-events", token.events, (e) => el("tr", { "data-event-id": String(e.id) },
    el("td", {}, minute(e.block_time)),
    el("td", {}, el("a", { href: `/wallets/${encodeURIComponent(e.whale.chain)}/${encodeURIComponent(e.whale.address)}/` },
      e.whale.name || e.whale.address)),
    el("td", {}, e.summary), el("td", { class: "num" }, formatDecimal(e.value_usd, 2))), "No whale moves in this window.");
  rows("token-catalysts", token.catalysts, (c) => el("tr", { "data-catalyst-id": String(c.id) },
    el("td", {}, minute(c.occurred_at)), el("td", {}, c.type),
    el("td", {}, c.url ? el("a", { href: c.url, rel: "noopener noreferrer", target: "_blank" }, c.title) : c.title),
    el("td", { class: "num" }, String(c.impact_score))), "No catalysts in this window.");
}

async function reload() {
  const request = ++latest;
  root.dataset.loading = "true";
  try {
    const token = await apiFetch(`/api/v1/tokens/${encodeURIComponent(root.dataset.symbol)}?days=${select.value}`);
    if (request !== latest) return;
    fill(token);
    draw(token);
    root.dataset.days = String(token.days);
  } catch (error) {
    if (request !== latest) return;
    empty.hidden = false;
    empty.textContent = `Could not load: ${error.message}`;
  } finally {
    if (request === latest) root.dataset.loading = "false";
  }
}

const initial = JSON.parse(document.getElementById("token-data").textContent);
draw(initial);
root.dataset.days = String(initial.days);
root.dataset.loading = "false";
select.addEventListener("change", reload);
