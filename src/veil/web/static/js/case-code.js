// The case code as people see, write down, print and type it.
//
// The server makes the case token: secrets.token_urlsafe(32), 43 characters of
// A-Z a-z 0-9 - _ that carry 32 random bytes. Written down or read aloud, that has
// look-alikes (I, l and 1; O and 0) and capitals that matter. The pages therefore
// show the same 32 bytes in another alphabet: the digits 2-9 and the capital letters
// without I and O (32 symbols, 5 bits each), in groups of four:
//
//   token  "q0Jb1lO…" (43 characters)   <->   code "MD2X-8KTA-…" (52 characters)
//
// Nothing is lost either way: codeToToken(tokenToCode(t)) === t for every token the
// server makes, and the case page turns a typed code back into the token before it
// sends it (in X-Case-Token, as always). Typing is forgiving: small letters, spaces
// and dashes do not matter. A raw token (from the API, or a file saved before codes
// existed) is still accepted as it is.

export const ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const GROUP = 4;
/** Bytes in a case token (secrets.token_urlsafe(32)), and so symbols in a code. */
const TOKEN_BYTES = 32;
export const CODE_LENGTH = Math.ceil((TOKEN_BYTES * 8) / 5); // 52

/** Bytes of unpadded base64url text, or null if it is not exactly that. */
function fromBase64url(text) {
  if (!/^[A-Za-z0-9_-]+$/.test(text) || text.length % 4 === 1) return null;
  const bytes = [];
  let acc = 0;
  let bits = 0;
  for (const ch of text) {
    acc = ((acc << 6) | B64URL.indexOf(ch)) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((acc >> bits) & 0xff);
    }
  }
  if (acc & ((1 << bits) - 1)) return null; // leftover bits must be zero (canonical)
  return bytes;
}

function toBase64url(bytes) {
  let out = "";
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = ((acc << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += B64URL[(acc >> bits) & 63];
    }
  }
  if (bits) out += B64URL[(acc << (6 - bits)) & 63];
  return out;
}

function toSymbols(bytes) {
  let out = "";
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = ((acc << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(acc >> bits) & 31];
    }
  }
  if (bits) out += ALPHABET[(acc << (5 - bits)) & 31];
  return out;
}

function fromSymbols(text) {
  const bytes = [];
  let acc = 0;
  let bits = 0;
  for (const ch of text) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) return null;
    acc = ((acc << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((acc >> bits) & 0xff);
    }
  }
  if (bits >= 5 || acc & ((1 << bits) - 1)) return null; // not a whole code
  return bytes;
}

/** "ABCDEFGH…" as "ABCD-EFGH-…". */
export function group(symbols) {
  return symbols.match(new RegExp(`.{1,${GROUP}}`, "g")).join("-");
}

/**
 * The code a person keeps for a case token, or null for a token that is not 32
 * bytes of canonical base64url (then the page shows the token itself).
 */
export function tokenToCode(token) {
  const bytes = fromBase64url(token || "");
  if (!bytes || bytes.length !== TOKEN_BYTES) return null;
  const code = group(toSymbols(bytes));
  return codeToToken(code) === token ? code : null;
}

/**
 * The token a typed or pasted code stands for, or null if the text is not a code:
 * 52 symbols of the alphabet once spaces and dashes are dropped (small letters are
 * fine).
 */
export function codeToToken(text) {
  const symbols = String(text || "").replace(/[\s-]+/g, "").toUpperCase();
  // only the exact length: a raw token (43 characters) is never taken for a code
  if (symbols.length !== CODE_LENGTH) return null;
  const bytes = fromSymbols(symbols);
  return bytes ? toBase64url(bytes) : null;
}

/**
 * What to send in X-Case-Token for what the person entered: the token of a code, or
 * else the text itself without spaces (a raw token).
 */
export function tokenFromInput(text) {
  return codeToToken(text) || String(text || "").replace(/\s+/g, "");
}
