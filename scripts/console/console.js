// The reference console page: plain JS, no build step. It signs in as a
// local user, shows the payments account, the balance and its history (a
// page at a time), adds funds validated against /BillingSettings, completes
// the payment (Stripe.js with a real publishable key; locally the local
// server's /dev/pay), and shows the deletion check and request. Every call
// to the functions crosses origins, as from the real console.
"use strict";

const $ = (id) => document.getElementById(id);
const PAGE_SIZE = 5;
const state = {
  config: null, // {functionsUrl, devSignIn} from this page's server
  token: "",
  user: "",
  settings: null, // GET /BillingSettings
  pages: [""], // page tokens of the history pages seen; the last is the current one
  nextPageToken: "",
  payment: null, // the AddFunds answer being paid
  stripe: null, // {stripe, elements} when paying through Stripe.js
};

// ApiError is an answer of the functions that is not 2xx: the contract's
// code and message.
class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body, headers = {}) {
  const init = { method, headers: { Authorization: "Bearer " + state.token, ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(state.config.functionsUrl + path, init);
  } catch (e) {
    // The browser says no more than this when CORS (or the network) fails.
    throw new ApiError(0, "network", "The billing functions cannot be reached from this page (" + e.message + ").");
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(res.status, err.code || "http_" + res.status, err.message || "The request failed with HTTP " + res.status + ".");
  }
  return data;
}

function money(cents, currency = "usd") {
  return new Intl.NumberFormat("en-US", { style: "currency", currency: currency.toUpperCase() }).format(cents / 100);
}

// contractAmount spells cents as the functions' messages do: "10.00 USD".
function contractAmount(cents) {
  return Math.floor(cents / 100) + "." + String(cents % 100).padStart(2, "0") + " " + state.settings.currency.toUpperCase();
}

function show(id, text) {
  $(id).textContent = text || "";
}

function failed(id) {
  return (e) => show(id, e.message);
}

// ---------------------------------------------------------------- sign-in

async function signIn(ev) {
  ev.preventDefault();
  show("signin-error", "");
  try {
    if (state.config.devSignIn) {
      const user = $("signin-user").value.trim();
      const res = await fetch("/dev/token", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ userId: user, email: $("signin-email").value.trim() }),
      });
      const data = await res.json();
      if (!res.ok) throw new Error(data.error.message);
      state.token = data.token;
      state.user = user;
    } else {
      state.token = $("signin-token").value.trim();
      state.user = "(token)";
    }
    sessionStorage.setItem("billing-session", JSON.stringify({ token: state.token, user: state.user }));
    await start();
  } catch (e) {
    show("signin-error", e.message);
  }
}

function signOut() {
  sessionStorage.removeItem("billing-session");
  location.reload();
}

async function start() {
  $("signin-form").hidden = true;
  $("signed-in").hidden = false;
  show("signed-in-user", state.user);
  $("app").hidden = false;
  await Promise.all([loadSettings(), loadAccount(), loadHistory("")]);
}

// ---------------------------------------------------------------- account

async function loadAccount() {
  show("account-error", "");
  try {
    const a = await api("GET", "/Account");
    const badge = $("payments-status");
    badge.textContent = a.paymentsStatus;
    badge.className = "badge " + a.paymentsStatus;
    show("customer-id", a.customerId ? "Stripe customer " + a.customerId + (a.plan ? ", plan " + a.plan : "") : "");
    $("account-setup").hidden = a.paymentsStatus === "ready";
  } catch (e) {
    show("account-error", e.message);
  }
}

async function setUpAccount() {
  show("account-error", "");
  try {
    await api("POST", "/AccountSetup", {});
  } catch (e) {
    show("account-error", e.message);
  }
  await loadAccount();
}

// ---------------------------------------------------------------- balance

async function loadHistory(pageToken) {
  show("balance-error", "");
  try {
    const q = new URLSearchParams({ pageSize: String(PAGE_SIZE) });
    if (pageToken) q.set("pageToken", pageToken);
    const b = await api("GET", "/Balance?" + q);
    show("balance-amount", money(b.balance.amount, b.balance.currency));
    const body = $("history").tBodies[0];
    body.replaceChildren();
    for (const t of b.transactions) {
      const row = body.insertRow();
      row.dataset.id = t.id;
      row.insertCell().textContent = new Date(t.createdAt).toLocaleString("en-US");
      row.insertCell().textContent = t.type.replaceAll("_", " ");
      const amount = row.insertCell();
      amount.className = "num";
      amount.textContent = money(t.amount, t.currency);
      const status = row.insertCell();
      status.innerHTML = '<span class="badge"></span>';
      status.firstChild.textContent = t.status;
      status.firstChild.classList.add(t.status);
      if (t.failureMessage) status.title = t.failureMessage;
    }
    if (b.transactions.length === 0) {
      body.insertRow().insertCell().textContent = "No transactions yet.";
    }
    state.nextPageToken = b.nextPageToken;
    $("history-older").disabled = !b.nextPageToken;
    $("history-newest").disabled = state.pages.length <= 1;
    show("history-page", "page " + state.pages.length);
  } catch (e) {
    show("balance-error", e.message);
  }
}

