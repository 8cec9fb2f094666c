// /protect: choose photos, make their fingerprints here (hash-worker.js), show the
// person exactly what will be sent, and send only that: {signals, attestation} to
// POST /v1/cases (each photo's PDQ carries its region signal, region.js). The photos
// never leave the device: they are read by the worker, previewed through object URLs
// (blurred by default) and forgotten after sending. The case token is shown once, as
// a code without look-alike characters
// (case-code.js), with copy, download and print, and kept nowhere else. The file
// names the person chose are shown next to Photo 1, Photo 2… and written into the
// downloaded file and the printout, never sent.

import { callApi, problemText, randomKey } from "./api.js";
import { tokenToCode } from "./case-code.js";
import { startExit } from "./exit.js";
import { formatDate, startI18n, t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const MIN_QUALITY = Number(document.body.dataset.minQuality) || 50;
const MAX_PHOTOS = Number(document.body.dataset.maxPhotos) || 50;
const PENDING = new Set(["waiting", "hashing"]);

const el = {
  flow: $("flow"),
  files: $("files"),
  drop: $("drop"),
  photosBox: $("photos-box"),
  list: $("photo-list"),
  previews: $("previews"),
  chooseStatus: $("choose-status"),
  review: $("step-review"),
  reviewList: $("review-list"),
  payload: $("payload"),
  attSelf: $("att-self"),
  attIntimate: $("att-intimate"),
  attShare: $("att-share"),
  sendError: $("send-error"),
  send: $("send"),
  done: $("step-done"),
  doneSent: $("done-sent"),
  token: $("token"),
  copy: $("copy"),
  download: $("download"),
  tokenStatus: $("token-status"),
  print: $("print"),
  doneHeading: $("done-h"),
  printCode: $("print-code"),
  printWhere: $("print-where"),
  printCreated: $("print-created"),
  printPhotos: $("print-photos"),
  saved: $("saved"),
  afterSave: $("after-save"),
  again: $("again"),
  doneList: $("done-list"),
};

/** Photos in the order chosen: {id, file, name, url, state, progress, result, problem, node}. */
const photos = [];
let nextId = 1;
let worker = null;
let hashing = null; // the photo the worker is on
let sending = false;
let idempotency = { body: null, key: null };
let token = null; // the case token, only while the "save your code" step is shown
let code = null; // the same token as the person keeps it (see case-code.js)
let doneNames = [];
let doneAt = null;
let previewsShown = false;
let lastAnnounce = "";

// -- hashing --------------------------------------------------------------------------
// progress of each worker stage within the whole job (pdq reports its own fraction)
const STAGE_START = { read: 0.02, md5: 0.08, decode: 0.2, pixels: 0.35, pdq: 0.4, region: 0.8 };

function startWorker() {
  if (worker) return true;
  try {
    worker = new Worker("/static/js/hash-worker.js", { type: "module" });
  } catch {
    worker = null;
    return false;
  }
  worker.onmessage = (event) => onWorkerMessage(event.data || {});
  worker.onerror = (event) => {
    event.preventDefault();
    // the worker could not start (or crashed): nothing more can be hashed here
    worker = null;
    for (const p of photos) {
      if (PENDING.has(p.state)) setProblem(p, "no_worker");
    }
    hashing = null;
    refresh();
  };
  return true;
}

function pump() {
  if (hashing) return;
  const p = photos.find((x) => x.state === "waiting");
  if (!p) return;
  if (!startWorker()) {
    for (const x of photos) if (PENDING.has(x.state)) setProblem(x, "no_worker");
    refresh();
    return;
  }
  hashing = p;
  p.state = "hashing";
  updatePhoto(p);
  worker.postMessage({ type: "hash", id: p.id, file: p.file, options: { minQuality: MIN_QUALITY } });
}

function onWorkerMessage(msg) {
  const p = photos.find((x) => x.id === msg.id);
  if (msg.type === "progress") {
    if (p) {
      const start = STAGE_START[msg.stage] ?? 0;
      p.progress = msg.stage === "pdq" ? start + (STAGE_START.region - start) * (msg.fraction || 0) : start;
      if (p.node) p.node.bar.value = p.progress;
    }
    return;
  }
  if (hashing && hashing.id === msg.id) hashing = null;
  if (p) {
    if (msg.type === "result") {
      // region: the region signal (base64), or null where the worker could not make it
      p.result = { pdq: msg.pdq, quality: msg.quality, md5: msg.md5, region: msg.region ?? null };
      if (msg.lowQuality || msg.quality < MIN_QUALITY) {
        setProblem(p, "low_quality");
      } else if (photos.some((x) => x !== p && x.state === "ready" && x.result.md5 === msg.md5)) {
        p.state = "duplicate";
      } else {
        p.state = "ready";
      }
    } else {
      const code = msg.code === "unsupported" && msg.format === "heif" ? "unsupported_heic" : msg.code;
      setProblem(p, code);
    }
    p.progress = 1;
    announce(p);
    refresh();
  }
  pump();
}

function setProblem(p, code) {
  const known = ["empty", "too_large", "unsupported", "unsupported_heic", "truncated", "unreadable",
    "internal", "no_worker", "low_quality"];
  p.state = "problem";
  p.problem = known.includes(code) ? code : "internal";
}

// -- the list of chosen photos ------------------------------------------------------------
function reasonText(p) {
  if (p.state === "duplicate") return t("photo.duplicate");
  if (p.state !== "problem") return "";
  const text = t(`error.${p.problem}`);
  if (p.problem === "low_quality" && p.result) {
    return `${text} ${t("photo.quality", { quality: p.result.quality, min: MIN_QUALITY })}`;
  }
  return text;
}

function announce(p) {
  const text = p.state === "ready"
    ? t("photo.announce_ready", { name: p.name })
    : t("photo.announce_problem", { name: p.name, reason: reasonText(p) });
  lastAnnounce = text;
}

function addFiles(fileList) {
  const files = Array.from(fileList || []);
  if (!files.length) return;
  let refused = 0;
  for (const file of files) {
    const active = photos.filter((p) => PENDING.has(p.state) || p.state === "ready").length;
    if (active >= MAX_PHOTOS) {
      refused += 1;
      continue;
    }
    const p = {
      id: nextId++,
      file,
      name: file.name || `#${nextId - 1}`,
      url: URL.createObjectURL(file),
      state: "waiting",
      progress: 0,
      result: null,
      problem: null,
      node: null,
    };
    photos.push(p);
    el.list.append(buildPhoto(p));
    updatePhoto(p);
  }
  lastAnnounce = refused ? t("choose.too_many", { max: MAX_PHOTOS }) : "";
  el.photosBox.hidden = false;
  refresh();
  pump();
}

function buildPhoto(p) {
  const li = document.createElement("li");
  li.className = "photo";
  const thumb = document.createElement("div");
  thumb.className = "thumb";
  const img = document.createElement("img");
  img.alt = "";
  img.decoding = "async";
  img.addEventListener("error", () => thumb.classList.add("no-preview"));
  img.src = p.url;
  thumb.append(img);
  const info = document.createElement("div");
  info.className = "info";
  const name = document.createElement("p");
  name.className = "name";
  name.textContent = p.name;
  const bar = document.createElement("progress");
  bar.max = 1;
  bar.value = 0;
  const msg = document.createElement("p");
  msg.className = "msg";
  info.append(name, bar);
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "button small remove";
  remove.addEventListener("click", () => removePhoto(p));
  li.append(thumb, info, remove, msg);
  p.node = { li, bar, msg, remove };
  return li;
}

function updatePhoto(p) {
  const n = p.node;
  if (!n) return;
  n.li.dataset.state = p.state;
  n.bar.hidden = !PENDING.has(p.state);
  n.bar.value = p.progress;
  n.bar.setAttribute("aria-label", t("photo.progress_label", { name: p.name }));
  n.remove.textContent = t("photo.remove");
  n.remove.setAttribute("aria-label", t("photo.remove_label", { name: p.name }));
  if (p.state === "waiting") n.msg.textContent = t("photo.waiting");
  else if (p.state === "hashing") n.msg.textContent = t("photo.hashing");
  else if (p.state === "ready") n.msg.textContent = t("photo.ready");
  else n.msg.textContent = reasonText(p);
  n.msg.className = `msg ${p.state === "problem" ? "notice" : p.state === "ready" ? "ok-text" : ""}`;
}

function removePhoto(p) {
  const i = photos.indexOf(p);
  if (i < 0) return;
  photos.splice(i, 1);
  URL.revokeObjectURL(p.url);
  p.node.li.remove();
  p.file = null;
  // a later copy of the same file becomes the one that is sent
  if (p.state === "ready") {
    const dup = photos.find((x) => x.state === "duplicate" && x.result.md5 === p.result.md5);
    if (dup) dup.state = "ready";
  }
  const next = photos[i] || photos[i - 1];
  if (next) next.node.remove.focus();
  else {
    el.photosBox.hidden = true;
    el.files.focus();
  }
  lastAnnounce = "";
  refresh();
}

// -- what will be sent ------------------------------------------------------------------
function readyPhotos() {
  return photos.filter((p) => p.state === "ready");
}

/**
 * The exact body POST /v1/cases receives: hashes and the attestation as ticked right
 * now (the page sends only once both are), nothing else.
 */
function payloadText(ready) {
  const signals = [];
  for (const p of ready) {
    const pdq = { signal: "pdq", value: p.result.pdq, quality: p.result.quality };
    if (p.result.region) pdq.region = p.result.region;
    signals.push(pdq);
    signals.push({ signal: "md5", value: p.result.md5 });
  }
  const attestation = {
    self_or_guardian: el.attSelf.checked,
    intimate: el.attIntimate.checked,
    share_with_partners: el.attShare.checked, // optional: never required to send
  };
  return JSON.stringify({ signals, attestation }, null, 2);
}

/** Keypoints and bytes of a region signal given in base64 (its header: "VR", version,
 * width, height, count as little-endian 16-bit numbers). */
function regionSize(b64) {
  const head = atob(b64.slice(0, 12));
  const padding = b64.endsWith("==") ? 2 : b64.endsWith("=") ? 1 : 0;
  const points = head.charCodeAt(7) | (head.charCodeAt(8) << 8);
  return { points, bytes: (b64.length / 4) * 3 - padding };
}

function hashLine(label, value, note) {
  const dt = document.createElement("dt");
  dt.textContent = label;
  const dd = document.createElement("dd");
  const code = document.createElement("code");
  code.className = "hash";
  code.textContent = value;
  dd.append(code);
  if (note) {
    const span = document.createElement("span");
    span.className = "hint";
    span.textContent = note;
    dd.append(span);
  }
  return [dt, dd];
}

function renderReview() {
  const ready = readyPhotos();
  el.review.hidden = ready.length === 0;
  el.reviewList.replaceChildren();
  ready.forEach((p, i) => {
    const li = document.createElement("li");
    const head = document.createElement("h3");
    head.textContent = t("review.photo", { n: i + 1 });
    const local = document.createElement("span");
    local.className = "local-name";
    local.textContent = ` (${p.name})`;
    head.append(local);
    const dl = document.createElement("dl");
    dl.append(
      ...hashLine(t("review.pdq"), p.result.pdq, t("review.quality", { quality: p.result.quality })),
      ...hashLine(t("review.md5"), p.result.md5),
    );
    if (p.result.region) {
      // 11 kB of base64: its start here, all of it in the raw view below
      const { points, bytes } = regionSize(p.result.region);
      dl.append(...hashLine(t("review.region"), `${p.result.region.slice(0, 32)}…`,
        t("review.region_size", { points, bytes })));
    }
    li.append(head, dl);
    el.reviewList.append(li);
  });
  el.payload.textContent = ready.length ? payloadText(ready) : "";
}

function refresh() {
  for (const p of photos) updatePhoto(p);
  const counted = photos.filter((p) => p.state !== "duplicate");
  const ready = readyPhotos().length;
  const status = counted.length ? t("choose.status", { ready, total: counted.length }) : "";
  el.chooseStatus.textContent = [lastAnnounce, status].filter(Boolean).join(" ");
  el.previews.textContent = t(previewsShown ? "choose.hide_previews" : "choose.show_previews");
  renderReview();
}

function showSendError(text, focusTarget) {
  el.sendError.textContent = text;
  el.sendError.hidden = false;
  if (focusTarget) focusTarget.focus();
}

async function send() {
  if (sending) return;
  el.sendError.hidden = true;
  for (const box of [el.attSelf, el.attIntimate]) box.removeAttribute("aria-invalid");
  if (photos.some((p) => PENDING.has(p.state))) return showSendError(t("review.waiting"));
  const ready = readyPhotos();
  if (!ready.length) return showSendError(t("review.none"));
  const unchecked = [el.attSelf, el.attIntimate].filter((box) => !box.checked);
  if (unchecked.length) {
    for (const box of unchecked) {
      box.setAttribute("aria-invalid", "true");
      box.setAttribute("aria-describedby", "send-error");
    }
    return showSendError(t("attest.missing"), unchecked[0]);
  }
  const body = payloadText(ready);
  // a retry of the same submission (say, after the connection dropped) gets the same
  // case back instead of making a second one
  if (idempotency.body !== body) idempotency = { body, key: randomKey() };
  sending = true;
  // aria-disabled, not disabled: a disabled button would drop the keyboard focus
  el.send.setAttribute("aria-disabled", "true");
  el.send.textContent = t("send.sending");
  const result = await callApi("POST", "/v1/cases", {
    body,
    headers: { "Content-Type": "application/json", "Idempotency-Key": idempotency.key },
  });
  sending = false;
  el.send.removeAttribute("aria-disabled");
  el.send.textContent = t("send.button");
  if (!result.ok) {
    return showSendError(result.code === "intake.low_quality" ? t("send.low_quality") : problemText(result));
  }
  showDone(result.data.case_token, ready);
}

// -- the case code ------------------------------------------------------------------------
function warnBeforeLeaving(event) {
  event.preventDefault();
  event.returnValue = "";
}

function clearPhotos() {
  for (const p of photos) {
    URL.revokeObjectURL(p.url);
    p.file = null;
  }
  photos.length = 0;
  el.list.replaceChildren();
  el.photosBox.hidden = true;
  el.attSelf.checked = false;
  el.attIntimate.checked = false;
  el.attShare.checked = false;
  idempotency = { body: null, key: null };
  lastAnnounce = "";
}

function showDone(caseToken, ready) {
  token = caseToken;
  code = tokenToCode(token) || token; // a token of another shape is shown as it is
  doneNames = ready.map((p) => p.name);
  doneAt = new Date();
  clearPhotos();
  refresh();
  el.flow.hidden = true;
  el.done.hidden = false;
  el.token.value = code;
  document.documentElement.classList.add("has-code"); // printing gives the code sheet
  el.saved.checked = false;
  el.afterSave.hidden = true;
  el.tokenStatus.textContent = "";
  renderDone();
  window.addEventListener("beforeunload", warnBeforeLeaving);
  // the new step, not the page top: its heading is read out and is on screen
  el.doneHeading.focus({ preventScroll: true });
  el.doneHeading.scrollIntoView({ block: "start" });
}

/** "Photo 1: beach.jpg" (a name as the person's device gave it, on one line). */
function photoLine(name, i) {
  return `${t("review.photo", { n: i + 1 })}: ${name.replace(/[\u0000-\u001f\u007f]+/g, " ")}`;
}

function renderDone() {
  el.doneSent.textContent = t("done.sent");
  const items = () => doneNames.map((name, i) => {
    const li = document.createElement("li");
    li.textContent = photoLine(name, i);
    return li;
  });
  el.doneList.replaceChildren(...items());
  // the printout (print-only: see @media print in veil.css)
  el.printCode.textContent = code || "";
  el.printWhere.textContent = code ? `${window.location.origin}/case` : "";
  el.printCreated.textContent = doneAt ? t("file.created", { date: formatDate(doneAt) }) : "";
  el.printPhotos.replaceChildren(...items());
}

function forgetDone() {
  token = null;
  code = null;
  doneNames = [];
  doneAt = null;
  el.token.value = "";
  document.documentElement.classList.remove("has-code");
  renderDone();
}

async function copyToken() {
  if (!token) return;
  try {
    await navigator.clipboard.writeText(code);
    el.tokenStatus.textContent = t("done.copied");
    return;
  } catch {
    // no clipboard permission (or an insecure context): the old way
  }
  el.token.focus();
  el.token.select();
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  el.tokenStatus.textContent = t(copied ? "done.copied" : "done.copy_failed");
}

function downloadToken() {
  if (!token) return;
  const lines = [
    t("file.title"),
    "",
    code,
    "",
    t("file.keep"),
    `${window.location.origin}/case`,
    "",
    t("file.once"),
    t("file.created", { date: formatDate(doneAt || new Date()) }),
    "",
    t("file.photos", { n: doneNames.length }),
    ...doneNames.map(photoLine),
    t("file.names_note"),
  ];
  const blob = new Blob([lines.join("\r\n") + "\r\n"], { type: "text/plain;charset=utf-8" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = t("file.name");
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
  el.tokenStatus.textContent = t("done.downloaded", { file: t("file.name") });
}

// the sheet is current already: renderDone runs when the code is made and on every
// change of language (Ctrl+P prints it too)
function printSheet() {
  if (token) window.print();
}

function startAgain() {
  forgetDone();
  el.done.hidden = true;
  el.flow.hidden = false;
  window.removeEventListener("beforeunload", warnBeforeLeaving);
  refresh();
  $("choose-h").setAttribute("tabindex", "-1");
  $("choose-h").focus();
}

// -- wiring -------------------------------------------------------------------------------
function wire() {
  el.files.addEventListener("change", () => {
    addFiles(el.files.files);
    el.files.value = ""; // the same file can be chosen again after removing it
  });
  for (const type of ["dragenter", "dragover"]) {
    el.drop.addEventListener(type, (e) => {
      e.preventDefault();
      el.drop.classList.add("dragging");
    });
  }
  for (const type of ["dragleave", "drop"]) {
    el.drop.addEventListener(type, () => el.drop.classList.remove("dragging"));
  }
  el.drop.addEventListener("drop", (e) => {
    e.preventDefault();
    addFiles(e.dataTransfer && e.dataTransfer.files);
  });
  // a photo dropped anywhere else must not open in this tab (the page would be lost)
  for (const type of ["dragover", "drop"]) window.addEventListener(type, (e) => e.preventDefault());

  el.previews.addEventListener("click", () => {
    previewsShown = !previewsShown;
    el.list.classList.toggle("blurred", !previewsShown);
    refresh();
  });
  el.send.addEventListener("click", send);
  for (const box of [el.attSelf, el.attIntimate, el.attShare]) {
    box.addEventListener("change", () => {
      if (box.checked) box.removeAttribute("aria-invalid");
      renderReview(); // what will be sent shows the attestation as it is now
    });
  }
  el.copy.addEventListener("click", copyToken);
  el.download.addEventListener("click", downloadToken);
  el.print.addEventListener("click", printSheet);
  el.saved.addEventListener("change", () => {
    el.afterSave.hidden = !el.saved.checked;
    if (el.saved.checked) window.removeEventListener("beforeunload", warnBeforeLeaving);
    else if (token) window.addEventListener("beforeunload", warnBeforeLeaving);
  });
  el.again.addEventListener("click", startAgain);
}

async function main() {
  await startI18n(() => {
    refresh();
    if (token) renderDone();
  });
  wire();
  startExit(() => {
    // leaving on purpose, at once: no "are you sure?", and nothing left behind
    window.removeEventListener("beforeunload", warnBeforeLeaving);
    if (worker) worker.terminate();
    worker = null;
    clearPhotos();
    forgetDone();
  });
  el.flow.hidden = false;
  document.body.dataset.ready = "true";
}

main();
