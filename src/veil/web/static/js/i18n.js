// Page text in the person's language. The server renders each page in the language
// its Accept-Language (or ?lang=) asks for; this module loads the same catalog
// (/static/i18n/<lang>.json) for the text the scripts write, and switches language
// in place (no reload, so nothing chosen on the page is lost) when the person picks
// another one. Nothing is stored: no cookie, no localStorage.
//
//   await startI18n(() => rerenderDynamicText());
//   t("photo.quality", { quality: 80, min: 50 })

export const LANGUAGES = Object.freeze(["en", "ru", "uk"]);

let current = "en";
let messages = {};
const listeners = [];

async function load(lang) {
  const r = await fetch(`/static/i18n/${lang}.json`, { credentials: "omit" });
  if (!r.ok) throw new Error(`no catalog for ${lang}`);
  return r.json();
}

/** The translated text of `key`, with `{name}` placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const text = Object.prototype.hasOwnProperty.call(messages, key) ? messages[key] : key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

export function language() {
  return current;
}

/** A date and time in the page's language. */
export function formatDate(value) {
  const d = value instanceof Date ? value : new Date(value);
  // the browser's own regional variant of the page language (en-GB: 25 November 2026)
  const regional = (navigator.languages || []).find((l) => l.split("-")[0] === current);
  return new Intl.DateTimeFormat(regional || current, { dateStyle: "long", timeStyle: "short" })
    .format(d);
}

/** Translate every [data-i18n] (text) and [data-i18n-attr="attr:key;…"] under root. */
export function applyTranslations(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":");
      if (attr && key) el.setAttribute(attr.trim(), t(key.trim()));
    }
  }
}

function markCurrent() {
  document.documentElement.lang = current;
  for (const a of document.querySelectorAll("[data-lang]")) {
    if (a.dataset.lang === current) a.setAttribute("aria-current", "true");
    else a.removeAttribute("aria-current");
  }
  // links to the other page keep the language (it is not sensitive; tokens never are in URLs)
  for (const a of document.querySelectorAll("[data-lang-href]")) {
    a.setAttribute("href", `${a.dataset.langHref}?lang=${current}`);
  }
}

/** Switch the page to `lang` in place. */
export async function setLanguage(lang) {
  if (!LANGUAGES.includes(lang)) return;
  messages = await load(lang);
  current = lang;
  applyTranslations();
  markCurrent();
  const url = new URL(window.location.href);
  url.searchParams.set("lang", lang);
  window.history.replaceState(null, "", url.pathname + url.search);
  for (const fn of listeners) fn(lang);
}

/**
 * Load the catalog of the language the server chose (<html lang>), wire the language
 * links, and call `onChange` after each later switch.
 */
export async function startI18n(onChange) {
  if (onChange) listeners.push(onChange);
  const lang = document.documentElement.lang;
  current = LANGUAGES.includes(lang) ? lang : "en";
  messages = await load(current);
  markCurrent();
  for (const a of document.querySelectorAll("[data-lang]")) {
    a.addEventListener("click", (event) => {
      event.preventDefault();
      setLanguage(a.dataset.lang).then(() => a.focus());
    });
  }
}
