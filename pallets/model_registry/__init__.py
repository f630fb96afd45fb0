"""ModelRegistry: models as tokens (register, transfer, approve, set_metadata, retire) with their weights
stored on chain as content-addressed chunked artifacts, uploaded over several extrinsics with a storage
deposit, and predictions computed by any node from its state for free."""

from pallets.model_registry.pallet import ModelRegistry

__all__ = ["ModelRegistry"]
