// /case: the holder of a case token sees their case and withdraws it, a photo at a
// time or all at once. The case code (case-code.js; or a raw token) is typed or
// pasted into the form; the token it stands for is then kept only in this module's
// memory (never in the URL, storage or a cookie) until the person hides the case or
// leaves the page. It travels in the X-Case-Token header. Once nothing is left to
// withdraw, the page says so and offers no withdrawal any more.

import { callApi, problemText } from "./api.js";
import { tokenFromInput } from "./case-code.js";
import { startExit } from "./exit.js";
import { formatDate, startI18n, t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const el = {
  form: $("lookup"),
  input: $("case-token"),
  error: $("case-error"),
  button: $("lookup-button"),
  lookupStatus: $("lookup-status"),
  view: $("case-view"),
  summary: $("case-summary"),
  created: $("case-created"),
  photos: $("case-photos"),
  status: $("case-status"),
  withdrawAll: $("withdraw-all"),
  withdrawHelp: $("withdraw-help"),
  final: $("case-final"),
  forget: $("forget"),
  dialog: $("confirm"),
  confirmText: $("confirm-text"),
  yes: $("confirm-yes"),
  no: $("confirm-no"),
};

let token = null;
let view = null;
let busy = false;
let confirmAction = null;
let confirmReturn = null;

/**
 * The case's signals grouped into photos: a new photo starts whenever a signal type
 * repeats (the intake page sends a PDQ and an MD5 per photo, in order).
 */
function groups(signals) {
  const out = [];
  let current = null;
  for (const s of signals) {
    if (!current || current.some((x) => x.signal === s.signal)) {
      current = [];
      out.push(current);
    }
    current.push(s);
  }
  return out;
}

function kindText(signal) {
  if (signal === "pdq") return t("case.kind_pdq");
  if (signal === "md5") return t("case.kind_md5");
  return t("case.kind_other", { signal });
}

function showError(text) {
  el.error.textContent = text;
  el.error.hidden = false;
  el.input.setAttribute("aria-invalid", "true");
  el.input.focus();
}

async function lookUp(event) {
  event.preventDefault();
  if (busy) return;
  el.error.hidden = true;
  el.input.removeAttribute("aria-invalid");
  const value = tokenFromInput(el.input.value);
  if (!value) return showError(t("case.token_missing"));
  busy = true;
  el.button.setAttribute("aria-disabled", "true"); // (disabled would drop the focus)
  el.lookupStatus.textContent = t("case.loading");
  const result = await callApi("GET", "/v1/cases/me", { headers: { "X-Case-Token": value } });
  busy = false;
  el.button.removeAttribute("aria-disabled");
  el.lookupStatus.textContent = "";
  if (!result.ok) {
    const known = result.code === "case.token_invalid" || result.code === "case.token_missing";
    return showError(known ? t("case.token_invalid") : problemText(result));
  }
  token = value;
  view = result.data;
  el.input.value = ""; // from now on only in memory
  el.form.hidden = true;
  el.status.textContent = "";
  el.view.hidden = false;
  render();
  el.view.focus();
}

// A hash the case still holds, whether it matches now or waits for a reviewer (it can be
// withdrawn either way); "removed" (a reviewer or admin erased it) and "withdrawn" are
// final.
const HELD = new Set(["active", "under_review"]);
const STATUS_TEXT = {
  active: "case.status_active",
  under_review: "case.status_under_review",
  removed: "case.status_removed",
  withdrawn: "case.status_withdrawn",
};

function render() {
  if (!view) return;
  const active = view.status === "open"
    ? view.signals.filter((s) => HELD.has(s.status)).length : 0;
  el.summary.textContent = active
    ? t("case.summary_open", { active, total: view.signals.length })
    : t("case.summary_withdrawn");
  el.summary.className = `summary ${active ? "ok-text" : ""}`;
  el.created.textContent = t("case.created", { date: formatDate(view.created_at) });
  // the final state: nothing left to withdraw, so nothing offers to
  el.withdrawAll.hidden = active === 0;
  el.withdrawHelp.hidden = active === 0;
  el.final.hidden = active !== 0;
  el.photos.replaceChildren(
    ...groups(view.signals).map((group, i) => {
      const n = i + 1;
      const li = document.createElement("li");
      li.className = "case-photo";
      const head = document.createElement("h3");
      head.id = `photo-${n}`;
      head.tabIndex = -1;
      head.textContent = t("case.photo", { n });
      const list = document.createElement("ul");
      list.className = "signals";
      for (const s of group) {
        const item = document.createElement("li");
        const kind = document.createElement("span");
        kind.className = "kind";
        kind.textContent = kindText(s.signal);
        const badge = document.createElement("span");
        badge.className = `badge ${s.status}`;
        badge.textContent = t(STATUS_TEXT[s.status] || "case.status_withdrawn");
        const matched = document.createElement("span");
        matched.className = "matched";
        matched.textContent = t("case.matched", { n: s.matched });
        item.append(kind, " ", badge, " ", matched);
        list.append(item);
      }
      li.append(head, list);
      const live = group.filter((s) => HELD.has(s.status)).map((s) => s.n);
      if (live.length && active) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "button danger small";
        button.textContent = t("case.withdraw_photo", { n });
        button.addEventListener("click", () =>
          ask(t("case.confirm_photo", { n }), button, () => withdraw(live, n)));
        li.append(button);
      }
      return li;
    }),
  );
}

