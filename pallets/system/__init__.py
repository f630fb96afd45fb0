"""System: accounts and their nonces, the block number and timestamp, recent block hashes, the events
of the current block, the authorities allowed to author blocks, and `remark`."""

from pallets.system.pallet import AccountInfo, System

__all__ = ["AccountInfo", "System"]
