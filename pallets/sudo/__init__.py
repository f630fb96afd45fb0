"""Sudo: one key account may dispatch any call with the root origin, and hand the key on."""

from pallets.sudo.pallet import Sudo

__all__ = ["Sudo"]
