"""The client of a cmu node: JSON-RPC over HTTP and WebSocket (`Client`), a metadata-driven view of the
chain (`Chain`: build and sign any pallet's call, query storage, read blocks and events) and the `cmu` CLI.
"""

from client.chain import Chain, Receipt, StorageResult
from client.errors import (
    ArgumentError,
    ClientError,
    NodeUnreachable,
    ProtocolError,
    RpcError,
    TransactionFailed,
    TransactionRejected,
)
from client.metadata import Metadata
from client.rpc import Client, Subscription
from client.signer import load_signer

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
