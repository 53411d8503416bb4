// Wallet page: ROI, portfolio-value and smart-money score charts (Chart.js, vendored as the global `Chart`) from
// .../roi-history, .../portfolio-history and .../score-history, and "Load more trades" through the trades API cursor.
import { apiFetch, axisTick, choiceLabels, el, formatAmount, formatDecimal, formatTime } from "./format.js";

const wallet = document.getElementById("wallet");
const base = `/api/v1/wallets/${encodeURIComponent(wallet.dataset.chain)}/${encodeURIComponent(wallet.dataset.address)}`;
const labels = choiceLabels();
const charts = {};
// The newest request per chart: an answer to an older one (a window the user has since changed) is dropped,
// whatever order the answers arrive in.
const latestRequest = {};

async function drawChart(kind, canvasId, label, color, { stepped = false, places = 2 } = {}) {
  const canvas = document.getElementById(canvasId);
  const empty = document.getElementById(`${canvasId}-empty`);
  const days = document.getElementById("history-days").value;
  const request = (latestRequest[kind] || 0) + 1;
  latestRequest[kind] = request;
  let points = [];
  try {
    points = (await apiFetch(`${base}/${kind}?days=${days}`)).points || [];
  } catch (error) {
    if (request !== latestRequest[kind]) return;
    empty.textContent = `Could not load history: ${error.message}`;
  }
  if (request !== latestRequest[kind]) return;
  canvas.dataset.points = String(points.length);
  empty.hidden = points.length > 0;
  canvas.hidden = points.length === 0;
  if (charts[kind]) charts[kind].destroy();
  if (!points.length || typeof window.Chart === "undefined") return;
  charts[kind] = new window.Chart(canvas, {
    type: "line",
    data: {
      // Daily points read as days; scores (one per scoring run that changed it) as minutes.
      labels: points.map((point) => (stepped ? point.timestamp.slice(0, 16).replace("T", " ") : point.timestamp.slice(0, 10))),
      // Chart coordinates are floats by nature; the exact strings stay in the tooltip.
      datasets: [{
        label, data: points.map((point) => (point.value === null ? null : Number(point.value))),
        exact: points.map((point) => point.value), borderColor: color, backgroundColor: `${color}22`,
        fill: true, pointRadius: points.length > 60 ? 0 : 2, tension: stepped ? 0 : 0.2, spanGaps: false, stepped,
      }],
    },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (ctx) => `${label}: ${formatDecimal(ctx.dataset.exact[ctx.dataIndex], places)}` } },
      },
      scales: { x: { ticks: { maxTicksLimit: 8 } }, y: { ticks: { callback: axisTick } } },
    },
  });
}

function drawCharts() {
  drawChart("roi-history", "roi-chart", "ROI %", "#1f6feb");
  drawChart("portfolio-history", "portfolio-chart", "Portfolio USD", "#1a7f37");
  drawChart("score-history", "score-chart", "Score", "#8250df", { stepped: true });
}

function tradeRow(trade) {
  const dash = (value, places = 2) => (value === null || value === undefined ? "—" : formatDecimal(value, places));
  const direction = el("td", {}, el("span", { class: "tag" }, labels.directions[trade.direction] || trade.direction));
  if (trade.is_internal) direction.append(" ", el("span", { class: "muted" }, "internal"));
  return el("tr", { dataset: { tradeId: String(trade.id) } },
    el("td", { class: "time" }, formatTime(trade.block_time)),
    el("td", {}, labels.trade_sources[trade.source] || trade.source),
    el("td", {}, trade.platform || "—"),
    direction,
    el("td", { class: "num" }, trade.amount_base === null ? "?" : formatAmount(trade.amount_base, 8)),
    el("td", {}, trade.quote_asset ? `${trade.base_asset}/${trade.quote_asset}` : trade.base_asset),
    el("td", { class: "num" }, trade.value_usd === null ? "unpriced" : formatDecimal(trade.value_usd, 2)),
    el("td", { class: "num" }, dash(trade.fee_usd)),
    el("td", { class: "num" }, dash(trade.pnl_usd)),
    el("td", {}, (trade.counterparty_name || trade.counterparty || "—").slice(0, 24)),
    el("td", {}, el("a", { href: trade.external_url, rel: "noopener noreferrer", class: "mono" }, `${trade.tx_hash.slice(0, 11)}…`)));
}

const trades = document.getElementById("trades");
const more = document.getElementById("more-trades");
const tradesStatus = document.getElementById("trades-status");

async function loadMoreTrades() {
  const cursor = trades.dataset.nextCursor;
  if (!cursor) return;
  more.disabled = true;
  tradesStatus.textContent = "loading…";
  try {
    const page = await apiFetch(`${base}/trades?limit=${trades.dataset.pageSize}&cursor=${encodeURIComponent(cursor)}`);
    const body = document.getElementById("trade-rows");
    for (const trade of page.items) {
      if (!body.querySelector(`tr[data-trade-id="${trade.id}"]`)) body.append(tradeRow(trade));
    }
    trades.dataset.nextCursor = page.next_cursor || "";
    more.hidden = !page.next_cursor;
    tradesStatus.textContent = page.next_cursor ? "" : "all trades shown";
  } catch (error) {
    tradesStatus.textContent = `Could not load trades: ${error.message}`;
  } finally {
    more.disabled = false;
  }
}

if (more) more.addEventListener("click", loadMoreTrades);
document.getElementById("history-days").addEventListener("change", drawCharts);
drawCharts();
