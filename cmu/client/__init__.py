"""The client of a cmu node: JSON-RPC over HTTP and WebSocket (`Client`), a metadata-driven view of the
chain (`Chain`: build and sign any pallet's call, query storage, read blocks and events) and the `cmu` CLI.
"""

from cmu.client.chain import Chain, Receipt, StorageResult
from cmu.client.errors import (
    ArgumentError,
    ClientError,
    NodeUnreachable,
    ProtocolError,
    RpcError,
    TransactionFailed,
    TransactionRejected,
)
from cmu.client.metadata import Metadata
from cmu.client.rpc import Client, Subscription
from cmu.client.signer import load_signer

__all__ = [
    "ArgumentError",
    "Chain",
    "Client",
    "ClientError",
    "Metadata",
    "NodeUnreachable",
    "ProtocolError",
    "Receipt",
    "RpcError",
    "StorageResult",
    "Subscription",
    "TransactionFailed",
    "TransactionRejected",
    "load_signer",
]
