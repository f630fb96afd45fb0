"""The `provenance_` JSON-RPC namespace: export a model version's provenance proof (service.provenance)
from the node's chain database, to be checked offline with `node.py verify-proof`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from cmu.formats.signed_query import named_params
from cmu.node.chaindb import ChainDb, ChainDbError
from cmu.node.provenance import ProvenanceError, export_proof
from cmu.node.rpc import RpcError, method
from cmu.node.rpc_api import parse_hex, parse_number
from runtime.executive import Runtime
from runtime.genesis import ChainSpec

if TYPE_CHECKING:
    from cmu.node.model_api import ModelApi

PROOF_REFUSED: Final = 4010
"""JSON-RPC error code of a proof the node cannot export (data: {"error", "message"})."""


def parse_at(at: Any) -> int | bytes | None:
    """A block named by number, by 0x-hash, or None (the newest certified block)."""
    if at is None:
        return None
    if isinstance(at, str):
        return parse_hex(at, "block hash", 32)
    return parse_number(at, "block number")


class ProvenanceApi:
    """The provenance_* methods."""

    def __init__(
        self, spec: ChainSpec, runtime: Runtime, chaindb: ChainDb, models: ModelApi | None = None
    ) -> None:
        self.spec = spec
        self.runtime = runtime
        self.chaindb = chaindb
        self.models = models

    @method("provenance_exportProof")
    def provenance_export_proof(
        self, model: Any, version: Any, at: Any = None, auth: Any = None
    ) -> dict[str, Any]:
        """The provenance proof file (JSON) of a model version at a certified block (default: newest).
        A version record names the weights' root, so a permissioned model's needs a signed query by a
        Reader (or higher), as model_download does."""
        model_id = parse_number(model, "model")
        number = parse_number(version, "version")
        block = parse_at(at)
        self._check_reader(model_id, named_params("provenance_exportProof", (model, version, at)), auth)
        try:
            return export_proof(self.spec, self.runtime, self.chaindb, model_id, number, block)
        except (ProvenanceError, ChainDbError) as exc:
            name = type(exc).__name__
            raise RpcError(PROOF_REFUSED, f"{name}: {exc}", {"error": name, "message": str(exc)}) from exc

    def _check_reader(self, model: int, params: dict[str, Any], auth: Any) -> None:
        """Refuse (error 4000, as the model_ methods) a caller who may not read the model."""
        models = self.models
        if models is None:
            return
        from cmu.node.model_api import answer

        def check() -> dict[str, Any]:
            caller = models.auth.verify("provenance_exportProof", params, model, auth)
            models.checked_runtime(caller, model, "download", None, models.runtime_at)
            return {}

        answer(check)
