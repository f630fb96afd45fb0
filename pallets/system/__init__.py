"""System: accounts and their nonces, the block number and timestamp, recent block hashes, the events
of the current block, the authorities allowed to author blocks, and `remark`."""

from pallets.system.pallet import System
from runtime.frame_system import AccountInfo

__all__ = ["AccountInfo", "System"]
