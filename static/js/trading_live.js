// The trading page's "Live trading" panel for the selected account, drawn from the owner-scoped live API
// (/api/v1/trading/accounts/<id>/...): the venue and where it is reached (a "simulated venue" badge for the
// replay node's simulator), the gates, the credentials form (write-only: only the hint comes back) with
// "Test connection", the limits to confirm, the newest reconciliation with "Reconcile now", the venue's open
// orders (asked live when the panel loads and after every action), the emergency stop (confirm step, optional
// flatten, its report) and the newest venue calls. API errors (400/409/502/503) show the API's detail here.
import { apiFetch, el, formatAmount, formatTime } from "./format.js";

const API = "/api/v1/trading";
const GATE_LABELS = {
  setting: "Setting", admin_toggle: "Admin switch", live_mode: "Live mode", confirmation: "Confirmation",
  credentials: "Credentials",
};
const LIMIT_LABELS = {
  max_position_percent: "Max position (% of portfolio)", max_daily_loss_percent: "Max daily loss (%)",
  max_strategy_exposure_percent: "Max strategy exposure (%)", max_orders_per_day: "Max orders per day",
  min_order_usd: "Min order (USD)", max_order_notional_usd: "Max order notional (USD)",
  max_daily_notional_usd: "Max daily notional (USD)", price_band_percent: "Price band (%)",
  flatten_on_daily_loss: "Flatten on daily loss",
};
const VENUE_LABELS = { hyperliquid: "Hyperliquid", coinspot: "Coinspot" };
const CREDENTIAL_FIELDS = {
  hyperliquid: {
    key: "Main wallet address", secret: "Agent (API) wallet private key", keyPlaceholder: "0x… (42 characters)",
    help: "Create an API wallet at Hyperliquid (More › API), approve it for your main wallet and enter the API "
      + "wallet's private key. It can trade but not withdraw.",
  },
  coinspot: {
    key: "API key", secret: "API secret", keyPlaceholder: "",
    help: "A Coinspot API key with trading rights (Settings › API Keys).",
  },
};

const byId = (id) => document.getElementById(id);
const text = (id, value) => { byId(id).textContent = value; };

let accountId = null;
let state = null;
let generation = 0;  // bumped per account: answers for an earlier account are dropped
let onChanged = () => {};

function showMessage(value, kind = "error") {
  const node = byId("live-message");
  node.textContent = value || "";
  node.dataset.kind = kind;
  node.hidden = !value;
}

function placeholder(bodyId, columns, value) {
  byId(bodyId).replaceChildren(el("tr", { class: "placeholder" }, el("td", { colspan: columns, class: "muted" }, value)));
}

// --- drawing --------------------------------------------------------------------------------------

function renderCredentialLabels() {
  const fields = CREDENTIAL_FIELDS[byId("credentials-venue").value] || CREDENTIAL_FIELDS.hyperliquid;
  text("credentials-key-label", fields.key);
  text("credentials-secret-label", fields.secret);
  byId("credentials-key").placeholder = fields.keyPlaceholder;
  text("credentials-help", fields.help);
}

function renderVenue() {
  const venue = state.live_venue;
  text("live-mode", state.mode === "live" ? "live: orders go to the venue" : "paper: orders fill in WhaleTrack's paper book");
  text("live-venue", venue ? VENUE_LABELS[venue] || venue : "none yet (stored credentials choose it)");
  text("live-host", state.venue_host || "—");
  byId("live-simulated").hidden = !state.simulated;
}

function renderGates() {
  const gates = state.gates || [];
  byId("live-gates").replaceChildren(...gates.map((gate) => el("li", { dataset: { gate: gate.name, ok: String(gate.ok) } },
    el("span", { class: `badge gate-state ${gate.ok ? "badge-fresh" : "badge-stale"}` }, gate.ok ? "ok" : "blocked"),
    el("span", { class: "gate-name" }, GATE_LABELS[gate.name] || gate.name),
    el("span", { class: "gate-detail muted" }, gate.detail))));
  const blocked = gates.filter((gate) => !gate.ok).length;
  text("live-gates-summary", blocked ? `${blocked} blocked: live orders are refused` : "all ok: live orders may be sent");
  byId("live-gates").dataset.allOk = String(gates.length > 0 && blocked === 0);
}

