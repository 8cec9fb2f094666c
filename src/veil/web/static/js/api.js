// Calls to Veil's own API from the pages: same origin only, no cookies, no cache,
// no referrer. Every answer becomes {ok, status, data} or {ok: false, status, code,
// message} (status 0 and code "offline" when the server could not be reached).

import { t } from "./i18n.js";

export async function callApi(method, path, { body, headers = {} } = {}) {
  let response;
  try {
    response = await fetch(path, {
      method,
      body,
      headers,
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
      redirect: "error",
    });
  } catch (err) {
    return { ok: false, status: 0, code: "offline", message: String(err && err.message) };
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (response.ok) return { ok: true, status: response.status, data };
  const error = (data && data.error) || {};
  return {
    ok: false,
    status: response.status,
    code: error.code || `http_${response.status}`,
    message: error.message || response.statusText || String(response.status),
  };
}

/** Plain-language text for a failed call (connection, rate limit, anything else). */
export function problemText(result) {
  if (result.code === "offline") return t("common.offline");
  if (result.status === 429) return t("common.rate_limited");
  return t("common.failed", { message: result.message });
}

/** A random key (for Idempotency-Key), also where crypto.randomUUID is missing. */
export function randomKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
