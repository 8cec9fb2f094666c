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

/**
 * Bytes as symbols of ``alphabet`` (``width`` bits each, the last padded with zero
 * bits): base64url with 6, the case code's alphabet with 5.
 */
function encode(bytes, alphabet, width) {
  const mask = (1 << width) - 1;
  let out = "";
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = ((acc << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= width) {
      bits -= width;
      out += alphabet[(acc >> bits) & mask];
    }
  }
  if (bits) out += alphabet[(acc << (width - bits)) & mask];
  return out;
}

/**
 * The bytes ``encode`` made ``text`` from, or null if it could not have: a symbol
 * outside ``alphabet``, a whole unused symbol, or padding bits that are not zero
 * (only the canonical text of some bytes is accepted).
 */
function decode(text, alphabet, width) {
  const bytes = [];
  let acc = 0;
  let bits = 0;
  for (const ch of text) {
    const v = alphabet.indexOf(ch);
    if (v < 0) return null;
    acc = ((acc << width) | v) & 0xffff;
    bits += width;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((acc >> bits) & 0xff);
    }
  }
  if (bits >= width || acc & ((1 << bits) - 1)) return null;
  return bytes;
}

const toBase64url = (bytes) => encode(bytes, B64URL, 6);
const fromBase64url = (text) => decode(text, B64URL, 6);
const toSymbols = (bytes) => encode(bytes, ALPHABET, 5);
const fromSymbols = (text) => decode(text, ALPHABET, 5);

/** "ABCDEFGH…" as "ABCD-EFGH-…". */
export function group(symbols) {
  return symbols.match(new RegExp(`.{1,${GROUP}}`, "g")).join("-");
}

/**
 * The code a person keeps for a case token, or null for a token that is not 32
 * bytes of canonical base64url (then the page shows the token itself). ``decode``
 * takes only canonical text, so the code always turns back into this very token.
 */
export function tokenToCode(token) {
  const bytes = fromBase64url(token || "");
  if (!bytes || bytes.length !== TOKEN_BYTES) return null;
  return group(toSymbols(bytes));
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
