// Paper trading page: one of the user's accounts (the first, or ?account=<id>) drawn from the owner-scoped
// /api/v1/trading/ API: cash, portfolio value, halt state with Halt / Resume; the equity curve and the P&L
// per coin (Chart.js, vendored as the global `Chart`); the P&L summary; positions, strategies (Pause /
// Resume), recent signals, orders and realized fills (each with its venue), and the "Live trading" panel
// (trading_live.js). Writes send X-CSRFToken (apiFetch); every API error is shown.
import { apiFetch, axisTick, el, formatAmount, formatDecimal, formatTime } from "./format.js";
import { initLivePanel, showLiveAccount } from "./trading_live.js";

const API = "/api/v1/trading";
const SIGNAL_LIMIT = 50;
const ORDER_LIMIT = 20;
const FILL_LIMIT = 20;
const KINDS = { follow_smart_money: "Follow smart money", follow_whale: "Follow a whale" };
const OUTCOME_CLASSES = { ordered: "badge-fresh", rejected: "badge-stale", skipped: "badge-skipped" };
const ORDER_STATUS_CLASSES = { filled: "pos", rejected: "neg", failed: "neg", cancelled: "" };

const select = document.getElementById("account-select");
const message = document.getElementById("trading-message");
const interval = document.getElementById("equity-interval");
const haltForm = document.getElementById("halt-form");
const haltButton = document.getElementById("halt-button");
const resumeButton = document.getElementById("resume-button");
const haltReason = document.getElementById("halt-reason");
const charts = {};
let accounts = [];
let account = null;
let strategies = [];
let generation = 0;  // bumped on every account switch: answers for an earlier account are dropped

const byId = (id) => document.getElementById(id);
const text = (id, value) => { byId(id).textContent = value; };
const isNull = (value) => value === null || value === undefined || value === "";

function showMessage(textValue, kind = "error") {
  message.textContent = textValue || "";
  message.dataset.kind = kind;
  message.hidden = !textValue;
}

/** "pos" / "neg" from a decimal string's sign ("" for zero or null), without parsing it. */
function signClass(value) {
  if (isNull(value)) return "";
  const textValue = String(value).trim();
  if (/^[-+]?[0.]*$/.test(textValue)) return "";
  return textValue.startsWith("-") ? "neg" : "pos";
}

/** A unit price: 2 places from 1 USD up, else up to 8 significant places ("0.00001234"). */
function formatPrice(value) {
  if (isNull(value)) return "—";
  const whole = String(value).replace(/^[-+]/, "").split(".")[0].replace(/^0+/, "");
  return whole ? formatDecimal(value, 2) : formatAmount(value, 8);
}

const percent = (value) => (isNull(value) ? "—" : `${formatDecimal(value, 2)} %`);
const money = (value) => formatDecimal(value, 2);

function placeholder(body, columns, textValue) {
  body.replaceChildren(el("tr", { class: "placeholder" }, el("td", { colspan: columns, class: "muted" }, textValue)));
}

// --- accounts ---------------------------------------------------------------------------------

function renderAccount() {
  const halted = Boolean(account?.halted);
  text("account-cash", account ? money(account.cash_usd) : "—");
  text("account-portfolio", account ? (isNull(account.portfolio_value_usd) ? "unpriced" : money(account.portfolio_value_usd)) : "—");
  text("account-starting", account ? money(account.starting_cash_usd) : "—");
  const state = byId("account-state");
  state.textContent = account ? (halted ? "Halted" : "Active") : "—";
  state.dataset.state = account ? (halted ? "halted" : "active") : "";
  state.className = `badge ${account ? (halted ? "badge-stale" : "badge-fresh") : ""}`;
  text("account-halted-reason", halted
    ? `${account.halted_reason || "no reason given"} · since ${formatTime(account.halted_at)}` : "");
  text("account-venue", account ? `${account.mode} account · ${account.venue} prices · fee ${formatAmount(account.fee_bps, 4)} bps` : "");
  haltButton.disabled = !account || halted;
  haltButton.hidden = halted;
  resumeButton.disabled = !account || !halted;
  resumeButton.hidden = !halted;
}

