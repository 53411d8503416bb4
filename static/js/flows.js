// Smart-money flows page: every token of the newest collection with its net flow over 1h, 24h, 7d and 30d, the
// chosen window's buyers, sellers and top wallets (GET /api/v1/glass/smart-money-flows/latest, cached), and a
// Chart.js chart of one token's net flow per collection over time (GET /api/v1/glass/smart-money-flows).
import { apiFetch, axisTick, el, formatDecimal } from "./format.js";

const root = document.getElementById("flows");
const windowSelect = document.getElementById("flows-window");
const body = document.querySelector("#flows-tokens tbody");
const collected = document.getElementById("flows-collected");
const tokenSelect = document.getElementById("flow-token");
const chartWindow = document.getElementById("flow-chart-window");
const daysSelect = document.getElementById("flow-days");
const canvas = document.getElementById("flow-chart");
const empty = document.getElementById("flow-chart-empty");
const WINDOWS = ["1h", "24h", "7d", "30d"];
let chart = null;
let latestTable = 0;
let latestChart = 0;

const minute = (iso) => iso.slice(0, 16).replace("T", " ");
const walletUrl = (w) => `/wallets/${encodeURIComponent(w.chain)}/${encodeURIComponent(w.address)}/`;
const signClass = (value) => (value === null || value === undefined ? "" : String(value).startsWith("-") ? "neg" : "pos");

function wallets(list, kind) {
  if (!list.length) return el("td", { class: kind }, "—");
  return el("td", { class: kind }, ...list.map((w) => el("div", { class: "flow-wallet" },
    el("a", { href: walletUrl(w) }, w.name || `${w.address.slice(0, 10)}…`), " ",
    el("span", { class: `num ${signClass(w.net_usd)}` }, formatDecimal(w.net_usd, 2)))));
}

function row(item, window) {
  const flow = item.windows[window];
  const nets = WINDOWS.map((w) => {
    const f = item.windows[w];
    return el("td", { class: `num net ${f ? signClass(f.net_flow_usd) : ""}`, "data-window": w },
      f ? formatDecimal(f.net_flow_usd, 2) : "—");
  });
  const dash = (value) => el("td", { class: "num" }, value === undefined ? "—" : value);
  return el("tr", { "data-token": item.token },
    el("td", {}, el("a", { href: `/tokens/${encodeURIComponent(item.token)}/`, class: "token" }, item.token)),
    ...nets,
    dash(flow ? formatDecimal(flow.bought_usd, 2) : undefined),
    dash(flow ? formatDecimal(flow.sold_usd, 2) : undefined),
    el("td", { class: "num buyers" }, flow ? String(flow.buying_wallets) : "—"),
    el("td", { class: "num sellers" }, flow ? String(flow.selling_wallets) : "—"),
    wallets(flow ? flow.top_buyers : [], "top-buyers"),
    wallets(flow ? flow.top_sellers : [], "top-sellers"),
    el("td", {}, el("button", { type: "button", class: "show-chart", "data-token": item.token }, "chart")));
}

async function loadTable() {
  const request = ++latestTable;
  const window = windowSelect.value;
  root.dataset.loading = "true";
  try {
    const overview = await apiFetch(`/api/v1/glass/smart-money-flows/latest?window=${encodeURIComponent(window)}&limit=100`);
    if (request !== latestTable) return;
    body.replaceChildren(...(overview.tokens.length ? overview.tokens.map((item) => row(item, window))
      : [el("tr", { class: "empty" }, el("td", { colspan: "12" }, "No smart-money flows collected yet."))]));
    collected.textContent = overview.collected_at
      ? `Collected ${minute(overview.collected_at)} UTC; smart money = score ≥ ${overview.min_score}; ${overview.total} token${overview.total === 1 ? "" : "s"}, sorted by ${window} net flow.`
      : "No flow collection yet.";
    document.getElementById("flows-json").href = `/api/v1/glass/smart-money-flows/latest?window=${encodeURIComponent(window)}`;
    const current = tokenSelect.value || root.dataset.token;
    tokenSelect.replaceChildren(...overview.tokens.map((item) => el("option", { value: item.token }, item.token)));
    const tokens = overview.tokens.map((item) => item.token);
    if (tokens.length) tokenSelect.value = tokens.includes(current) ? current : tokens[0];
    root.dataset.window = window;
  } catch (error) {
    if (request !== latestTable) return;
    collected.textContent = `Could not load: ${error.message}`;
  } finally {
    if (request === latestTable) root.dataset.loading = "false";
  }
  await loadChart();
}

/** Chart.js datasets of one token's collections (``GET glass/smart-money-flows``), x in ms since the epoch. */
export function datasets(points) {
  const at = (p) => Date.parse(p.collected_at);
  return [
    { label: "Net flow (USD)", type: "line", yAxisID: "y", borderColor: "#1f6feb", backgroundColor: "#1f6feb22",
      fill: true, pointRadius: points.length > 60 ? 0 : 2, tension: 0.1,
      data: points.map((p) => ({ x: at(p), y: Number(p.net_flow_usd), label: `net ${formatDecimal(p.net_flow_usd, 2)} USD` })) },
    { label: "Buyers", type: "line", yAxisID: "wallets", borderColor: "#1a7f37", stepped: true, pointRadius: 0,
      data: points.map((p) => ({ x: at(p), y: p.buying_wallets, label: `${p.buying_wallets} buying` })) },
    { label: "Sellers", type: "line", yAxisID: "wallets", borderColor: "#cf222e", stepped: true, pointRadius: 0,
      data: points.map((p) => ({ x: at(p), y: p.selling_wallets, label: `${p.selling_wallets} selling` })) },
  ];
}

async function loadChart() {
  const token = tokenSelect.value;
  const request = ++latestChart;
  canvas.dataset.loading = "true";
  let points = [];
  if (token) {
    try {
      const query = `token=${encodeURIComponent(token)}&window=${encodeURIComponent(chartWindow.value)}&days=${daysSelect.value}`;
      points = (await apiFetch(`/api/v1/glass/smart-money-flows?${query}`)).points;
    } catch (error) {
      if (request !== latestChart) return;
      empty.textContent = `Could not load: ${error.message}`;
    }
  }
  if (request !== latestChart) return;
  const sets = datasets(points);
  canvas.dataset.token = token;
  canvas.dataset.window = chartWindow.value;
  canvas.dataset.series = sets.map((set) => `${set.label}:${set.data.length}`).join(",");
  empty.hidden = points.length > 0;
  canvas.hidden = points.length === 0;
  if (chart) chart.destroy();
  chart = null;
  if (points.length && typeof window.Chart !== "undefined") {
    chart = new window.Chart(canvas, {
      data: { datasets: sets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        plugins: { tooltip: { callbacks: { label: (ctx) => ctx.raw.label } } },
        scales: {
          x: { type: "linear", ticks: { maxTicksLimit: 8, callback: (v) => new Date(v).toISOString().slice(5, 16).replace("T", " ") } },
          y: { position: "left", ticks: { callback: axisTick } },
          wallets: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, ticks: { precision: 0 } },
        },
      },
    });
  }
  canvas.dataset.loading = "false";
}

windowSelect.addEventListener("change", loadTable);
for (const select of [tokenSelect, chartWindow, daysSelect]) select.addEventListener("change", loadChart);
body.addEventListener("click", (event) => {
  const button = event.target.closest("button.show-chart");
  if (!button) return;
  tokenSelect.value = button.dataset.token;
  loadChart();
  document.getElementById("flow-chart-title").scrollIntoView();
});
loadTable();