function renderCredentials() {
  const stored = state.credentials;
  const hint = byId("credentials-hint");
  hint.dataset.state = stored ? "stored" : "none";
  hint.textContent = stored
    ? `Stored for ${VENUE_LABELS[stored.venue] || stored.venue}: ${stored.hint} (saved ${formatTime(stored.created_at)} UTC)`
    : "No credentials stored.";
  const venue = stored?.venue || state.live_venue;
  if (venue && !byId("credentials-form").dataset.touched) byId("credentials-venue").value = venue;
  renderCredentialLabels();
  byId("credentials-test").disabled = !stored;
  const result = byId("credentials-test-result");
  if (!stored || stored.tested_ok === null || stored.tested_ok === undefined) {
    result.hidden = true;
    result.dataset.state = "";
    return;
  }
  result.hidden = false;
  result.dataset.state = stored.tested_ok ? "ok" : "failed";
  result.className = stored.tested_ok ? "pos" : "neg";
  result.replaceChildren(el("strong", { class: "test-state" }, stored.tested_ok ? "ok" : "failed"),
    ` at ${formatTime(stored.tested_at)} UTC: `, el("span", { class: "test-detail" }, stored.tested_detail || "—"));
}

function renderLimits() {
  const limits = state.limits || {};
  byId("live-limits").replaceChildren(...Object.entries(limits).flatMap(([name, value]) => [
    el("dt", {}, LIMIT_LABELS[name] || name), el("dd", { dataset: { limit: name } }, value)]));
  const confirmed = byId("live-confirmed");
  confirmed.dataset.confirmed = String(Boolean(state.limits_confirmed_at));
  confirmed.textContent = state.limits_confirmed_at
    ? `Confirmed at ${formatTime(state.limits_confirmed_at)} UTC.`
    : "Not confirmed: live orders need your confirmation of these limits (changing one voids it).";
}

function driftLine(drift) {
  const what = [drift.kind, drift.symbol, drift.order ? `order ${drift.order}` : ""].filter(Boolean).join(" ");
  return `${what}: ours ${drift.ours ?? "—"}, venue ${drift.venue ?? "—"}`;
}

function renderReconciliation() {
  const row = state.reconciliation;
  const badge = byId("reconcile-status");
  badge.textContent = row ? row.status : "never";
  badge.dataset.status = row ? row.status : "";
  badge.className = `badge ${row ? (row.status === "ok" ? "badge-fresh" : "badge-stale") : "badge-skipped"}`;
  text("reconcile-detail", row ? `${formatTime(row.started_at)} UTC · ${row.detail}` : "not reconciled yet");
  const list = byId("reconcile-drift");
  const drifts = row && row.status === "drift" ? row.drift || [] : [];
  list.replaceChildren(...drifts.map((drift) => el("li", { dataset: { kind: drift.kind } }, driftLine(drift))));
  list.hidden = drifts.length === 0;
}

function callResult(call) {
  const response = call.response || {};
  const detail = response.detail || response.error || response.reason || "";
  return `${call.ok ? "ok" : "failed"}${detail ? `: ${detail}` : ""}`;
}

function renderCalls() {
  const calls = state.venue_calls || [];
  if (!calls.length) { placeholder("venue-call-rows", 4, "No venue calls yet."); return; }
  byId("venue-call-rows").replaceChildren(...calls.map((call) => el("tr",
    { dataset: { callId: String(call.id), action: call.action, ok: String(call.ok) } },
    el("td", { class: "time" }, formatTime(call.at)),
    el("td", {}, call.action),
    el("td", { class: `reason ${call.ok ? "pos" : "neg"}` }, callResult(call)),
    el("td", {}, call.order === null || call.order === undefined ? "—" : `#${call.order}`))));
}

