"""The client's typed errors: what went wrong talking to a node, or with what the user asked for.

The CLI maps them to exit codes: ArgumentError 2 (usage), NodeUnreachable 3 (connection), the rest 1.
"""

from __future__ import annotations

from typing import Any

#: The JSON-RPC error code of a transaction the node refused (Substrate's "invalid transaction").
TRANSACTION_REJECTED = 1010


class ClientError(Exception):
    """Base of every error the client raises on purpose."""


class ArgumentError(ClientError, ValueError):
    """Bad input from the user: an unknown call or storage item, or a value its schema refuses."""


class NodeUnreachable(ClientError, ConnectionError):
    """The node could not be reached, or the connection broke mid-request."""


class ProtocolError(ClientError):
    """The node answered something that is not valid JSON-RPC (or WebSocket)."""


class RpcError(ClientError):
    """A JSON-RPC error object returned by the node."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{message} (code {code})")
        self.code = code
        self.message = message
        self.data = data

    @classmethod
    def from_json(cls, error: Any) -> RpcError:
        """The typed error for a JSON-RPC `error` member (TransactionRejected for code 1010)."""
        if not isinstance(error, dict):
            return cls(-32603, f"malformed error object: {error!r}")
        code = error.get("code")
        code = code if isinstance(code, int) else -32603
        message = str(error.get("message", "unknown error"))
        kind = TransactionRejected if code == TRANSACTION_REJECTED else cls
        return kind(code, message, error.get("data"))


class TransactionRejected(RpcError):
    """The node refused an extrinsic (code 1010); `error` names why: BadSignature, StaleNonce, ..."""

    @property
    def error(self) -> str:
        """The runtime's name for the refusal (data.error), e.g. "CannotPayFees"."""
        data = self.data if isinstance(self.data, dict) else {}
        return str(data.get("error") or data.get("code") or "Invalid")

    @property
    def detail(self) -> str:
        """The runtime's explanation (data.message), or the JSON-RPC message."""
        data = self.data if isinstance(self.data, dict) else {}
        return str(data.get("message") or self.message)

    def __str__(self) -> str:
        return f"transaction rejected: {self.error}: {self.detail}"


class TransactionFailed(ClientError):
    """An extrinsic was included in a block but its call failed (or it was dropped or invalidated)."""

    def __init__(self, error: str, message: str = "", result: Any = None) -> None:
        super().__init__(f"{error}: {message}" if message else error)
        self.error = error
        self.message = message
        self.result = result
