"""Static web assets: the intake pages for people and their in-browser hashing.

``static/js`` holds plain ES modules served as-is (no build step, no CDN):
``pdq.js`` (PDQ, bit-exact with ``pdqhash`` on identical pixels), ``md5.js``,
``region.js`` (the region signal, a port of OpenCV's ORB and ``veil.regions``'s
spread and blob) with ``orb-pattern.js`` (ORB's tests, measured from OpenCV),
``media-check.js`` (format sniffing and truncation checks), ``hash-worker.js``
(the Web Worker that hashes one file), and the pages' own scripts: ``protect.js``
(choose photos, hash them here, send only the hashes), ``case.js`` (see or withdraw
a case with its token), ``i18n.js`` and ``api.js``. ``static/css`` holds their style,
``static/i18n`` their text (en, ru, uk), ``pages`` their HTML (filled in the chosen
language by ``veil.api.pages``, which also serves ``static/`` at ``/static``). No
Python here imports anything. See docs/in-browser-hashing.md and docs/intake-page.md.
"""