function render() {
  renderVenue();
  renderGates();
  renderCredentials();
  renderLimits();
  renderReconciliation();
  renderCalls();
}

function venueOrderRow(order) {
  return el("tr", { dataset: { venueOrderId: order.venue_order_id, order: order.order === null ? "" : String(order.order) } },
    el("td", { class: "mono" }, order.venue_order_id),
    el("td", {}, order.symbol),
    el("td", {}, el("span", { class: `tag ${order.side === "buy" ? "pos" : "neg"}` }, order.side)),
    el("td", {}, order.status),
    el("td", { class: "num" }, formatAmount(order.quantity, 8)),
    el("td", { class: "num" }, formatAmount(order.filled_quantity, 8)),
    el("td", { class: "num" }, order.limit_price_usd === null ? "market" : formatAmount(order.limit_price_usd, 8)),
    el("td", { class: "time" }, formatTime(order.placed_at)),
    el("td", {}, order.order === null ? "not ours" : `#${order.order}`));
}

// --- loading --------------------------------------------------------------------------------------

async function loadVenueOrders(current) {
  const body = byId("venue-orders");
  body.dataset.state = "loading";
  let listing = null;
  let failed = "";
  try {
    listing = await apiFetch(`${API}/accounts/${accountId}/venue/orders`);
  } catch (error) {
    failed = error.message;
  }
  if (current !== generation) return;
  if (failed) {
    placeholder("venue-order-rows", 9, `Could not ask the venue: ${failed}`);
    text("venue-orders-count", "");
    body.dataset.state = "error";
    return;
  }
  const items = listing.items || [];
  if (items.length) byId("venue-order-rows").replaceChildren(...items.map(venueOrderRow));
  else placeholder("venue-order-rows", 9, "No open orders at the venue.");
  text("venue-orders-count", `${listing.total} open`);
  body.dataset.state = "loaded";
  body.dataset.total = String(listing.total);
}

/** Fetch the live state and the venue's open orders and draw them; errors go to the panel's message. */
async function refresh() {
  if (accountId === null) return;
  const current = generation;
  const panel = byId("live");
  panel.dataset.busy = "true";
  try {
    const fresh = await apiFetch(`${API}/accounts/${accountId}/live`);
    if (current !== generation) return;
    state = fresh;
    render();
  } catch (error) {
    if (current === generation) showMessage(`Could not load the live state: ${error.message}`);
  }
  await loadVenueOrders(current);
  if (current !== generation) return;
  panel.dataset.busy = "false";
  panel.dataset.loadedAccount = String(accountId);
  panel.dataset.refreshes = String(Number(panel.dataset.refreshes || 0) + 1);
}

/** Run one panel action: disable ``button``, call ``action``; show ``okText(result)`` or the API's detail; then
 * refresh the panel (and the page when ``pageToo``). */
async function act(button, action, okText, { pageToo = false } = {}) {
  if (accountId === null) return;
  const current = generation;
  button.disabled = true;
  showMessage("");
  let result;
  try {
    result = await action();
    if (current === generation) showMessage(okText(result), "ok");
  } catch (error) {
    if (current === generation) showMessage(error.message);
  }
  button.disabled = false;
  if (current !== generation) return;
  await refresh();
  if (pageToo) onChanged();
}

// --- actions --------------------------------------------------------------------------------------

function saveCredentials(event) {
  event.preventDefault();
  const keyInput = byId("credentials-key");
  const secretInput = byId("credentials-secret");
  const body = { venue: byId("credentials-venue").value, api_key: keyInput.value.trim(), secret: secretInput.value };
  secretInput.value = "";  // the secret never stays on the page, whatever the answer
  act(byId("credentials-save"), async () => {
    const answer = await apiFetch(`${API}/accounts/${accountId}/credentials`, { method: "PUT", body });
    keyInput.value = "";
    delete byId("credentials-form").dataset.touched;
    return answer;
  }, (answer) => `Credentials saved for ${VENUE_LABELS[body.venue]}: ${answer.credentials?.hint || ""}`);
}

