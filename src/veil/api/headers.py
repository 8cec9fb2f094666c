"""The security headers of every page the service serves to a browser.

The intake pages, the case page, the status page at ``/`` and the API reference at
``/docs`` share one origin, so they share one strict policy: scripts, workers,
styles and connections from this origin only; no inline script or style; no
framing; no referrer; no sniffing; the powerful features the pages never use off.
"""

from __future__ import annotations

CSP = ("default-src 'none'; script-src 'self'; worker-src 'self'; connect-src 'self'; "
       "img-src 'self' blob: data:; style-src 'self'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": ("camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
                           "interest-cohort=(), browsing-topics=()"),
}

#: ``/docs`` runs a large third-party bundle (Swagger UI): in a sandbox, as an opaque
#: origin, so nothing in it can read what the intake pages keep in this origin.
DOCS_CSP = CSP + "; sandbox allow-scripts allow-popups"
