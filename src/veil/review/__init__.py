"""Review items: uploads kept, sealed, for a person to decide, until a deadline.

* ``sealing``: the media key and AEAD sealing of media (bound to the item's id);
* ``items``: making an item from a scan (a review verdict, a platform's request, a
  user report), within the per-item and queue caps;
* ``retention``: the purge of media past its deadline, and the service's purge loop;
* ``rotation``: which item a reviewer sees next (never the same person's case twice in
  a row without a break);
* ``decisions``: a reviewer's decision, and what it adds to the confirmed and
  allowlist banks.

Layer 7: imports ``veil.store``, ``veil.verdict``, ``veil.config`` and
``veil.errors``; the API and CLI import it.
"""
