"""C2PA manifests, read with ``c2pa-python`` from bytes in memory; never fetched.

A file whose manifest lives at a URL (a "remote manifest") is reported with its URL;
the library is told not to fetch it (``verify.remote_manifest_fetch``), so reading a
file never makes a network request on an uploader's behalf.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any, Literal

from veil.inspect.observation import AI_SOURCE_TYPES, Observation, make, source_type_name

C2paState = Literal["none", "embedded", "remote", "unreadable", "not_checked"]

#: Actions listed at most per manifest: a hostile manifest may list thousands.
MAX_ACTIONS = 20
_REMOTE = re.compile(r"remote manifests? from url (\S+)", re.IGNORECASE)


def _context() -> Any:
    """A fresh context per read (0.1 ms): the service reads on several threads, and
    nothing says a native context may be shared between them."""
    import c2pa

    settings = c2pa.Settings.from_dict({"verify": {"remote_manifest_fetch": False}})
    return c2pa.Context(settings=settings)


def available() -> bool:
    try:
        import c2pa  # noqa: F401
    except ImportError:
        return False
    return True


def read(data: bytes, max_bytes: int) -> tuple[C2paState, list[Observation]]:
    """The active manifest's state, validation, generator, actions and digital source
    types. Files over ``max_bytes`` are not read (the library parses the whole file)."""
    if len(data) > max_bytes:
        return "not_checked", [make("c2pa", "not_checked",
                                    f"file over {max_bytes} bytes, the C2PA reading limit")]
    import c2pa

    try:
        with _context() as context, c2pa.Reader(io.BytesIO(data), context=context) as reader:
            report = json.loads(reader.json())
            validation = reader.get_validation_state()
    except c2pa.C2paError as exc:
        return _failed(exc)
    except (ValueError, MemoryError) as exc:  # a JSON report the library could not build
        return "unreadable", [make("c2pa", "unreadable", f"{type(exc).__name__}: {exc}")]
    return "embedded", _describe(report, validation)


def _failed(exc: Exception) -> tuple[C2paState, list[Observation]]:
    words = str(exc)
    if type(exc).__name__.endswith("ManifestNotFound") or type(exc).__name__.endswith(
            "NotSupported"):
        return "none", []
    remote = _REMOTE.search(words)
    if remote or words.startswith("Remote"):
        url = remote.group(1) if remote else words
        return "remote", [make("c2pa", "remote_manifest",
                               f"manifest at {url} (not fetched)")]
    return "unreadable", [make("c2pa", "unreadable", words)]


def _describe(report: dict[str, Any], validation: object) -> list[Observation]:
    found = [make("c2pa", "manifest", "present")]
    codes = [str(s.get("code")) for s in report.get("validation_status") or []
             if isinstance(s, dict)]
    state = str(validation or report.get("validation_state") or "unknown")
    found.append(make("c2pa", "validation", state + (f" ({', '.join(codes)})" if codes else "")))
    manifests = report.get("manifests") or {}
    manifest = manifests.get(report.get("active_manifest"), {})
    if not isinstance(manifest, dict):
        return found
    generator = manifest.get("claim_generator") or ", ".join(
        str(g.get("name", "")) for g in manifest.get("claim_generator_info") or []
        if isinstance(g, dict))
    if generator:
        found.append(make("c2pa", "claim_generator", str(generator)))
    for action in _actions(manifest)[:MAX_ACTIONS]:
        found.append(make("c2pa", "action", str(action.get("action", "?"))))
        dst = action.get("digitalSourceType")
        if isinstance(dst, str):
            name = source_type_name(dst)
            found.append(make("c2pa", "digital_source_type", name,
                              declares_ai=name in AI_SOURCE_TYPES))
    return found


def _actions(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for assertion in manifest.get("assertions") or []:
        if not isinstance(assertion, dict):
            continue
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            data = assertion.get("data") or {}
            out += [a for a in data.get("actions") or [] if isinstance(a, dict)]
    return out
