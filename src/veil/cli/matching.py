"""``veil match``: check hashes against the banks (placeholder, in progress)."""


def match_command() -> None:
    """Match hashes against the banks."""
    raise SystemExit("veil match is not implemented yet")
