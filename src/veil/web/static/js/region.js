// The region signal (veil.regions, docs/derived.md) in plain JavaScript: ORB keypoints
// of a photo, spread over a 4x4 grid, as the blob that veil.regions.blob.decode reads.
// Made on the victim's device from decoded pixels; only the blob is sent.
//
// The server makes the same signal with OpenCV (cv2.ORB, patch 31, FAST threshold 10,
// 8 levels at 1.2). This is Veil's own implementation of the same steps, written so
// that its keypoints and descriptor bits agree with OpenCV's (docs/derived.md, "In the
// browser", gives the tolerance measured on the whole corpus):
//
//   grey       Pillow's convert("L"): (19595 R + 38470 G + 7471 B + 2^15) >> 16
//   reduce     a JPEG whose longer side allows it is averaged by 2, 4 or 8 first, as
//              the server decodes it at that scale (JPEG's scaled IDCT)
//   working    longer side 512: area average when shrinking, OpenCV's fixed-point
//              bilinear (11-bit weights) when enlarging
//   pyramid    8 levels, each 1/1.2 of the one before, bit-exact bilinear (8-bit weights)
//   FAST-9     threshold 10, score = largest threshold that still passes, minus 1,
//              3x3 non-maximum suppression; 15 pixels of each level's edge dropped
//   quotas     per level, best FAST scores (2x the quota), then best Harris responses
//   angle      intensity centroid over the 31-pixel disc, OpenCV's fast atan2
//   BRIEF      7x7 Gaussian (sigma 2, float kernel) of each level, then 256 tests of
//              ORB's pattern (orb-pattern.js, measured from OpenCV itself) turned by
//              the keypoint's angle
//   spread     Veil's: cells of a 4x4 grid in turn, each strongest first, 256 kept
//   blob       b"VR\x01", width, height, n (u16 LE), n x (x, y) quantised to 1/255 of
//              each side, n x 32 descriptor bytes
//
// OpenCV computes in float32 where it matters (Harris responses, pyramid positions,
// the angle and the turned pattern): those steps round with Math.fround as it does.

import { ORB_PATTERN } from "./orb-pattern.js";

export const WORK_SIDE = 512;
export const FAST_THRESHOLD = 10;
export const N_LEVELS = 8;
export const DETECT_POINTS = 3000;
export const EDGE_THRESHOLD = 15;
export const PATCH_SIZE = 31;
export const BANK_POINTS = 256;
export const BANK_GRID = 4;
export const DESCRIPTOR_BYTES = 32;
export const MAX_BLOB_SIDE = 4096;
/** Shortest working side worth searching (veil.regions.features.MIN_SIDE). */
export const MIN_SIDE = 32;
/** Rows of RGBA asked of a row source at a time (see regionFromRowSource). */
export const STRIP_ROWS = 64;

const f32 = Math.fround;
const SCALE_FACTOR = f32(1.2); // cv2.ORB keeps the float it was given
const HALF_PATCH = PATCH_SIZE >> 1;
// room around each pyramid level: the turned pattern reaches ceil(15 * sqrt 2) pixels
const BORDER = Math.max(EDGE_THRESHOLD, Math.ceil(HALF_PATCH * Math.SQRT2), 4) + 1;
const HARRIS_K = f32(0.04);
const HARRIS_BLOCK = 7;

