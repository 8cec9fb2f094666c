// Checks on an image file's bytes before the browser decodes it: which format it
// is, whether this browser can decode it, whether it is complete, and (for JPEG
// and PNG) the size it declares. Browsers quietly draw a truncated JPEG or PNG
// with a grey or transparent remainder; the server (Pillow with
// LOAD_TRUNCATED_IMAGES off) refuses such a file, so the page must refuse it too
// rather than hash half a picture.

/** Formats a browser decodes with createImageBitmap (all current engines). */
export const BROWSER_FORMATS = Object.freeze(["jpeg", "png", "gif", "webp", "bmp", "avif"]);

/** Human-readable list for messages. */
export const BROWSER_FORMATS_TEXT = "JPEG, PNG, WebP, GIF, BMP or AVIF";

function ascii(bytes, start, len) {
  let s = "";
  for (let i = start; i < start + len && i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

function u32be(b, p) {
  return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}

/** 'jpeg' | 'png' | 'gif' | 'webp' | 'bmp' | 'avif' | 'heif' | 'tiff' | null. */
export function sniffFormat(bytes) {
  const n = bytes.length;
  if (n >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "jpeg";
  if (n >= 8 && ascii(bytes, 0, 8) === "\x89PNG\r\n\x1a\n") return "png";
  if (n >= 6 && (ascii(bytes, 0, 6) === "GIF87a" || ascii(bytes, 0, 6) === "GIF89a")) return "gif";
  if (n >= 12 && ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 4) === "WEBP") return "webp";
  if (n >= 14 && bytes[0] === 0x42 && bytes[1] === 0x4d) return "bmp";
  if (n >= 4 && (ascii(bytes, 0, 4) === "II*\0" || ascii(bytes, 0, 4) === "MM\0*")) return "tiff";
  if (n >= 12 && ascii(bytes, 4, 4) === "ftyp") {
    const boxLen = Math.min(u32be(bytes, 0), n);
    const brands = [ascii(bytes, 8, 4)];
    for (let p = 16; p + 4 <= boxLen; p += 4) brands.push(ascii(bytes, p, 4));
    if (brands.includes("avif") || brands.includes("avis")) return "avif";
    const heif = ["heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1"];
    if (brands.some((b) => heif.includes(b))) return "heif";
  }
  return null;
}

const truncated = (fmt, what) => ({
  code: "truncated",
  message: `The ${fmt.toUpperCase()} file is incomplete (${what}); it may not have finished downloading or copying.`,
});

/**
 * Structural check. Returns {width, height} when the header gives them (JPEG, PNG),
 * {} when the format has no check here, or {error: {code, message}}.
 */
export function checkStructure(bytes, fmt) {
  switch (fmt) {
    case "jpeg":
      return checkJpeg(bytes);
    case "png":
      return checkPng(bytes);
    case "gif":
      return checkGif(bytes);
    case "webp": {
      const riffLen = (bytes[4] | (bytes[5] << 8) | (bytes[6] << 16) | (bytes[7] << 24)) >>> 0;
      if (riffLen + 8 > bytes.length) return { error: truncated(fmt, "the file is shorter than its header says") };
      return {};
    }
    case "bmp": {
      const declared = (bytes[2] | (bytes[3] << 8) | (bytes[4] << 16) | (bytes[5] << 24)) >>> 0;
      if (declared > bytes.length) return { error: truncated(fmt, "the file is shorter than its header says") };
      return {};
    }
    default:
      return {};
  }
}

// Walk the marker segments up to the first start-of-scan, taking the frame size
// from the SOF segment; the entropy-coded data after it must be followed by an
// end-of-image marker (FF D9), which never occurs inside scan data (FF is stuffed).
function checkJpeg(b) {
  const n = b.length;
  let p = 2;
  let width = 0;
  let height = 0;
  for (;;) {
    while (p < n && b[p] !== 0xff) p++; // tolerate junk between segments, as decoders do
    while (p < n && b[p] === 0xff) p++;
    if (p >= n) return { error: truncated("jpeg", "it ends before the image data") };
    const m = b[p++];
    if (m === 0xd9) return { error: { code: "unreadable", message: "The JPEG file has no image data." } };
    if ((m >= 0xd0 && m <= 0xd7) || m === 0x01) continue;
    if (p + 2 > n) return { error: truncated("jpeg", "it ends inside a header") };
    const len = (b[p] << 8) | b[p + 1];
    if (len < 2 || p + len > n) return { error: truncated("jpeg", "it ends inside a header") };
    const isSof = m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
    if (isSof && len >= 7) {
      height = (b[p + 3] << 8) | b[p + 4];
      width = (b[p + 5] << 8) | b[p + 6];
    }
    if (m === 0xda) {
      const scanStart = p + len;
      for (let q = n - 2; q >= scanStart; q--) {
        if (b[q] === 0xff && b[q + 1] === 0xd9) return width && height ? { width, height } : {};
      }
      return { error: truncated("jpeg", "the image data stops before its end marker") };
    }
    p += len;
  }
}

// Walk the chunks: each must fit in the file, and IEND must be reached.
function checkPng(b) {
  const n = b.length;
  let p = 8;
  let width = 0;
  let height = 0;
  while (p + 8 <= n) {
    const len = u32be(b, p);
    const type = ascii(b, p + 4, 4);
    if (p + 12 + len > n) return { error: truncated("png", `it ends inside the ${type} chunk`) };
    if (type === "IHDR" && len >= 8) {
      width = u32be(b, p + 8);
      height = u32be(b, p + 12);
    }
    if (type === "IEND") return width && height ? { width, height } : {};
    p += 12 + len;
  }
  return { error: truncated("png", "its end chunk is missing") };
}

// Walk the blocks to the trailer (0x3B).
function checkGif(b) {
  const n = b.length;
  if (n < 13) return { error: truncated("gif", "it ends inside the header") };
  const width = b[6] | (b[7] << 8);
  const height = b[8] | (b[9] << 8);
  let p = 13;
  if (b[10] & 0x80) p += 3 << ((b[10] & 7) + 1);
  const skipSubBlocks = () => {
    while (p < n) {
      const size = b[p++];
      if (size === 0) return true;
      p += size;
    }
    return false;
  };
  while (p < n) {
    const t = b[p++];
    if (t === 0x3b) return { width, height };
    if (t === 0x21) {
      p++; // label
      if (!skipSubBlocks()) break;
    } else if (t === 0x2c) {
      if (p + 9 > n) break;
      const flags = b[p + 8];
      p += 9;
      if (flags & 0x80) p += 3 << ((flags & 7) + 1);
      p++; // LZW minimum code size
      if (!skipSubBlocks()) break;
    } else {
      return { error: { code: "unreadable", message: "The GIF file is corrupt." } };
    }
  }
  return { error: truncated("gif", "its trailer is missing") };
}
