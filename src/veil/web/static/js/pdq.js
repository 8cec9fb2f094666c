// PDQ (Meta's 256-bit perceptual hash) in plain JavaScript, bit-exact with the
// reference C++ core (pdq/cpp/hashing/pdqhashing.cpp, as wrapped by the `pdqhash`
// Python package) when both are given the same RGBA pixels.
//
// Exactness: the reference works in float32. JavaScript numbers are float64, so
// every float32 operation is written as Math.fround(a op b) or stored straight
// into a Float32Array (a store rounds to float32 exactly like a C++ float
// assignment). For +, -, *, / of two float32 values, rounding the exact float64
// result to float32 gives the correctly rounded float32 result (float64 has more
// than 2*24+2 bits), so this reproduces the C++ bit for bit. The order of every
// sum is the reference's order. See docs/in-browser-hashing.md.
//
// Pipeline (same as pdqhash.compute):
//   luma      float64 R*0.299 + G*0.587 + B*0.114, rounded to float32 (pdqhash
//             computes luma with numpy in float64, then .astype(float32))
//   blur      two passes of Jarosz box filters (along rows, then along columns),
//             float32 running sums, window floor((side + 127) / 128)
//   decimate  64x64 samples at cell centres
//   quality   sum of quantised gradients of the 64x64 buffer / 90, capped at 100
//   DCT       16x16 low-frequency block of D * A * D^T, float32 sequential sums
//   bits      bit i*16+j set where coefficient > median (128th smallest of 256)
//
// The blur is streamed: luma rows are made on demand, the first (row) pass keeps
// a ring of window+4 rows for the column pass, the second row pass keeps only the
// 64 decimated columns, and the last column pass runs on those 64 columns alone.
// Row passes run on 4 rows per loop (independent sums overlap their latency).
// Each kept value is computed by exactly the reference's sequence of float32
// operations, so streaming changes memory and speed, not results.

const OUT = 64;
/** Images with a side below this hash to all zeros with quality 0 (reference). */
export const MIN_HASHABLE_DIM = 5;

const f32 = Math.fround;

/** The reference's Jarosz window for one axis: computeJaroszFilterWindowSize. */
export function jaroszWindow(n, out = OUT) {
  return Math.floor((n + 2 * out - 1) / (2 * out));
}

/** Row/column indices kept by decimateFloat: int(((i + 0.5) * n) / 64). */
export function decimationIndex(n, out = OUT) {
  const idx = new Int32Array(out);
  for (let i = 0; i < out; i++) idx[i] = Math.floor(((i + 0.5) * n) / out);
  return idx;
}

// -- DCT matrix (16 x 64), as the reference builds it --------------------------------
// const float scale = sqrt(2.0 / 64); entry = scale * cos((pi / 2 / 64) * (i+1) * (2j+1))
// evaluated in double (float * double -> double), stored as float.
function buildDctMatrix() {
  const d = new Float32Array(16 * 64);
  const scale = f32(Math.sqrt(2.0 / 64.0));
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) {
      d[i * 64 + j] = scale * Math.cos((Math.PI / 2.0 / 64.0) * (i + 1) * (2 * j + 1));
    }
  }
  return d;
}

/** The reference's 16x64 DCT matrix, row-major, float32. */
export const DCT_MATRIX = buildDctMatrix();

// -- luma ------------------------------------------------------------------------------
/**
 * Luma of rows [y0, y0 + n) of an RGBA (or RGB, with `channels` = 3) buffer, written
 * to `out` (Float32Array, n * width) as pdqhash computes it.
 */
export function lumaRows(pixels, width, y0, n, out, channels = 4) {
  let p = y0 * width * channels;
  const count = n * width;
  for (let k = 0; k < count; k++) {
    // float64 arithmetic, left to right, then the Float32Array store rounds once.
    out[k] = pixels[p] * 0.299 + pixels[p + 1] * 0.587 + pixels[p + 2] * 0.114;
    p += channels;
  }
  return out;
}