function renderAccountOptions() {
  select.replaceChildren(...accounts.map((a) => el("option", { value: String(a.id) }, `${a.name} (#${a.id})`)));
  select.disabled = accounts.length < 2;
  if (account) select.value = String(account.id);
}

async function setHalted(halt) {
  if (!account) return;
  const button = halt ? haltButton : resumeButton;
  button.disabled = true;
  const reason = haltReason.value.trim();
  try {
    const updated = await apiFetch(`${API}/accounts/${account.id}/${halt ? "halt" : "resume"}`,
      { method: "POST", body: { reason } });
    account = updated;
    accounts = accounts.map((a) => (a.id === updated.id ? updated : a));
    haltReason.value = "";
    showMessage(halt ? `Trading halted on ${updated.name}: it places no orders until resumed.`
      : `Trading resumed on ${updated.name}.`, "ok");
  } catch (error) {
    showMessage(`Could not ${halt ? "halt" : "resume"} ${account.name}: ${error.message}`);
  }
  renderAccount();
}

haltForm.addEventListener("submit", (event) => { event.preventDefault(); setHalted(true); });
resumeButton.addEventListener("click", () => setHalted(false));

// --- charts -------------------------------------------------------------------------------------

/** An hour as "MM-DD HH:MM", a day/week/month start as its date; the last point (now) with its time. */
function pointLabel(timestamp, unit) {
  const onBoundary = timestamp.slice(11, 19) === "00:00:00";
  if (unit === "hour" || !onBoundary) return timestamp.slice(unit === "hour" ? 5 : 0, 16).replace("T", " ");
  return timestamp.slice(0, 10);
}

async function drawEquity(current) {
  const canvas = byId("equity-chart");
  const empty = byId("equity-chart-empty");
  const unit = interval.value;
  let points = [];
  let failed = "";
  try {
    points = (await apiFetch(`${API}/pnl/history?account=${account.id}&interval=${unit}`)).points || [];
  } catch (error) {
    failed = `Could not load the equity curve: ${error.message}`;
  }
  if (current !== generation) return;
  if (failed) showMessage(failed);
  empty.textContent = failed || "No fills yet: the equity curve starts at the first fill.";
  canvas.dataset.points = String(points.length);
  canvas.dataset.interval = unit;
  empty.hidden = points.length > 0;
  canvas.hidden = points.length === 0;
  if (charts.equity) { charts.equity.destroy(); delete charts.equity; }
  if (!points.length || typeof window.Chart === "undefined") return;
  const color = "#1f6feb";
  charts.equity = new window.Chart(canvas, {
    type: "line",
    data: {
      labels: points.map((point) => pointLabel(point.timestamp, unit)),
      // Chart coordinates are floats by nature; the exact strings stay in the tooltip.
      datasets: [{
        label: "Equity USD", data: points.map((point) => Number(point.equity_usd)),
        exact: points.map((point) => point.equity_usd), borderColor: color, backgroundColor: `${color}22`,
        fill: true, pointRadius: points.length > 60 ? 0 : 2, tension: 0,
      }],
    },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (ctx) => `Equity: ${money(ctx.dataset.exact[ctx.dataIndex])} USD` } },
      },
      scales: { x: { ticks: { maxTicksLimit: 8 } }, y: { ticks: { callback: axisTick } } },
    },
  });
}

