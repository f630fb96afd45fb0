"""Versioning: immutable version tokens of registered models (published, trained or rolled back),
channels (latest, stable, ...), per-account pins, deprecation and quorum promotion of stable with BLS."""

from pallets.versioning.pallet import Versioning

__all__ = ["Versioning"]
