"""Helpers of the reliability tests (the seeded pilot, the clean pilot cache and private exports
are fixtures of tests/conftest.py)."""

from typing import Any


def report(name: str, **figures: Any) -> str:
    """Print the figures line RELIABILITY.md quotes (run pytest with -s to see it)."""
    line = f"RELIABILITY: {name} " + " ".join(f"{k}={v}" for k, v in figures.items())
    print(line)
    return line
