"""northstar: measure an internal ML platform the way a product team measures a product."""

from __future__ import annotations

__version__ = "0.1.0"

from northstar.records import KINDS, MODELS

__all__ = ["KINDS", "MODELS", "__version__", "track"]


def __getattr__(name: str) -> object:
    # `northstar.track` imports the tracking SDK (and its thread) only when a program uses it.
    if name == "track":
        from northstar.sdk import track

        return track
    raise AttributeError(f"module 'northstar' has no attribute {name!r}")