/** Whole-image float32 luma plane (rows x cols, row-major). */
export function lumaFromRGBA(pixels, width, height, channels = 4) {
  return lumaRows(pixels, width, 0, height, new Float32Array(width * height), channels);
}

// -- one box pass along a contiguous vector (box1DFloat) -----------------------------------
/** box1DFloat on in[0..n) -> out[0..n), window w, float32 running sum. */
export function box1D(input, output, n, w) {
  const half = (w + 2) >> 1;
  const p1 = half - 1;
  const p2 = w - half + 1;
  const p3 = n - w;
  const p4 = half - 1;
  let li = 0;
  let ri = 0;
  let oi = 0;
  let sum = 0;
  let cnt = 0;
  for (let i = 0; i < p1; i++) {
    sum = f32(sum + input[ri++]);
    cnt++;
  }
  for (let i = 0; i < p2; i++) {
    sum = f32(sum + input[ri++]);
    cnt++;
    output[oi++] = sum / cnt;
  }
  for (let i = 0; i < p3; i++) {
    sum = f32(sum + input[ri++]);
    sum = f32(sum - input[li++]);
    output[oi++] = sum / cnt;
  }
  for (let i = 0; i < p4; i++) {
    sum = f32(sum - input[li++]);
    cnt--;
    output[oi++] = sum / cnt;
  }
  return output;
}

/**
 * box1DFloat on `count` rows at once: row r reads input[inOff + r*stride ...] and
 * writes output[outOff + r*stride ...]. Each row keeps its own float32 sum, so the
 * results are exactly box1D's; four independent sums per loop let the CPU overlap
 * their latencies (a single running sum is a serial chain), ~3x faster.
 */
export function boxRows(input, inOff, output, outOff, n, w, stride, count) {
  let r = 0;
  for (; r + 4 <= count; r += 4) box4(input, inOff + r * stride, output, outOff + r * stride, n, w, stride);
  for (; r < count; r++) {
    const i0 = inOff + r * stride;
    const o0 = outOff + r * stride;
    box1D(input.subarray(i0, i0 + n), output.subarray(o0, o0 + n), n, w);
  }
}

function box4(input, inOff, output, outOff, n, w, stride) {
  const half = (w + 2) >> 1;
  const p1 = half - 1;
  const p2 = w - half + 1;
  const p3 = n - w;
  const p4 = half - 1;
  const s1 = stride;
  const s2 = 2 * stride;
  const s3 = 3 * stride;
  let li = inOff;
  let ri = inOff;
  let oi = outOff;
  let cnt = 0;
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  for (let i = 0; i < p1; i++) {
    a = f32(a + input[ri]);
    b = f32(b + input[ri + s1]);
    c = f32(c + input[ri + s2]);
    d = f32(d + input[ri + s3]);
    ri++;
    cnt++;
  }
  for (let i = 0; i < p2; i++) {
    a = f32(a + input[ri]);
    b = f32(b + input[ri + s1]);
    c = f32(c + input[ri + s2]);
    d = f32(d + input[ri + s3]);
    ri++;
    cnt++;
    output[oi] = a / cnt;
    output[oi + s1] = b / cnt;
    output[oi + s2] = c / cnt;
    output[oi + s3] = d / cnt;
    oi++;
  }
  for (let i = 0; i < p3; i++) {
    a = f32(f32(a + input[ri]) - input[li]);
    b = f32(f32(b + input[ri + s1]) - input[li + s1]);
    c = f32(f32(c + input[ri + s2]) - input[li + s2]);
    d = f32(f32(d + input[ri + s3]) - input[li + s3]);
    ri++;
    li++;
    output[oi] = a / cnt;
    output[oi + s1] = b / cnt;
    output[oi + s2] = c / cnt;
    output[oi + s3] = d / cnt;
    oi++;
  }
  for (let i = 0; i < p4; i++) {
    a = f32(a - input[li]);
    b = f32(b - input[li + s1]);
    c = f32(c - input[li + s2]);
    d = f32(d - input[li + s3]);
    li++;
    cnt--;
    output[oi] = a / cnt;
    output[oi + s1] = b / cnt;
    output[oi + s2] = c / cnt;
    output[oi + s3] = d / cnt;
    oi++;
  }
}