function drawCoins(items) {
  const canvas = byId("coin-chart");
  canvas.dataset.coins = String(items.length);
  byId("coin-chart-empty").hidden = items.length > 0;
  canvas.hidden = items.length === 0;
  if (charts.coins) { charts.coins.destroy(); delete charts.coins; }
  if (!items.length || typeof window.Chart === "undefined") return;
  const dataset = (label, key, color) => ({
    label, data: items.map((item) => (isNull(item[key]) ? null : Number(item[key]))),
    exact: items.map((item) => item[key]), backgroundColor: color, borderRadius: 3, maxBarThickness: 48,
  });
  charts.coins = new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: items.map((item) => item.symbol),
      datasets: [dataset("Realized", "realized_pnl_usd", "#1a7f37"), dataset("Unrealized", "unrealized_pnl_usd", "#1f6feb")],
    },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      plugins: {
        legend: { position: "bottom", labels: { boxWidth: 12 } },
        tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${money(ctx.dataset.exact[ctx.dataIndex])} USD` } },
      },
      scales: { y: { ticks: { callback: axisTick } } },
    },
  });
}

// --- summary and tables -------------------------------------------------------------------------

function renderSummary(summary) {
  const signed = (id, value) => { const node = byId(id); node.textContent = money(value); node.className = signClass(value); };
  signed("summary-realized", summary?.realized_pnl_usd);
  signed("summary-unrealized", summary?.unrealized_pnl_usd);
  text("summary-win-rate", percent(summary?.win_rate_percent));
  text("summary-profit-factor", isNull(summary?.profit_factor) ? "—" : formatDecimal(summary.profit_factor, 2));
  text("summary-drawdown", percent(summary?.max_drawdown_percent));
  // sharpe_ratio is the API's one float (a statistic, not money).
  text("summary-sharpe", isNull(summary?.sharpe_ratio) ? "—" : Number(summary.sharpe_ratio).toFixed(2));
  text("summary-volume", money(summary?.volume_usd));
  text("summary-fees", money(summary?.fees_usd));
  text("summary-counts", summary ? `${summary.fill_count} fills · ${summary.closed_trades} closed trades`
    + ` (${summary.wins} won, ${summary.losses} lost)` : "");
}

function positionRow(position) {
  return el("tr", { dataset: { symbol: position.symbol } },
    el("td", {}, position.symbol),
    el("td", { class: "num" }, formatAmount(position.quantity, 8)),
    el("td", { class: "num" }, formatPrice(position.average_price_usd)),
    el("td", { class: "num" }, money(position.total_cost_usd)),
    el("td", { class: "num" }, isNull(position.price_usd) ? "unpriced" : formatPrice(position.price_usd)),
    el("td", { class: "num" }, isNull(position.value_usd) ? "unpriced" : money(position.value_usd)),
    el("td", { class: `num ${signClass(position.unrealized_pnl_usd)}` }, money(position.unrealized_pnl_usd)));
}

function schedule(strategy) {
  const s = strategy.schedule;
  if (!s) return "not scheduled";
  const when = s.every_seconds ? `every ${s.every_seconds} s` : `cron ${s.crontab} UTC`;
  return s.enabled ? when : `${when} (disabled)`;
}

function runCounts(summary) {
  if (!summary || !Object.keys(summary).length) return "—";
  if (summary.paused) return "paused: nothing generated";
  return `${summary.generated} generated · ${summary.ordered} ordered · ${summary.rejected} rejected`
    + ` · ${summary.skipped} skipped${summary.already_recorded ? ` · ${summary.already_recorded} already recorded` : ""}`;
}

function strategyRow(strategy) {
  const active = strategy.status === "active";
  const toggle = el("button", { type: "button", class: active ? "strategy-pause" : "strategy-resume" }, active ? "Pause" : "Resume");
  toggle.addEventListener("click", () => setStrategyStatus(strategy, active ? "pause" : "resume", toggle));
  return el("tr", { dataset: { strategyId: String(strategy.id), status: strategy.status } },
    el("td", {}, strategy.name),
    el("td", {}, KINDS[strategy.kind] || strategy.kind),
    el("td", {}, el("span", { class: `badge strategy-status ${active ? "badge-fresh" : "badge-skipped"}` }, strategy.status)),
    el("td", {}, schedule(strategy)),
    el("td", { class: "time" }, formatTime(strategy.last_run_at)),
    el("td", {}, runCounts(strategy.last_run_summary)),
    el("td", { class: "actions" }, toggle));
}

function renderStrategies() {
  const body = byId("strategy-rows");
  if (!strategies.length) { placeholder(body, 7, "No strategies on this account."); return; }
  body.replaceChildren(...strategies.map(strategyRow));
}

async function setStrategyStatus(strategy, action, button) {
  button.disabled = true;
  try {
    const updated = await apiFetch(`${API}/strategies/${strategy.id}/${action}`, { method: "POST", body: {} });
    strategies = strategies.map((s) => (s.id === updated.id ? updated : s));
    renderStrategies();
    showMessage(`Strategy "${updated.name}" ${updated.status === "paused" ? "paused" : "resumed"}.`, "ok");
  } catch (error) {
    button.disabled = false;
    showMessage(`Could not ${action} "${strategy.name}": ${error.message}`);
  }
}

function signalRow(signal) {
  const name = strategies.find((s) => s.id === signal.strategy)?.name || `#${signal.strategy}`;
  return el("tr", { dataset: { signalId: String(signal.id), outcome: signal.outcome } },
    el("td", { class: "time" }, formatTime(signal.generated_at)),
    el("td", {}, name),
    el("td", {}, el("span", { class: `tag ${signal.side === "buy" ? "pos" : "neg"}` }, signal.side)),
    el("td", {}, signal.symbol),
    el("td", { class: "num" }, isNull(signal.quantity) ? "—" : formatAmount(signal.quantity, 8)),
    el("td", {}, signal.reason || "—"),
    el("td", {}, el("span", { class: `badge outcome ${OUTCOME_CLASSES[signal.outcome] || ""}` }, signal.outcome)),
    el("td", { class: "reason" }, signal.outcome_reason || "—"));
}

