"""An author may skip re-verifying signatures its pool checked; importers never skip, so a block built
on a false claim is refused everywhere."""

from __future__ import annotations

import pytest

from runtime.crypto import dev_keypair
from runtime.errors import BadSignature, InvalidBlock
from runtime.executive import Runtime
from runtime.extrinsic import sign_extrinsic
from runtime.genesis import dev_spec
from runtime.storage.backend import MemoryBackend


def _transfer(rt: Runtime, forged: bool) -> bytes:
    call = rt.make_call("Balances.transfer", dest=dev_keypair("bob").account, value=10**12).to_wire()
    data = sign_extrinsic(
        dev_keypair("alice"),
        call,
        nonce=0,
        genesis_hash=rt.genesis_hash,
        spec_version=rt.VERSION.spec_version,
    )
    if not forged:
        return data
    position = data.index(bytes(dev_keypair("alice").account)) + 32 + 2  # signer, then bin8 header of the sig
    return data[:position] + bytes([data[position] ^ 1]) + data[position + 1 :]


def _build(rt: Runtime, data: bytes, *, signature_checked: bool):  # type: ignore[no-untyped-def]
    alice = dev_keypair("alice")
    builder = rt.new_block(rt.head.timestamp + 6_000, alice.account)
    builder.push(data, signature_checked=signature_checked)
    return builder.finish(alice)


def test_push_verifies_signatures_by_default() -> None:
    rt = Runtime(dev_spec(), MemoryBackend(), autoload=False)
    with pytest.raises(BadSignature):
        _build(rt, _transfer(rt, forged=True), signature_checked=False)
    rt.discard()


def test_push_with_signature_checked_gives_the_same_block_for_honest_extrinsics() -> None:
    a = Runtime(dev_spec(), MemoryBackend(), autoload=False)
    b = Runtime(dev_spec(), MemoryBackend(), autoload=False)
    checked = _build(a, _transfer(a, forged=False), signature_checked=True)
    verified = _build(b, _transfer(b, forged=False), signature_checked=False)
    assert checked.header == verified.header


def test_a_block_built_on_a_false_claim_is_refused_on_import() -> None:
    author = Runtime(dev_spec(), MemoryBackend(), autoload=False)
    importer = Runtime(dev_spec(), MemoryBackend(), autoload=False)
    pending = _build(author, _transfer(author, forged=True), signature_checked=True)
    assert pending.block is not None
    with pytest.raises(InvalidBlock, match="BadProof"):
        importer.import_block(pending.block)
    assert importer.head.number == 0