// -- box pass along columns, vectorised over the columns ------------------------------------
// boxAlongColsFloat runs box1DFloat down every column with its own float32 sum.
// Walking rows in order and updating all column sums at once performs, for each
// column, exactly the same sequence of operations, but touches memory row by row.
// Rows are pulled through `getRow(r)` (any r in [li, ri]); output rows are handed
// out in groups of up to 4 consecutive rows, `emit(firstRow, rows4, count)`, with
// row k of the group at rows4[k*nCols ...] (the buffer is reused after emit).
function boxColumns(nRows, nCols, w, getRow, emit) {
  const half = (w + 2) >> 1;
  const p1 = half - 1;
  const p2 = w - half + 1;
  const p3 = nRows - w;
  const p4 = half - 1;
  const sums = new Float32Array(nCols);
  const out4 = new Float32Array(4 * nCols);
  let li = 0;
  let ri = 0;
  let oi = 0;
  let cnt = 0;
  const add = (r) => {
    const row = getRow(r);
    for (let j = 0; j < nCols; j++) sums[j] += row[j];
  };
  const sub = (r) => {
    const row = getRow(r);
    for (let j = 0; j < nCols; j++) sums[j] -= row[j];
  };
  const write = () => {
    const slot = oi & 3;
    const base = slot * nCols;
    for (let j = 0; j < nCols; j++) out4[base + j] = sums[j] / cnt;
    if (slot === 3 || oi === nRows - 1) emit(oi - slot, out4, slot + 1);
    oi++;
  };
  for (let i = 0; i < p1; i++) {
    add(ri++);
    cnt++;
  }
  for (let i = 0; i < p2; i++) {
    add(ri++);
    cnt++;
    write();
  }
  for (let i = 0; i < p3; i++) {
    add(ri++);
    sub(li++);
    write();
  }
  for (let i = 0; i < p4; i++) {
    sub(li++);
    cnt--;
    write();
  }
}

/**
 * The reference's blur + decimate to a 64x64 float32 buffer, streaming.
 * `lumaSource(y0, n, out)` must fill `out` (Float32Array n*cols) with luma rows
 * [y0, y0+n); it is called with increasing, contiguous y0 (each row once).
 * `onProgress(fraction)` is called now and then.
 */
export function downsampleStreaming(rows, cols, lumaSource, onProgress) {
  const buf = new Float32Array(OUT * OUT);
  if (rows === OUT && cols === OUT) {
    lumaSource(0, rows, buf);
    return buf;
  }
  const wr = jaroszWindow(cols); // window along rows (horizontal)
  const wc = jaroszWindow(rows); // window along columns (vertical)
  const keepCols = decimationIndex(cols);
  const keepRows = decimationIndex(rows);

  // Pass 1 (along rows) is made on demand, 4 rows at a time, into a ring of rows.
  // The column pass holds rows ri - wc .. ri, and making row ri makes up to 3 more,
  // so wc + 4 slots suffice; a multiple of 4 keeps each group of 4 contiguous.
  const ringSize = (wc + 4 + 3) & ~3;
  const ring = new Float32Array(ringSize * cols);
  // Luma arrives in strips of about 1M pixels (a multiple of 4 rows).
  const strip = Math.min(rows, Math.max(4, (Math.floor((1 << 20) / cols) + 3) & ~3));
  const lumaStrip = new Float32Array(strip * cols);
  let stripStart = 0;
  let stripLen = 0;
  let made = 0; // pass-1 rows made so far (always a multiple of 4 until the end)
  const progressEvery = Math.max(4, Math.floor(rows / 20));
  let nextProgress = progressEvery;
  const getPass1 = (r) => {
    while (made <= r) {
      if (made >= stripStart + stripLen) {
        stripStart = made;
        stripLen = Math.min(strip, rows - made);
        lumaSource(stripStart, stripLen, lumaStrip.subarray(0, stripLen * cols));
      }
      const count = Math.min(4, rows - made);
      boxRows(lumaStrip, (made - stripStart) * cols, ring, (made % ringSize) * cols, cols, wr, cols, count);
      made += count;
      if (onProgress && made >= nextProgress) {
        onProgress(0.9 * (made / rows));
        nextProgress += progressEvery;
      }
    }
    const off = (r % ringSize) * cols;
    return ring.subarray(off, off + cols);
  };

  // Pass 2 (along columns) emits full rows, 4 at a time; pass 3 (along rows) runs on
  // them at once and keeps only the 64 decimated columns.
  const kept = new Float32Array(rows * OUT);
  const rowsOut = new Float32Array(4 * cols);
  boxColumns(rows, cols, wc, getPass1, (first, rows4, count) => {
    boxRows(rows4, 0, rowsOut, 0, cols, wr, cols, count);
    for (let r = 0; r < count; r++) {
      const base = (first + r) * OUT;
      const src = r * cols;
      for (let k = 0; k < OUT; k++) kept[base + k] = rowsOut[src + keepCols[k]];
    }
  });

  // Pass 4 (along columns) on the 64 kept columns; keep the 64 decimated rows.
  let next = 0;
  boxColumns(
    rows,
    OUT,
    wc,
    (r) => kept.subarray(r * OUT, (r + 1) * OUT),
    (first, rows4, count) => {
      while (next < OUT && keepRows[next] < first + count) {
        const r = keepRows[next] - first;
        buf.set(rows4.subarray(r * OUT, (r + 1) * OUT), next * OUT);
        next++;
      }
    },
  );
  if (onProgress) onProgress(0.95);
  return buf;
}