function testConnection() {
  act(byId("credentials-test"), () => apiFetch(`${API}/accounts/${accountId}/credentials/test`, { method: "POST" }),
    (answer) => `Connection test ${answer.credentials?.tested_ok ? "ok" : "failed"}: ${answer.credentials?.tested_detail || ""}`);
}

function confirmLimits() {
  const listed = Object.entries(state?.limits || {}).map(([name, value]) => `${name}=${value}`).join(", ");
  act(byId("live-confirm"), () => apiFetch(`${API}/accounts/${accountId}/live/confirm`, { method: "POST" }),
    (answer) => `Limits confirmed at ${formatTime(answer.limits_confirmed_at)} UTC: ${listed}`);
}

function reconcileNow() {
  act(byId("reconcile-button"), () => apiFetch(`${API}/accounts/${accountId}/reconciliations`, { method: "POST" }),
    (row) => `Reconciled: ${row.status} (${row.detail})`, { pageToo: true });
}

function askStop(event) {
  event.preventDefault();
  const flatten = byId("estop-flatten").checked;
  text("estop-question", `Halt this account and cancel every open order at ${VENUE_LABELS[state?.live_venue]
    || "the venue"}${flatten ? ", then close every position with reduce-only market orders" : ""}?`);
  byId("estop-confirm").hidden = false;
  byId("estop-button").disabled = true;
  byId("estop-go").focus();
}

function closeStop() {
  byId("estop-confirm").hidden = true;
  byId("estop-button").disabled = false;
}

const listText = (items) => (items && items.length ? items.map(String).join(", ") : "none");

function renderReport(report) {
  text("estop-cancelled", listText(report.cancelled));
  text("estop-already-closed", listText(report.already_closed));
  text("estop-flatten-orders", listText((report.flatten_orders || []).map((id) => `#${id}`)));
  text("estop-failures", listText(report.failures));
  byId("estop-failures").className = report.failures?.length ? "neg" : "";
  const node = byId("estop-report");
  node.hidden = false;
  node.dataset.failures = String(report.failures?.length || 0);
}

function runStop() {
  const body = { flatten: byId("estop-flatten").checked, reason: byId("estop-reason").value.trim() };
  byId("estop-confirm").hidden = true;
  act(byId("estop-go"), async () => {
    const report = await apiFetch(`${API}/accounts/${accountId}/emergency-stop`, { method: "POST", body });
    renderReport(report);
    byId("estop-reason").value = "";
    return report;
  }, (report) => `Emergency stop done: ${report.cancelled.length} order(s) cancelled at the venue, `
    + `${report.flatten_orders.length} flatten order(s), ${report.failures.length} failure(s).`, { pageToo: true })
    .finally(() => { byId("estop-button").disabled = false; });
}

// --- wiring ---------------------------------------------------------------------------------------

/** Wire the panel once; ``changed`` reloads the rest of the page (after a stop or a reconciliation). */
export function initLivePanel({ changed }) {
  onChanged = changed;
  byId("credentials-form").addEventListener("submit", saveCredentials);
  byId("credentials-venue").addEventListener("change", () => {
    byId("credentials-form").dataset.touched = "true";
    renderCredentialLabels();
  });
  byId("credentials-test").addEventListener("click", testConnection);
  byId("live-confirm").addEventListener("click", confirmLimits);
  byId("reconcile-button").addEventListener("click", reconcileNow);
  byId("live-refresh").addEventListener("click", () => { showMessage(""); refresh(); onChanged(); });
  byId("estop-form").addEventListener("submit", askStop);
  byId("estop-cancel").addEventListener("click", closeStop);
  byId("estop-go").addEventListener("click", runStop);
  renderCredentialLabels();
}

/** Show the panel for account ``id`` (null: no account) and load it. */
export function showLiveAccount(id) {
  generation += 1;
  accountId = id;
  state = null;
  showMessage("");
  byId("estop-report").hidden = true;
  closeStop();
  delete byId("credentials-form").dataset.touched;
  byId("live").hidden = id === null;
  if (id !== null) refresh();
}
