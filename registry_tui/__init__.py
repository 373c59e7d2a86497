"""registry-tui: see, and prove, what lightweight transactions guarantee."""

__version__ = "0.1.0"