// -- quality, DCT, bits ------------------------------------------------------------------
/** pdqImageDomainQualityMetric on a 64x64 float32 buffer. */
export function quality(buf) {
  let gradientSum = 0;
  for (let i = 0; i < 63; i++) {
    for (let j = 0; j < 64; j++) {
      const u = buf[i * 64 + j];
      const v = buf[(i + 1) * 64 + j];
      const d = Math.trunc(f32(f32(f32(u - v) * 100) / 255));
      gradientSum += Math.abs(d);
    }
  }
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 63; j++) {
      const u = buf[i * 64 + j];
      const v = buf[i * 64 + j + 1];
      const d = Math.trunc(f32(f32(f32(u - v) * 100) / 255));
      gradientSum += Math.abs(d);
    }
  }
  return Math.min(Math.floor(gradientSum / 90), 100);
}

/** dct64To16: B = D A D^T (16x16, row-major Float32Array), float32 sequential sums. */
export function dct64To16(a) {
  const D = DCT_MATRIX;
  const t = new Float32Array(16 * 64);
  for (let i = 0; i < 16; i++) {
    const di = i * 64;
    for (let j = 0; j < 64; j++) {
      let s = 0;
      for (let k = 0; k < 64; k++) s = f32(s + f32(D[di + k] * a[k * 64 + j]));
      t[i * 64 + j] = s;
    }
  }
  const b = new Float32Array(256);
  for (let i = 0; i < 16; i++) {
    const ti = i * 64;
    for (let j = 0; j < 16; j++) {
      const dj = j * 64;
      let s = 0;
      for (let k = 0; k < 64; k++) s = f32(s + f32(t[ti + k] * D[dj + k]));
      b[i * 16 + j] = s;
    }
  }
  return b;
}

/** The reference's median (Torben): the 128th smallest of the 256 coefficients. */
export function median256(b) {
  const sorted = Float32Array.from(b).sort();
  return sorted[127];
}

/**
 * 64 lowercase hex chars: bit k = i*16+j is set where B[k] > median; the hex is the
 * big-endian 256-bit integer (first char = bits 255..252), as Hash256::format prints.
 */
export function bitsHex(b) {
  const m = median256(b);
  let hex = "";
  for (let c = 0; c < 64; c++) {
    const top = 255 - 4 * c;
    const nibble =
      ((b[top] > m) << 3) | ((b[top - 1] > m) << 2) | ((b[top - 2] > m) << 1) | (b[top - 3] > m);
    hex += nibble.toString(16);
  }
  return hex;
}

