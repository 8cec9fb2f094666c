// Web Worker (module): hashes one image file in the victim's browser. The image
// never leaves the device; only the hashes are posted back to the page.
//
//   const w = new Worker("/static/js/hash-worker.js", { type: "module" });
//   w.postMessage({ type: "hash", id: 1, file });          // File, Blob or ArrayBuffer
//   w.onmessage = (e) => ...
//
// Messages to the page (all carry the request's `id`):
//   {type: "progress", stage, fraction}   stage: read | md5 | decode | pixels | pdq | region
//   {type: "result", pdq, quality, lowQuality, md5, region, width, height, format, bytes,
//                    hasTransparency, dihedral?, timings}
//   region: the region signal (region.js) as standard base64, or null where it could
//           not be made (regionError then says why: the photo is still protected by
//           its PDQ and MD5)
//   {type: "error", code, message, format} code: empty | too_large | unsupported |
//                                          truncated | unreadable | internal;
//                                          format: the sniffed format or null
// Error codes correspond to the server's media.* codes (media.empty,
// media.too_large, media.unsupported, media.truncated, media.invalid).
//
// Options on the request (all optional): maxBytes, maxPixels, maxSide (defaults are
// the server's MediaLimits), minQuality (default 50, Thresholds.pdq_min_quality),
// dihedral (also return the 8 dihedral hashes), region (default true: also make the
// region signal; false: hashes only, for a caller that needs no region signal).

import { md5Hex } from "./md5.js";
import { lumaRows, pdqFromLumaSource } from "./pdq.js";
import { reductionFactor, regionFromRowSource, toBase64 } from "./region.js";
import { BROWSER_FORMATS, BROWSER_FORMATS_TEXT, checkStructure, sniffFormat } from "./media-check.js";

const DEFAULTS = Object.freeze({
  maxBytes: 50 * 1024 * 1024,
  maxPixels: 120_000_000,
  maxSide: 30_000,
  minQuality: 50,
  dihedral: false,
  region: true,
});

class HashError extends Error {
  constructor(code, message, format = null) {
    super(message);
    this.code = code;
    this.format = format; // the sniffed format, where known (e.g. "heif" for unsupported)
  }
}

const now = () => performance.now();

function fmtCount(n) {
  return n.toLocaleString("en-US");
}

function checkSize(width, height, opts) {
  if (width > opts.maxSide || height > opts.maxSide || width * height > opts.maxPixels) {
    throw new HashError(
      "too_large",
      `The image is ${width}x${height} pixels (${fmtCount(width * height)}); the limit is ` +
        `${fmtCount(opts.maxPixels)} pixels and ${fmtCount(opts.maxSide)} per side.`,
    );
  }
}

async function toBlob(file) {
  if (file instanceof Blob) return file;
  if (file instanceof ArrayBuffer || ArrayBuffer.isView(file)) return new Blob([file]);
  throw new HashError("internal", "The worker was given something that is not a file.");
}

async function decode(blob, fmt) {
  try {
    // from-image: apply EXIF orientation, as the server does.
    // colorSpaceConversion none: keep the file's own pixel values, ignoring ICC
    // profiles and gamma, as the server (Pillow) does.
    return await createImageBitmap(blob, {
      imageOrientation: "from-image",
      colorSpaceConversion: "none",
      premultiplyAlpha: "none",
    });
  } catch (err) {
    throw new HashError(
      "unreadable",
      `This browser could not decode the ${fmt.toUpperCase()} file; it may be damaged ` +
        `(${err && err.message ? err.message : err}).`,
    );
  }
}

