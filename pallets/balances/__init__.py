"""Balances: the native token. Transfers, an existential deposit, total issuance, and holds with a reason
(hold, release, slash, transfer held funds) that later pallets use for stakes and deposits."""

from pallets.balances.pallet import Balances

__all__ = ["Balances"]