function olderPage() {
  state.pages.push(state.nextPageToken);
  return loadHistory(state.nextPageToken);
}

function newestPage() {
  state.pages = [""];
  return loadHistory("");
}

// ---------------------------------------------------------------- add funds

async function loadSettings() {
  try {
    state.settings = await api("GET", "/BillingSettings");
    const s = state.settings;
    show("currency", s.currency.toUpperCase());
    show("amount-range", s.addFundsEnabled
      ? "From " + money(s.addFundsMinAmount, s.currency) + " to " + money(s.addFundsMaxAmount, s.currency) + "."
      : "Adding funds is turned off.");
    $("add-funds-submit").disabled = !s.addFundsEnabled;
  } catch (e) {
    show("add-funds-error", e.message);
  }
}

// validateAmount turns the field into cents, or throws the sentence to show.
// Out of range and switched off are refused with the functions' own
// sentences (amount_too_low, amount_too_high, add_funds_disabled), so the
// page reads the same whichever side refuses; the browser test holds the
// two together.
function validateAmount(text) {
  const s = state.settings;
  const m = /^\s*\$?(\d{1,9})(?:\.(\d{1,2}))?\s*$/.exec(text);
  if (!m) throw new Error("Enter an amount such as 25 or 25.00.");
  const cents = Number(m[1]) * 100 + Number((m[2] || "0").padEnd(2, "0"));
  if (!s.addFundsEnabled) throw new Error("Adding funds by card is turned off at the moment; please try again later.");
  if (cents > s.addFundsMaxAmount) throw new Error("The largest amount you can add at once is " + contractAmount(s.addFundsMaxAmount) + ".");
  if (cents < s.addFundsMinAmount) throw new Error("The smallest amount you can add is " + contractAmount(s.addFundsMinAmount) + ".");
  return cents;
}

async function addFunds(ev) {
  ev.preventDefault();
  show("add-funds-error", "");
  show("payment-result", "");
  let amount;
  try {
    amount = validateAmount($("amount").value);
  } catch (e) {
    show("add-funds-error", e.message);
    return;
  }
  $("add-funds-submit").disabled = true;
  try {
    // One key per attempt: a retry of this request (a flaky network) gets
    // the first answer instead of a second payment.
    const p = await api("POST", "/AddFunds", { amount, currency: state.settings.currency },
      { "Idempotency-Key": crypto.randomUUID() });
    state.payment = p;
    $("payment").hidden = false;
    show("payment-tx", p.transactionId);
    show("payment-amount", money(p.amount, p.currency));
    const badge = $("payment-status");
    badge.textContent = p.status;
    badge.className = "badge " + p.status;
    await preparePayment(p);
    await newestPage();
  } catch (e) {
    show("add-funds-error", e.message);
  } finally {
    $("add-funds-submit").disabled = !state.settings.addFundsEnabled;
  }
}

// preparePayment mounts Stripe's Payment Element when a publishable key is
// configured; otherwise the Pay button goes through the local server.
async function preparePayment(p) {
  $("payment-element").replaceChildren();
  state.stripe = null;
  if (!state.settings.stripePublishableKey) {
    show("pay-hint", "Locally: the Pay button pays with Stripe's test card through the local server (POST /dev/pay).");
    return;
  }
  show("pay-hint", "Stripe test cards: 4242 4242 4242 4242, any future date, any CVC.");
  if (!window.Stripe) {
    await new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = "https://js.stripe.com/v3/";
      s.onload = resolve;
      s.onerror = () => reject(new Error("Stripe.js could not be loaded."));
      document.head.append(s);
    });
  }
  const stripe = window.Stripe(state.settings.stripePublishableKey);
  const elements = stripe.elements({ clientSecret: p.clientSecret });
  elements.create("payment").mount("#payment-element");
  state.stripe = { stripe, elements };
}