async function hashFile(msg, progress) {
  const opts = { ...DEFAULTS, ...(msg.options || {}) };
  const timings = {};
  let t = now();
  const blob = await toBlob(msg.file);
  if (blob.size === 0) throw new HashError("empty", "The file is empty (0 bytes).");
  if (blob.size > opts.maxBytes) {
    throw new HashError(
      "too_large",
      `The file is ${fmtCount(blob.size)} bytes; the limit is ${fmtCount(opts.maxBytes)}.`,
    );
  }
  progress("read", 0);
  const bytes = new Uint8Array(await blob.arrayBuffer());
  timings.read = now() - t;

  t = now();
  progress("md5", 0);
  const md5 = md5Hex(bytes);
  timings.md5 = now() - t;

  const fmt = sniffFormat(bytes);
  if (fmt === null) {
    throw new HashError(
      "unreadable",
      `This file is not an image that can be read here. Please choose a ${BROWSER_FORMATS_TEXT} image.`,
    );
  }
  if (!BROWSER_FORMATS.includes(fmt)) {
    throw new HashError(
      "unsupported",
      `${fmt === "heif" ? "HEIC/HEIF" : fmt.toUpperCase()} images can't be read by this browser. ` +
        `Please convert the photo to JPEG (most phones can share or export it as JPEG) and try again.`,
      fmt,
    );
  }
  const structure = checkStructure(bytes, fmt);
  if (structure.error) throw new HashError(structure.error.code, structure.error.message);
  if (structure.width && structure.height) checkSize(structure.width, structure.height, opts);

  t = now();
  progress("decode", 0);
  const bitmap = await decode(blob, fmt);
  const width = bitmap.width;
  const height = bitmap.height;
  timings.decode = now() - t;
  if (!width || !height) {
    bitmap.close();
    throw new HashError("unreadable", "The image has no pixels.");
  }
  checkSize(width, height, opts);

  t = now();
  progress("pixels", 0);
  let ctx;
  try {
    const canvas = new OffscreenCanvas(width, height);
    ctx = canvas.getContext("2d", { willReadFrequently: true, alpha: true });
    ctx.drawImage(bitmap, 0, 0);
  } catch (err) {
    throw new HashError(
      "too_large",
      `This browser could not hold a ${width}x${height} image in memory (${err && err.message}).`,
    );
  } finally {
    bitmap.close();
  }
  timings.pixels = now() - t;

  t = now();
  let hasTransparency = false;
  // Pixels are read from the canvas a strip at a time (see pdq.js: the blur pulls
  // luma rows in order), so no full-size copy of the image is ever made.
  const source = (y0, n, out) => {
    const data = ctx.getImageData(0, y0, width, n).data;
    if (!hasTransparency) {
      for (let k = 3; k < data.length; k += 4) {
        if (data[k] !== 255) {
          hasTransparency = true;
          break;
        }
      }
    }
    lumaRows(data, width, 0, n, out, 4);
  };
  progress("pdq", 0);
  const r = pdqFromLumaSource(height, width, source, {
    dihedral: opts.dihedral,
    onProgress: (f) => progress("pdq", f),
  });
  timings.pdq = now() - t;

  // The region signal reads the pixels again, strip by strip, keeping only a grey
  // picture at the scale the server decodes this file at (region.js).
  if (opts.region === false) {
    return hashesOnly(r, md5, { width, height, fmt, blob, hasTransparency, timings, opts });
  }
  t = now();
  progress("region", 0);
  let region = null;
  let regionError;
  try {
    const factor = reductionFactor(width, height, fmt === "jpeg");
    region = toBase64(
      regionFromRowSource(width, height, (y0, n) => ctx.getImageData(0, y0, width, n).data, { factor }),
    );
  } catch (err) {
    regionError = `The region signal could not be made: ${err && err.message ? err.message : err}`;
  }
  timings.region = now() - t;

  const result = hashesOnly(r, md5, { width, height, fmt, blob, hasTransparency, timings, opts });
  result.region = region;
  if (regionError) result.regionError = regionError;
  return result;
}

/** The result without a region signal (region: null). */
function hashesOnly(r, md5, { width, height, fmt, blob, hasTransparency, timings, opts }) {
  const result = {
    pdq: r.hash,
    quality: r.quality,
    lowQuality: r.quality < opts.minQuality,
    md5,
    region: null,
    width,
    height,
    format: fmt,
    bytes: blob.size,
    hasTransparency,
    timings,
  };
  if (opts.dihedral) result.dihedral = r.dihedral;
  return result;
}

self.onmessage = async (event) => {
  const msg = event.data || {};
  const id = msg.id;
  if (msg.type !== "hash") {
    self.postMessage({ type: "error", id, code: "internal", message: `unknown request ${msg.type}` });
    return;
  }
  const progress = (stage, fraction) => self.postMessage({ type: "progress", id, stage, fraction });
  try {
    const result = await hashFile(msg, progress);
    self.postMessage({ type: "result", id, ...result });
  } catch (err) {
    if (err instanceof HashError) {
      self.postMessage({ type: "error", id, code: err.code, message: err.message, format: err.format });
    } else {
      self.postMessage({
        type: "error",
        id,
        code: "internal",
        message: `Hashing failed unexpectedly: ${err && err.message ? err.message : err}`,
      });
    }
  }
};
