// MD5 (RFC 1321) of bytes, in plain JavaScript. WebCrypto's digest() has no MD5,
// and Veil's banks (like StopNCII's) carry MD5 of the file's exact bytes alongside
// PDQ, so the browser computes it here. Incremental: feed chunks with update().

const S = new Uint8Array([
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
  5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
  6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
]);

// K[i] = floor(abs(sin(i + 1)) * 2^32) (RFC 1321), written out rather than computed
// so no engine's Math.sin can change it; stored as signed 32-bit integers.
const K = new Int32Array([
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee,
  0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
  0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
  0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
  0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa,
  0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
  0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
  0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
  0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
  0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
  0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05,
  0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
  0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039,
  0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
  0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
  0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
]);

// Message-word index used in step i.
const G = new Uint8Array(64);
for (let i = 0; i < 64; i++) {
  if (i < 16) G[i] = i;
  else if (i < 32) G[i] = (5 * i + 1) & 15;
  else if (i < 48) G[i] = (3 * i + 5) & 15;
  else G[i] = (7 * i) & 15;
}

export class MD5 {
  constructor() {
    this.h = new Int32Array([0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476]);
    this.block = new Uint8Array(64);
    this.blockLen = 0;
    this.length = 0; // bytes fed so far (exact up to 2^53)
    this.w = new Int32Array(16);
  }

  /** Feed bytes (Uint8Array, ArrayBuffer or any ArrayBufferView). */
  update(data) {
    let bytes;
    if (data instanceof Uint8Array) bytes = data;
    else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else bytes = new Uint8Array(data);
    const n = bytes.length;
    this.length += n;
    let p = 0;
    if (this.blockLen > 0) {
      const take = Math.min(64 - this.blockLen, n);
      this.block.set(bytes.subarray(0, take), this.blockLen);
      this.blockLen += take;
      p = take;
      if (this.blockLen < 64) return this;
      this._compress(this.block, 0);
      this.blockLen = 0;
    }
    for (; p + 64 <= n; p += 64) this._compress(bytes, p);
    if (p < n) {
      this.block.set(bytes.subarray(p), 0);
      this.blockLen = n - p;
    }
    return this;
  }

  /** Finish; returns 32 lowercase hex chars. The object cannot be reused. */
  hexdigest() {
    const bitLen = this.length * 8;
    const pad = new Uint8Array(((this.blockLen < 56 ? 56 : 120) - this.blockLen) + 8);
    pad[0] = 0x80;
    const lo = bitLen % 4294967296;
    const hi = Math.floor(bitLen / 4294967296);
    const at = pad.length - 8;
    for (let i = 0; i < 4; i++) {
      pad[at + i] = (lo >>> (8 * i)) & 255;
      pad[at + 4 + i] = (hi >>> (8 * i)) & 255;
    }
    const length = this.length;
    this.update(pad);
    this.length = length;
    let hex = "";
    for (let i = 0; i < 4; i++) {
      const v = this.h[i];
      for (let b = 0; b < 4; b++) hex += ((v >>> (8 * b)) & 255).toString(16).padStart(2, "0");
    }
    return hex;
  }

  _compress(bytes, p) {
    const w = this.w;
    for (let i = 0; i < 16; i++, p += 4) {
      w[i] = bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24);
    }
    const h = this.h;
    let a = h[0];
    let b = h[1];
    let c = h[2];
    let d = h[3];
    for (let i = 0; i < 64; i++) {
      let f;
      if (i < 16) f = (b & c) | (~b & d);
      else if (i < 32) f = (d & b) | (~d & c);
      else if (i < 48) f = b ^ c ^ d;
      else f = c ^ (b | ~d);
      const x = (a + f + K[i] + w[G[i]]) | 0;
      const s = S[i];
      a = d;
      d = c;
      c = b;
      b = (b + ((x << s) | (x >>> (32 - s)))) | 0;
    }
    h[0] = (h[0] + a) | 0;
    h[1] = (h[1] + b) | 0;
    h[2] = (h[2] + c) | 0;
    h[3] = (h[3] + d) | 0;
  }
}

/** MD5 of all the bytes at once; 32 lowercase hex chars. */
export function md5Hex(data) {
  return new MD5().update(data).hexdigest();
}

/**
 * MD5 of a Blob/File, read in chunks so a large file never needs a second copy;
 * `onProgress(fraction)` after each chunk.
 */
export async function md5Blob(blob, onProgress, chunkSize = 4 << 20) {
  const m = new MD5();
  for (let off = 0; off < blob.size; off += chunkSize) {
    const chunk = new Uint8Array(await blob.slice(off, off + chunkSize).arrayBuffer());
    m.update(chunk);
    if (onProgress) onProgress(Math.min(1, (off + chunk.length) / blob.size));
  }
  return m.hexdigest();
}
