"""northstar: measure an internal ML platform the way a product team measures a product."""

from __future__ import annotations

__version__ = "0.1.0"

from northstar.records import KINDS, MODELS

__all__ = ["KINDS", "MODELS", "__version__"]