function orderRow(order) {
  return el("tr", { dataset: { orderId: String(order.id), status: order.status } },
    el("td", { class: "time" }, formatTime(order.created_at)),
    el("td", {}, el("span", { class: `tag ${order.side === "buy" ? "pos" : "neg"}` }, order.side)),
    el("td", {}, order.symbol),
    el("td", { class: "venue" }, order.venue),
    el("td", {}, order.type === "limit" ? `limit ${formatPrice(order.limit_price_usd)}` : order.type),
    el("td", { class: "num" }, formatAmount(order.quantity, 8)),
    el("td", { class: "num" }, formatAmount(order.filled_quantity, 8)),
    el("td", { class: "num" }, formatPrice(order.average_fill_price_usd)),
    el("td", {}, el("span", { class: `tag order-status ${ORDER_STATUS_CLASSES[order.status] ?? ""}` }, order.status)),
    el("td", { class: "reason" }, order.reject_reason || "—"));
}

function fillRow(fill) {
  return el("tr", { dataset: { fillId: String(fill.id), venue: fill.venue } },
    el("td", { class: "time" }, formatTime(fill.filled_at)),
    el("td", {}, el("span", { class: `tag ${fill.side === "buy" ? "pos" : "neg"}` }, fill.side)),
    el("td", {}, fill.symbol),
    el("td", { class: "venue" }, fill.venue),
    el("td", { class: "num" }, formatAmount(fill.quantity, 8)),
    el("td", { class: "num price" }, formatPrice(fill.price_usd)),
    el("td", { class: "num" }, money(fill.fee_usd)),
    el("td", { class: `num ${signClass(fill.realized_pnl_usd)}` }, money(fill.realized_pnl_usd)),
    el("td", { class: "mono" }, fill.venue_fill_id || "—"));
}

function renderRows(bodyId, columns, items, row, emptyText) {
  const body = byId(bodyId);
  if (!items.length) placeholder(body, columns, emptyText);
  else body.replaceChildren(...items.map(row));
}

// --- loading ------------------------------------------------------------------------------------