function ask(text, from, action) {
  confirmAction = action;
  confirmReturn = from;
  el.confirmText.textContent = text;
  el.dialog.showModal();
  el.no.focus(); // the safe choice first
}

function closeDialog() {
  if (el.dialog.open) el.dialog.close();
}

async function withdraw(numbers, photo) {
  if (busy || !token) return;
  busy = true;
  let result = null;
  let latest = null; // the case as the last successful withdrawal left it
  for (const n of numbers) {
    result = await callApi("DELETE", n === null ? "/v1/cases/me" : `/v1/cases/me/signals/${n}`, {
      headers: { "X-Case-Token": token },
    });
    if (!result.ok) break;
    latest = result.data;
  }
  busy = false;
  if (latest) {
    view = latest;
    render();
  }
  if (!result || !result.ok) {
    el.status.textContent = result ? problemText(result) : "";
    return;
  }
  el.status.textContent = photo === null ? t("case.withdrawn_all") : t("case.withdrawn_photo", { n: photo });
  const target = photo === null ? $("case-h") : $(`photo-${photo}`);
  if (target) {
    target.tabIndex = -1;
    target.focus();
  }
}

function forget() {
  token = null;
  view = null;
  el.photos.replaceChildren();
  el.summary.textContent = "";
  el.created.textContent = "";
  el.status.textContent = "";
  el.view.hidden = true;
  el.form.hidden = false;
  el.lookupStatus.textContent = t("case.forgotten");
  el.input.focus();
}

function wire() {
  el.form.addEventListener("submit", lookUp);
  el.withdrawAll.addEventListener("click", () =>
    ask(t("case.confirm_all"), el.withdrawAll, () => withdraw([null], null)));
  el.forget.addEventListener("click", forget);
  el.yes.addEventListener("click", () => {
    const action = confirmAction;
    confirmAction = null;
    closeDialog();
    if (action) action();
  });
  el.no.addEventListener("click", closeDialog);
  el.dialog.addEventListener("close", () => {
    if (confirmAction && confirmReturn) confirmReturn.focus(); // cancelled (button or Escape)
    confirmAction = null;
  });
}

async function main() {
  await startI18n(() => render());
  wire();
  startExit(() => {
    closeDialog();
    token = null;
    view = null;
    el.input.value = "";
    el.photos.replaceChildren();
  });
  el.form.hidden = false;
  document.body.dataset.ready = "true";
}

main();
