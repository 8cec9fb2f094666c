"""Static web assets: the intake page's in-browser hashing (and, later, its pages).

``static/js`` holds plain ES modules served as-is (no build step, no CDN):
``pdq.js`` (PDQ, bit-exact with ``pdqhash`` on identical pixels), ``md5.js``,
``media-check.js`` (format sniffing and truncation checks) and ``hash-worker.js``
(the Web Worker that hashes one file). No Python here imports anything; the API
serves ``static/`` at ``/static``. See docs/in-browser-hashing.md.
"""