async function loadAccountData() {
  generation += 1;
  const current = generation;
  const id = account.id;
  const failures = [];
  const get = (label, path) => apiFetch(path).catch((error) => { failures.push(`${label}: ${error.message}`); return null; });
  const equity = drawEquity(current);
  const [summary, coins, positions, strategyList, signals, orders, fills] = await Promise.all([
    get("P&L summary", `${API}/pnl/summary?account=${id}`),
    get("P&L per coin", `${API}/pnl/by-coin?account=${id}`),
    get("positions", `${API}/positions?account=${id}`),
    get("strategies", `${API}/strategies?account=${id}`),
    get("signals", `${API}/signals?account=${id}&limit=${SIGNAL_LIMIT}`),
    get("orders", `${API}/orders?account=${id}&limit=${ORDER_LIMIT}`),
    get("realized fills", `${API}/pnl/realized?account=${id}&limit=${FILL_LIMIT}`),
  ]);
  if (current !== generation) return;
  renderSummary(summary);
  drawCoins(coins?.items || []);
  renderRows("position-rows", 7, positions?.items || [], positionRow, positions ? "No open positions." : "Could not load positions.");
  strategies = strategyList?.items || [];
  if (strategyList) renderStrategies(); else placeholder(byId("strategy-rows"), 7, "Could not load strategies.");
  renderRows("signal-rows", 8, signals?.items || [], signalRow, signals ? "No signals yet." : "Could not load signals.");
  renderRows("order-rows", 10, orders?.items || [], orderRow, orders ? "No orders yet." : "Could not load orders.");
  renderRows("fill-rows", 9, fills?.items || [], fillRow, fills ? "No realized fills yet." : "Could not load fills.");
  if (failures.length) showMessage(`Could not load ${failures.join("; ")}`);
  await equity;
  const section = document.getElementById("trading");
  section.dataset.loadedAccount = String(id);
  section.dataset.loads = String(Number(section.dataset.loads || 0) + 1);
}

function selectAccount(id, { push }) {
  account = accounts.find((a) => a.id === id) || null;
  renderAccountOptions();
  renderAccount();
  showLiveAccount(account ? account.id : null);
  if (!account) return;
  if (push) {
    const url = new URL(window.location.href);
    url.searchParams.set("account", String(account.id));
    window.history.replaceState(null, "", url);
  }
  loadAccountData();
}

async function start() {
  try {
    accounts = (await apiFetch(`${API}/accounts`)).items || [];
  } catch (error) {
    showMessage(`Could not load your trading accounts: ${error.message}`);
    return;
  }
  if (!accounts.length) {
    byId("no-accounts").hidden = false;
    select.replaceChildren(el("option", { value: "" }, "no accounts"));
    for (const body of ["position-rows", "strategy-rows", "signal-rows", "order-rows", "fill-rows"]) placeholder(byId(body), 10, "—");
    showLiveAccount(null);
    renderSummary(null);
    return;
  }
  const wanted = new URLSearchParams(window.location.search).get("account");
  let id = accounts[0].id;
  if (wanted) {
    if (accounts.some((a) => String(a.id) === wanted)) id = Number(wanted);
    else showMessage(`No trading account ${wanted} of yours; showing ${accounts[0].name}.`);
  }
  selectAccount(id, { push: false });
}

/** After a live action that changes the account (emergency stop, reconciliation): its figures, halt state,
 * orders and fills again. */
async function reloadAccount() {
  if (!account) return;
  const id = account.id;
  try {
    const updated = await apiFetch(`${API}/accounts/${id}`);
    if (!account || account.id !== id) return;
    account = updated;
    accounts = accounts.map((a) => (a.id === updated.id ? updated : a));
    renderAccount();
  } catch (error) {
    showMessage(`Could not reload the account: ${error.message}`);
  }
  loadAccountData();
}

initLivePanel({ changed: reloadAccount });
select.addEventListener("change", () => { showMessage(""); selectAccount(Number(select.value), { push: true }); });
interval.addEventListener("change", () => { if (account) drawEquity(generation); });
start();
