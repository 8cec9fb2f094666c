"""``veil scan`` and ``veil demo`` (placeholder, in progress)."""


def scan_command() -> None:
    """Scan files against the banks."""
    raise SystemExit("veil scan is not implemented yet")


def demo_command() -> None:
    """Run the demo."""
    raise SystemExit("veil demo is not implemented yet")