async function pay() {
  const p = state.payment;
  show("payment-result", "");
  $("pay").disabled = true;
  try {
    let status;
    if (state.stripe) {
      const { error } = await state.stripe.stripe.confirmPayment({ elements: state.stripe.elements, redirect: "if_required" });
      if (error) throw new Error(error.message);
      status = await settled(p.transactionId); // the webhook credits, not the page
    } else {
      const res = await fetch(state.config.functionsUrl + "/dev/pay", {
        method: "POST",
        headers: { Authorization: "Bearer " + state.token, "Content-Type": "application/json" },
        body: JSON.stringify({ transactionId: p.transactionId }),
      });
      const data = await res.json();
      if (!res.ok) throw new Error(data.error.message);
      status = data.status;
    }
    const badge = $("payment-status");
    badge.textContent = status;
    badge.className = "badge " + status;
    show("payment-result", status === "succeeded" ? "Paid: " + money(p.amount, p.currency) + " added to your balance." : "The payment is " + status + ".");
    $("payment").hidden = status === "succeeded";
  } catch (e) {
    show("payment-result", e.message);
  } finally {
    $("pay").disabled = false;
    await newestPage();
  }
}

// settled waits (up to 30 s) for the webhook to settle a transaction.
async function settled(txId) {
  for (let i = 0; i < 60; i++) {
    const b = await api("GET", "/Balance?pageSize=20");
    const t = b.transactions.find((t) => t.id === txId);
    if (t && t.status !== "pending") return t.status;
    await new Promise((r) => setTimeout(r, 500));
  }
  return "pending";
}

// ---------------------------------------------------------------- deletion

function renderDeletion(c) {
  const out = $("deletion-result");
  out.replaceChildren();
  const p = (text) => out.appendChild(document.createElement("p")).textContent = text;
  if (c.state) {
    // A deletion (RequestDeletion / CancelDeletion).
    p("Deletion " + c.state.replaceAll("_", " ") + " (requested " + new Date(c.requestedAt).toLocaleString("en-US") + ").");
    if (c.refunds.length) p("Refunds to your cards: " + c.refunds.map((r) => money(r.amount) + " (" + r.status + ")").join(", ") + ".");
    if (c.finalInvoice) p("Final invoice " + money(c.finalInvoice.amountDue) + ": " + c.finalInvoice.hostedInvoiceUrl);
    $("deletion-cancel").hidden = !(c.state === "invoicing" || c.state === "awaiting_payment");
    return;
  }
  p(c.canDelete ? "The account can be deleted now." : "The account cannot be deleted yet.");
  if (c.reasons.length) {
    const ul = out.appendChild(document.createElement("ul"));
    for (const r of c.reasons) ul.appendChild(document.createElement("li")).textContent = r;
  }
  p("Balance " + money(c.balance, c.currency) + "; usage not yet invoiced " + money(c.currentUsage.amount, c.currency) +
    "; back to your cards " + money(c.refunds.reduce((s, r) => s + r.amount, 0), c.currency) +
    "; final invoice " + money(c.finalAmountDue, c.currency) +
    (c.forfeitedBalance ? "; forfeited " + money(c.forfeitedBalance, c.currency) : "") + ".");
  if (c.deletion) p("A deletion is " + c.deletion.state.replaceAll("_", " ") + ".");
  $("deletion-request").disabled = !c.canDelete;
  $("deletion-cancel").hidden = !(c.deletion && (c.deletion.state === "invoicing" || c.deletion.state === "awaiting_payment"));
}

async function deletionCall(method, path) {
  show("deletion-error", "");
  try {
    renderDeletion(await api(method, path, method === "POST" ? {} : undefined));
    if (method === "POST") await Promise.all([loadAccount(), newestPage()]);
  } catch (e) {
    show("deletion-error", e.message);
  }
}

// ---------------------------------------------------------------- start

async function main() {
  state.config = await (await fetch("config.json")).json();
  $("openapi-link").href = state.config.functionsUrl + "/openapi.yaml";
  $("dev-signin").hidden = !state.config.devSignIn;
  $("token-signin").hidden = state.config.devSignIn;
  $("signin-form").addEventListener("submit", signIn);
  $("signout").addEventListener("click", signOut);
  $("account-setup").addEventListener("click", setUpAccount);
  $("history-older").addEventListener("click", olderPage);
  $("history-newest").addEventListener("click", newestPage);
  $("add-funds-form").addEventListener("submit", addFunds);
  $("pay").addEventListener("click", pay);
  $("deletion-check").addEventListener("click", () => deletionCall("GET", "/DeletionCheck"));
  $("deletion-request").addEventListener("click", () => deletionCall("POST", "/RequestDeletion"));
  $("deletion-cancel").addEventListener("click", () => deletionCall("POST", "/CancelDeletion"));
  const saved = JSON.parse(sessionStorage.getItem("billing-session") || "null");
  if (saved) {
    Object.assign(state, saved);
    await start();
  }
  document.body.dataset.ready = "true";
}

main().catch((e) => show("signin-error", e.message));