/**
 * DCT buffers of the 8 dihedral images, in the reference's order: original, rot90,
 * rot180, rot270, flipx, flipy, flip+1 (transpose), flip-1 (anti-transpose).
 */
export function dihedralDcts(a) {
  const mk = () => new Float32Array(256);
  const out = [Float32Array.from(a), mk(), mk(), mk(), mk(), mk(), mk(), mk()];
  const [, r90, r180, r270, fx, fy, fp, fm] = out;
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      const v = a[i * 16 + j];
      const ij = i * 16 + j;
      const ji = j * 16 + i;
      r90[ji] = j & 1 ? v : -v;
      r180[ij] = (i + j) & 1 ? -v : v;
      r270[ji] = i & 1 ? v : -v;
      fx[ij] = i & 1 ? v : -v;
      fy[ij] = j & 1 ? v : -v;
      fp[ji] = v;
      fm[ji] = (i + j) & 1 ? -v : v;
    }
  }
  return out;
}

export const DIHEDRAL_NAMES = Object.freeze([
  "original",
  "rotate90",
  "rotate180",
  "rotate270",
  "flipx",
  "flipy",
  "flipplus1",
  "flipminus1",
]);

/** Hex hashes of the 8 dihedral variants (reference order, see DIHEDRAL_NAMES). */
export function dihedralHashes(dct) {
  return dihedralDcts(dct).map(bitsHex);
}

const ZERO_HASH = "0".repeat(64);

/** Hash of a 64x64 float32 buffer: {hash, quality, dct}. */
export function hashFromBuffer(buf) {
  const dct = dct64To16(buf);
  return { hash: bitsHex(dct), quality: quality(buf), dct };
}

function tooSmall(dihedral) {
  const r = { hash: ZERO_HASH, quality: 0, dct: new Float32Array(256) };
  if (dihedral) r.dihedral = Array(8).fill(ZERO_HASH);
  return r;
}

/**
 * PDQ of rows x cols pixels pulled through `lumaSource(y0, n, out)` (see
 * downsampleStreaming). Returns {hash, quality, dct[, dihedral]}.
 */
export function pdqFromLumaSource(rows, cols, lumaSource, { dihedral = false, onProgress } = {}) {
  if (rows < MIN_HASHABLE_DIM || cols < MIN_HASHABLE_DIM) return tooSmall(dihedral);
  const buf = downsampleStreaming(rows, cols, lumaSource, onProgress);
  const r = hashFromBuffer(buf);
  if (dihedral) r.dihedral = dihedralHashes(r.dct);
  return r;
}

/** PDQ of a float32 luma plane (rows x cols, row-major). */
export function pdqFromLuma(luma, rows, cols, opts) {
  return pdqFromLumaSource(
    rows,
    cols,
    (y0, n, out) => out.set(luma.subarray(y0 * cols, (y0 + n) * cols)),
    opts,
  );
}

/**
 * PDQ of an RGBA buffer (ImageData.data layout; alpha ignored, as the server drops
 * it) of width x height pixels. `channels` = 3 accepts packed RGB.
 */
export function pdqFromRGBA(pixels, width, height, opts = {}) {
  const channels = opts.channels ?? 4;
  if (pixels.length < width * height * channels) {
    throw new RangeError(`pixel buffer holds ${pixels.length} bytes, need ${width * height * channels}`);
  }
  return pdqFromLumaSource(
    height,
    width,
    (y0, n, out) => lumaRows(pixels, width, y0, n, out, channels),
    opts,
  );
}

/** Hamming distance between two 64-char hex hashes. */
export function hamming(a, b) {
  let d = 0;
  for (let i = 0; i < 64; i += 8) {
    let x = (parseInt(a.slice(i, i + 8), 16) ^ parseInt(b.slice(i, i + 8), 16)) >>> 0;
    while (x) {
      x &= x - 1;
      d++;
    }
  }
  return d;
}