// -- rounding as C and NumPy do it ------------------------------------------------------
/** Round half to even (cvRound, np.rint, Python's round). */
export function roundEven(x) {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// -- grey --------------------------------------------------------------------------------
/** Grey of `n` rows of RGBA (`channels` = 4) or RGB into `out` at `offset`, as Pillow's
 * convert("L") computes it (ITU-R 601 weights in 16-bit fixed point). */
export function greyRows(pixels, width, n, out, offset = 0, channels = 4) {
  const count = width * n;
  for (let k = 0, p = 0; k < count; k++, p += channels) {
    out[offset + k] = (pixels[p] * 19595 + pixels[p + 1] * 38470 + pixels[p + 2] * 7471 + 0x8000) >>> 16;
  }
  return out;
}

/** The server's decode scale for the region signal (veil.regions.features.grey_at):
 * the largest of 8, 4, 2 that keeps the longer side at least WORK_SIDE, for JPEG only. */
export function reductionFactor(width, height, isJpeg) {
  if (!isJpeg) return 1;
  const longer = Math.max(width, height);
  for (const k of [8, 4, 2]) {
    if (Math.floor(longer / k) >= WORK_SIDE && Math.floor(width / k) >= 1 && Math.floor(height / k) >= 1) {
      return k;
    }
  }
  return 1;
}

/**
 * Grey picture of `width` x `height` pixels pulled as RGBA strips through
 * `source(y0, n)` (rows y0..y0+n-1, in order), averaged over `factor` x `factor`
 * blocks (the last, partial ones over the pixels they hold). Only the reduced grey
 * picture is kept. Returns {grey, width, height}.
 */
export function greyFromRowSource(width, height, source, factor = 1) {
  const rw = Math.ceil(width / factor);
  const rh = Math.ceil(height / factor);
  const grey = new Uint8Array(rw * rh);
  const line = new Uint8Array(width * STRIP_ROWS);
  const sums = factor > 1 ? new Uint32Array(rw) : null;
  for (let y0 = 0; y0 < height; y0 += STRIP_ROWS) {
    const n = Math.min(STRIP_ROWS, height - y0);
    greyRows(source(y0, n), width, n, line, 0);
    if (factor === 1) {
      grey.set(line.subarray(0, width * n), y0 * width);
      continue;
    }
    for (let r = 0; r < n; r++) {
      const y = y0 + r;
      const row = r * width;
      for (let x = 0; x < width; x++) sums[(x / factor) | 0] += line[row + x];
      const last = y === height - 1;
      if ((y + 1) % factor === 0 || last) {
        const bh = y - Math.floor(y / factor) * factor + 1;
        const ry = Math.floor(y / factor);
        for (let bx = 0; bx < rw; bx++) {
          const bw = Math.min(factor, width - bx * factor);
          grey[ry * rw + bx] = Math.floor((sums[bx] + ((bw * bh) >> 1)) / (bw * bh));
        }
        sums.fill(0);
      }
    }
  }
  return { grey, width: rw, height: rh };
}

// -- resizing ----------------------------------------------------------------------------
/** cv2.resize(INTER_AREA) when shrinking: each output pixel is the average of the source
 * area it covers (float32 weights, summed along rows then down columns). */
function areaTable(src, dst) {
  const scale = src / dst;
  const table = [];
  for (let d = 0; d < dst; d++) {
    const f1 = d * scale;
    const f2 = f1 + scale;
    let s2 = Math.min(Math.floor(f2), src - 1);
    const s1 = Math.min(Math.ceil(f1), s2);
    const cell = Math.min(scale, src - f1);
    const idx = [];
    const w = [];
    if (s1 - f1 > 1e-3) {
      idx.push(s1 - 1);
      w.push(f32((s1 - f1) / cell));
    }
    for (let s = s1; s < s2; s++) {
      idx.push(s);
      w.push(f32(1 / cell));
    }
    if (f2 - s2 > 1e-3) {
      idx.push(s2);
      w.push(f32(Math.min(Math.min(f2 - s2, 1), cell) / cell));
    }
    table.push([idx, w]);
  }
  return table;
}

export function resizeArea(src, sw, sh, dw, dh) {
  const tx = areaTable(sw, dw);
  const ty = areaTable(sh, dh);
  const rows = new Float32Array(sh * dw);
  for (let y = 0; y < sh; y++) {
    const s = y * sw;
    for (let d = 0; d < dw; d++) {
      const [idx, w] = tx[d];
      let acc = 0;
      for (let k = 0; k < idx.length; k++) acc = f32(acc + f32(src[s + idx[k]] * w[k]));
      rows[y * dw + d] = acc;
    }
  }
  const out = new Uint8Array(dw * dh);
  const acc = new Float32Array(dw);
  for (let d = 0; d < dh; d++) {
    const [idx, w] = ty[d];
    acc.fill(0);
    for (let k = 0; k < idx.length; k++) {
      const r = idx[k] * dw;
      const b = w[k];
      for (let x = 0; x < dw; x++) acc[x] = acc[x] + f32(rows[r + x] * b);
    }
    for (let x = 0; x < dw; x++) out[d * dw + x] = Math.min(255, Math.max(0, roundEven(acc[x])));
  }
  return out;
}

/** cv2.resize(INTER_LINEAR) for uint8: 11-bit weights, rows then columns; columns as
 * OpenCV's vector code does them (each term shifted before the sum). */
function linearTable(src, dst, clampWeight) {
  const scale = 1 / (dst / src);
  const i0 = new Int32Array(dst);
  const i1 = new Int32Array(dst);
  const w0 = new Int32Array(dst);
  const w1 = new Int32Array(dst);
  for (let d = 0; d < dst; d++) {
    let f = f32((d + 0.5) * scale - 0.5);
    let s = Math.floor(f);
    f = f32(f - s);
    if (clampWeight) {
      if (s < 0) (s = 0), (f = 0);
      if (s >= src - 1) (s = src - 1), (f = 0);
    }
    i0[d] = Math.min(Math.max(s, 0), src - 1);
    i1[d] = Math.min(Math.max(s + 1, 0), src - 1);
    w0[d] = roundEven(f32(f32(1 - f) * 2048));
    w1[d] = roundEven(f32(f * 2048));
  }
  return { i0, i1, w0, w1 };
}

export function resizeLinear(src, sw, sh, dw, dh) {
  const x = linearTable(sw, dw, true);
  const y = linearTable(sh, dh, false);
  const rows = new Int32Array(sh * dw);
  for (let r = 0; r < sh; r++) {
    const s = r * sw;
    for (let d = 0; d < dw; d++) rows[r * dw + d] = src[s + x.i0[d]] * x.w0[d] + src[s + x.i1[d]] * x.w1[d];
  }
  const out = new Uint8Array(dw * dh);
  for (let d = 0; d < dh; d++) {
    const a = y.i0[d] * dw;
    const b = y.i1[d] * dw;
    const b0 = y.w0[d];
    const b1 = y.w1[d];
    for (let c = 0; c < dw; c++) {
      const v = (Math.floor((b0 * (rows[a + c] >> 4)) / 65536) + Math.floor((b1 * (rows[b + c] >> 4)) / 65536) + 2) >> 2;
      out[d * dw + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}

/** cv2.resize(INTER_LINEAR_EXACT) for uint8 (ORB's pyramid): 8-bit weights from the
 * exact source position, rounded half up once at the end. */
function exactTable(src, dst) {
  const scale = src / dst;
  const i0 = new Int32Array(dst);
  const i1 = new Int32Array(dst);
  const w1 = new Int32Array(dst);
  for (let d = 0; d < dst; d++) {
    const f = (d + 0.5) * scale - 0.5;
    let s = Math.floor(f);
    let frac = f - s;
    if (s < 0) (s = 0), (frac = 0);
    if (s >= src - 1) (s = src - 1), (frac = 0);
    i0[d] = s;
    i1[d] = Math.min(s + 1, src - 1);
    w1[d] = Math.floor(frac * 256 + 0.5);
  }
  return { i0, i1, w1 };
}

export function resizeLinearExact(src, sw, sh, dw, dh) {
  const x = exactTable(sw, dw);
  const y = exactTable(sh, dh);
  const rows = new Int32Array(sh * dw);
  for (let r = 0; r < sh; r++) {
    const s = r * sw;
    for (let d = 0; d < dw; d++) {
      rows[r * dw + d] = src[s + x.i0[d]] * (256 - x.w1[d]) + src[s + x.i1[d]] * x.w1[d];
    }
  }
  const out = new Uint8Array(dw * dh);
  for (let d = 0; d < dh; d++) {
    const a = y.i0[d] * dw;
    const b = y.i1[d] * dw;
    const w = y.w1[d];
    for (let c = 0; c < dw; c++) out[d * dw + c] = (rows[a + c] * (256 - w) + rows[b + c] * w + 32768) >> 16;
  }
  return out;
}

/** The working picture (veil.regions.features.working_picture): longer side WORK_SIDE.
 * Returns {pixels, width, height}. */
export function workingPicture(grey, width, height, side = WORK_SIDE) {
  const scale = Math.max(width, height) / side;
  if (Math.abs(scale - 1) < 0.02) return { pixels: grey, width, height };
  const w = Math.max(1, roundEven(width / scale));
  const h = Math.max(1, roundEven(height / scale));
  const pixels = scale > 1 ? resizeArea(grey, width, height, w, h) : resizeLinear(grey, width, height, w, h);
  return { pixels, width: w, height: h };
}

// -- ORB: keypoints ----------------------------------------------------------------------
function levelScale(level) {
  return f32(Math.pow(SCALE_FACTOR, level));
}

/** The pyramid's levels (each {pixels, width, height, scale}), as cv2.ORB builds them. */
function pyramid(pixels, width, height, levels) {
  const out = [];
  let prev = { pixels, width, height };
  for (let level = 0; level < levels; level++) {
    const scale = levelScale(level);
    const inv = f32(1 / scale);
    const w = roundEven(f32(width * inv));
    const h = roundEven(f32(height * inv));
    let img;
    if (level === 0) img = pixels;
    else if (w > 0 && h > 0 && prev.width > 0 && prev.height > 0) {
      img = resizeLinearExact(prev.pixels, prev.width, prev.height, w, h);
    } else img = new Uint8Array(Math.max(0, w) * Math.max(0, h));
    prev = { pixels: img, width: Math.max(0, w), height: Math.max(0, h), scale };
    out.push(prev);
  }
  return out;
}

/** Keypoint quotas per level (ORB: a geometric series summing to DETECT_POINTS). */
function levelQuotas(total, levels) {
  const factor = f32(1 / SCALE_FACTOR);
  let desired = f32(f32(total * f32(1 - factor)) / f32(1 - f32(Math.pow(factor, levels))));
  const quotas = [];
  let sum = 0;
  for (let level = 0; level < levels - 1; level++) {
    quotas.push(roundEven(desired));
    sum += quotas[level];
    desired = f32(desired * factor);
  }
  quotas.push(Math.max(total - sum, 0));
  return quotas;
}

// The 16 pixels of FAST's circle of radius 3, clockwise from above.
const CIRCLE = [
  [0, 3], [1, 3], [2, 2], [3, 1], [3, 0], [3, -1], [2, -2], [1, -3],
  [0, -3], [-1, -3], [-2, -2], [-3, -1], [-3, 0], [-3, 1], [-2, 2], [-1, 3],
];

/** FAST-9 corners with non-maximum suppression: [{x, y, score}], row by row. */
export function fast9(img, width, height, threshold) {
  const found = [];
  if (width < 7 || height < 7) return found;
  const ofs = CIRCLE.map(([dx, dy]) => dy * width + dx);
  const score = new Int16Array(width * height); // 0: no corner
  const d = new Int16Array(25);
  for (let y = 3; y < height - 3; y++) {
    for (let x = 3; x < width - 3; x++) {
      const p = y * width + x;
      const v = img[p];
      let brighter = 0;
      let darker = 0;
      for (let k = 0; k < 16; k++) d[k] = v - img[p + ofs[k]];
      // any run of 9 of the 16 holds two of the pixels 0, 4, 8, 12
      let nd = 0;
      let nb = 0;
      for (let k = 0; k < 16; k += 4) {
        if (d[k] > threshold) nd++;
        else if (d[k] < -threshold) nb++;
      }
      if (nd < 2 && nb < 2) continue;
      for (let k = 16; k < 25; k++) d[k] = d[k - 16];
      // the score is the largest threshold at which a run of 9 darker (or brighter)
      // neighbours would still exist, minus one
      for (let k = 0; k < 16; k++) {
        let lo = 255;
        let hi = -255;
        for (let j = k; j < k + 9; j++) {
          if (d[j] < lo) lo = d[j];
          if (d[j] > hi) hi = d[j];
        }
        if (lo > darker) darker = lo;
        if (-hi > brighter) brighter = -hi;
      }
      const best = Math.max(darker, brighter);
      if (best > threshold) score[p] = best - 1;
    }
  }
  // non-maximum suppression over the 3x3 neighbourhood (strictly greater), as OpenCV
  // does it: a corner's score is compared with its neighbours' (0 where none)
  const at = (p) => score[p];
  for (let y = 3; y < height - 3; y++) {
    for (let x = 3; x < width - 3; x++) {
      const p = y * width + x;
      if (score[p] === 0) continue;
      const s = at(p);
      if (
        s > at(p - 1) && s > at(p + 1) &&
        s > at(p - width - 1) && s > at(p - width) && s > at(p - width + 1) &&
        s > at(p + width - 1) && s > at(p + width) && s > at(p + width + 1)
      ) {
        found.push({ x, y, score: s });
      }
    }
  }
  return found;
}

/** KeyPointsFilter.retainBest: the `n` best by `key` and any tied with the n-th. */
function retainBest(points, n, key) {
  if (points.length <= n) return points;
  if (n === 0) return [];
  const sorted = points.map((p) => p[key]).sort((a, b) => b - a);
  const bound = sorted[n - 1];
  return points.filter((p) => p[key] >= bound);
}

function harris(img, width, x, y) {
  const r = HARRIS_BLOCK >> 1;
  let a = 0;
  let b = 0;
  let c = 0;
  for (let i = -r; i <= r; i++) {
    for (let j = -r; j <= r; j++) {
      const p = (y + i) * width + x + j;
      const ix = (img[p + 1] - img[p - 1]) * 2 + (img[p - width + 1] - img[p - width - 1]) +
        (img[p + width + 1] - img[p + width - 1]);
      const iy = (img[p + width] - img[p - width]) * 2 + (img[p + width - 1] - img[p - width - 1]) +
        (img[p + width + 1] - img[p - width + 1]);
      a += ix * ix;
      b += iy * iy;
      c += ix * iy;
    }
  }
  const scale = f32(1 / f32(4 * HARRIS_BLOCK * 255));
  const s4 = f32(f32(f32(scale * scale) * scale) * scale);
  const fa = f32(a);
  const fb = f32(b);
  const fc = f32(c);
  const sum = f32(fa + fb);
  const det = f32(f32(fa * fb) - f32(fc * fc));
  return f32(f32(det - f32(f32(HARRIS_K * sum) * sum)) * s4);
}

// OpenCV's fastAtan2: a degree-7 odd polynomial in the smaller / larger ratio, in degrees.
const RAD2DEG = f32(180 / Math.PI);
const ATAN_P1 = f32(f32(0.9997878412794807) * RAD2DEG);
const ATAN_P3 = f32(f32(-0.3258083974640975) * RAD2DEG);
const ATAN_P5 = f32(f32(0.1555786518463281) * RAD2DEG);
const ATAN_P7 = f32(f32(-0.04432655554792128) * RAD2DEG);
const EPS = f32(2.220446049250313e-16);

export function fastAtan2(y, x) {
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  const poly = (c) => {
    const c2 = f32(c * c);
    return f32(f32(f32(f32(f32(f32(f32(ATAN_P7 * c2) + ATAN_P5) * c2) + ATAN_P3) * c2) + ATAN_P1) * c);
  };
  let a;
  if (ax >= ay) a = poly(f32(ay / f32(ax + EPS)));
  else a = f32(90 - poly(f32(ax / f32(ay + EPS))));
  if (x < 0) a = f32(180 - a);
  if (y < 0) a = f32(360 - a);
  return a;
}

// Half-widths of the rows of the 31-pixel disc, made symmetric as ORB makes them.
const UMAX = (() => {
  const u = new Int32Array(HALF_PATCH + 2);
  const vmax = Math.floor(HALF_PATCH * f32(Math.SQRT2) / 2 + 1);
  const vmin = Math.ceil(HALF_PATCH * f32(Math.SQRT2) / 2);
  for (let v = 0; v <= vmax; v++) u[v] = roundEven(Math.sqrt(HALF_PATCH * HALF_PATCH - v * v));
  for (let v = HALF_PATCH, v0 = 0; v >= vmin; v--) {
    while (u[v0] === u[v0 + 1]) v0++;
    u[v] = v0;
    v0++;
  }
  return u;
})();

function centroidAngle(img, width, x, y) {
  const c = y * width + x;
  let m01 = 0;
  let m10 = 0;
  for (let u = -HALF_PATCH; u <= HALF_PATCH; u++) m10 += u * img[c + u];
  for (let v = 1; v <= HALF_PATCH; v++) {
    let vSum = 0;
    const d = UMAX[v];
    for (let u = -d; u <= d; u++) {
      const plus = img[c + u + v * width];
      const minus = img[c + u - v * width];
      vSum += plus - minus;
      m10 += u * (plus + minus);
    }
    m01 += v * vSum;
  }
  return fastAtan2(f32(m01), f32(m10));
}

/** cv2.ORB.detect on a grey picture: [{x, y, response, angle, octave}], x and y in the
 * picture's pixels (float32, as OpenCV keeps them), grouped by level. */
export function detect(pixels, width, height) {
  const levels = pyramid(pixels, width, height, N_LEVELS);
  const quotas = levelQuotas(DETECT_POINTS, N_LEVELS);
  const all = [];
  levels.forEach((lv, octave) => {
    let pts = fast9(lv.pixels, lv.width, lv.height, FAST_THRESHOLD);
    const e = EDGE_THRESHOLD;
    if (lv.height <= 2 * e || lv.width <= 2 * e) pts = [];
    else pts = pts.filter((p) => p.x >= e && p.x < lv.width - e && p.y >= e && p.y < lv.height - e);
    pts = retainBest(pts, 2 * quotas[octave], "score");
    for (const p of pts) p.response = harris(lv.pixels, lv.width, p.x, p.y);
    pts = retainBest(pts, quotas[octave], "response");
    for (const p of pts) {
      all.push({
        x: f32(p.x * lv.scale),
        y: f32(p.y * lv.scale),
        lx: p.x,
        ly: p.y,
        response: p.response,
        angle: centroidAngle(lv.pixels, lv.width, p.x, p.y),
        octave,
      });
    }
  });
  return { keypoints: all, levels };
}

// -- ORB: descriptors --------------------------------------------------------------------
/** ORB's 7x7 Gaussian (sigma 2) as cv2.getGaussianKernel makes it (float32). */
export const GAUSS_KERNEL = (() => {
  const t = [];
  let sum = 0;
  for (let i = 0; i < 7; i++) {
    const x = i - 3;
    t.push(f32(Math.exp((-0.5 / 4) * x * x)));
    sum += t[i];
  }
  return Float32Array.from(t, (v) => f32(v * (1 / sum)));
})();

/** A level with a BORDER-pixel mirrored frame (reflect-101), its inside blurred and its
 * frame left as it is, as ORB does before describing. Returns {pixels, stride}. */
function blurredLevel(lv) {
  const { width: w, height: h } = lv;
  const stride = w + 2 * BORDER;
  const rowsAll = h + 2 * BORDER;
  const framed = new Uint8Array(stride * rowsAll);
  const mirror = (i, n) => {
    if (n === 1) return 0;
    for (;;) {
      if (i < 0) i = -i;
      else if (i >= n) i = 2 * n - 2 - i;
      else return i;
    }
  };
  for (let y = 0; y < rowsAll; y++) {
    const sy = mirror(y - BORDER, h) * w;
    for (let x = 0; x < stride; x++) framed[y * stride + x] = lv.pixels[sy + mirror(x - BORDER, w)];
  }
  const k = GAUSS_KERNEL;
  // rows of the inside, with 3 rows above and below (read from the frame)
  const r0 = BORDER - 3;
  const n = h + 6;
  const tmp = new Float32Array(n * w);
  for (let r = 0; r < n; r++) {
    const base = (r0 + r) * stride + BORDER;
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let t = 0; t < 7; t++) acc = f32(acc + f32(framed[base + x + t - 3] * k[t]));
      tmp[r * w + x] = acc;
    }
  }
  const out = framed.slice();
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let t = 0; t < 7; t++) acc = f32(acc + f32(tmp[(y + t) * w + x] * k[t]));
      const v = roundEven(acc);
      out[(y + BORDER) * stride + x + BORDER] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { pixels: out, stride };
}

const DEG2RAD = f32(Math.PI / 180);

function describe(blurred, kp, scale, out, offset) {
  const { pixels, stride } = blurred;
  const angle = f32(kp.angle * DEG2RAD);
  const a = f32(Math.cos(angle));
  const b = f32(Math.sin(angle));
  const cx = roundEven(f32(kp.x * scale)) + BORDER;
  const cy = roundEven(f32(kp.y * scale)) + BORDER;
  const c = cy * stride + cx;
  const value = (i) => {
    const px = ORB_PATTERN[2 * i];
    const py = ORB_PATTERN[2 * i + 1];
    const x = roundEven(f32(f32(px * a) - f32(py * b)));
    const y = roundEven(f32(f32(px * b) + f32(py * a)));
    return pixels[c + y * stride + x];
  };
  for (let byte = 0; byte < DESCRIPTOR_BYTES; byte++) {
    let v = 0;
    for (let bit = 0; bit < 8; bit++) {
      const t = (byte * 8 + bit) * 2;
      if (value(t) < value(t + 1)) v |= 1 << bit;
    }
    out[offset + byte] = v;
  }
}

/** cv2.ORB.compute on chosen keypoints: those too near the picture's edge are dropped,
 * the rest grouped by level (as OpenCV returns them). Returns {keypoints, descriptors}. */
export function compute(levels, width, height, chosen) {
  const e = EDGE_THRESHOLD;
  let kept = [];
  if (!(height <= 2 * e || width <= 2 * e)) {
    kept = chosen.filter((k) => {
      const x = roundEven(k.x);
      const y = roundEven(k.y);
      return x >= e && x < width - e && y >= e && y < height - e;
    });
  }
  const sorted = kept.every((k, i) => i === 0 || k.octave >= kept[i - 1].octave);
  if (!sorted) {
    const byLevel = [];
    for (const k of kept) (byLevel[k.octave] ||= []).push(k);
    kept = byLevel.flat();
  }
  const descriptors = new Uint8Array(kept.length * DESCRIPTOR_BYTES);
  const blurred = new Map();
  kept.forEach((k, i) => {
    if (!blurred.has(k.octave)) blurred.set(k.octave, blurredLevel(levels[k.octave]));
    describe(blurred.get(k.octave), k, f32(1 / levels[k.octave].scale), descriptors, i * DESCRIPTOR_BYTES);
  });
  return { keypoints: kept, descriptors };
}

/** Veil's spread (veil.regions.features.spread): cells of a grid in turn, each cell's
 * keypoints strongest first, until `keep` are chosen. */
export function spread(found, keep, grid, width, height) {
  if (found.length <= keep) return found.slice();
  const cells = new Map(); // insertion order: the order of each cell's strongest
  const ranked = found.slice().sort((p, q) => q.response - p.response);
  for (const k of ranked) {
    const cell = Math.min(grid - 1, Math.floor((k.y * grid) / height)) * grid +
      Math.min(grid - 1, Math.floor((k.x * grid) / width));
    if (!cells.has(cell)) cells.set(cell, []);
    cells.get(cell).push(k);
  }
  const chosen = [];
  for (let depth = 0; chosen.length < keep; depth++) {
    let added = false;
    for (const bucket of cells.values()) {
      if (depth < bucket.length) {
        chosen.push(bucket[depth]);
        added = true;
        if (chosen.length === keep) break;
      }
    }
    if (!added) break;
  }
  return chosen;
}

// -- the signal --------------------------------------------------------------------------
/** A banked picture's features from its grey pixels (veil.regions.features.for_bank):
 * {points: Float32Array (x, y pairs, working pixels), descriptors, width, height}. */
export function bankFeatures(grey, width, height) {
  const work = workingPicture(grey, width, height);
  if (Math.min(work.width, work.height) < MIN_SIDE) {
    // a strip: no patch fits (features.MIN_SIDE), so no keypoint, as on the server
    return { points: new Float32Array(0), descriptors: new Uint8Array(0),
      width: work.width, height: work.height };
  }
  const { keypoints, levels } = detect(work.pixels, work.width, work.height);
  const chosen = spread(keypoints, BANK_POINTS, BANK_GRID, work.width, work.height);
  const { keypoints: kept, descriptors } = compute(levels, work.width, work.height, chosen);
  const points = new Float32Array(kept.length * 2);
  kept.forEach((k, i) => {
    points[2 * i] = k.x;
    points[2 * i + 1] = k.y;
  });
  return { points, descriptors, width: work.width, height: work.height };
}

const HEADER_BYTES = 9;
const STEPS = 255;

/** The blob (veil.regions.blob.encode) of features from bankFeatures. */
export function encodeBlob({ points, descriptors, width, height }) {
  const n = points.length / 2;
  if (!(width > 0 && width <= MAX_BLOB_SIDE && height > 0 && height <= MAX_BLOB_SIDE) || n > 1024) {
    throw new RangeError("features out of the blob's range");
  }
  const blob = new Uint8Array(HEADER_BYTES + n * (2 + DESCRIPTOR_BYTES));
  const view = new DataView(blob.buffer);
  blob.set([0x56, 0x52, 0x01]);
  view.setUint16(3, width, true);
  view.setUint16(5, height, true);
  view.setUint16(7, n, true);
  // float32 as NumPy computes it: x / w, times 255, rounded half to even
  const q = (v, side) => Math.min(STEPS, Math.max(0, roundEven(f32(f32(v / side) * STEPS))));
  for (let i = 0; i < n; i++) {
    blob[HEADER_BYTES + 2 * i] = q(points[2 * i], width);
    blob[HEADER_BYTES + 2 * i + 1] = q(points[2 * i + 1], height);
  }
  blob.set(descriptors.subarray(0, n * DESCRIPTOR_BYTES), HEADER_BYTES + 2 * n);
  return blob;
}

/** The region blob of a grey picture (`width` x `height`, one byte a pixel). */
export function regionFromGrey(grey, width, height) {
  return encodeBlob(bankFeatures(grey, width, height));
}

/** The region blob of an RGBA buffer (ImageData layout; alpha ignored, as the server's
 * grey ignores it). `factor`: the server's decode scale (see reductionFactor). */
export function regionFromRGBA(pixels, width, height, { factor = 1 } = {}) {
  if (pixels.length < width * height * 4) {
    throw new RangeError(`pixel buffer holds ${pixels.length} bytes, need ${width * height * 4}`);
  }
  const source = (y0, n) => pixels.subarray(y0 * width * 4, (y0 + n) * width * 4);
  return regionFromRowSource(width, height, source, { factor });
}

/** The region blob of a picture pulled as RGBA strips through `source(y0, n)`. */
export function regionFromRowSource(width, height, source, { factor = 1 } = {}) {
  const g = greyFromRowSource(width, height, source, factor);
  return regionFromGrey(g.grey, g.width, g.height);
}

/** Standard base64 (with padding) of bytes: the blob as the API takes it. */
export function toBase64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
