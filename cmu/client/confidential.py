"""Confidential models, client side: encrypt weights under a fresh data key (SecretBox), seal that key to
each holder's X25519 key (SealedBox, converted from their ed25519 account key), publish, share, and
predict locally after a verified download. Format: cmu/formats/envelope.py.

The node never sees a data key or plaintext weights; these functions run only on the key holders' side.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nacl.bindings
import nacl.exceptions
import nacl.public
import nacl.secret
import nacl.utils

from cmu.client import models
from cmu.client.chain import Chain, from_hex, hex_of
from cmu.client.errors import ClientError
from cmu.formats import envelope
from cmu.formats.predictions import QueryError, as_batch, predict_rows
from runtime.crypto import Keypair


class NoKey(ClientError):
    """The chain holds no data key of this model for this account (or only one of an older key)."""


class DecryptionFailed(ClientError):
    """A key or an artifact does not open: the key is not this artifact's, or the bytes were altered."""


def new_data_key() -> bytes:
    """A fresh random 32-byte data key."""
    key: bytes = nacl.utils.random(envelope.KEY_SIZE)
    return key


def seal_artifact(plaintext: bytes, key: bytes) -> bytes:
    """Weights encrypted under `key` as a confidential artifact (header, then a SecretBox message)."""
    return envelope.header(envelope.key_id_of(key)) + bytes(nacl.secret.SecretBox(key).encrypt(plaintext))


def open_artifact(data: bytes, key: bytes) -> bytes:
    """The plaintext of a confidential artifact; DecryptionFailed for the wrong key or altered bytes."""
    try:
        key_id = envelope.parse_key_id(data)
    except envelope.BadEnvelope as exc:
        raise DecryptionFailed(str(exc)) from exc
    if envelope.key_id_of(key) != key_id:
        raise DecryptionFailed(f"this key is not the artifact's (it needs key 0x{key_id.hex()})")
    try:
        return bytes(nacl.secret.SecretBox(key).decrypt(data[envelope.HEADER_SIZE :]))
    except nacl.exceptions.CryptoError as exc:
        raise DecryptionFailed("the artifact does not decrypt: its bytes were altered") from exc


def wrap_key(key: bytes, account: bytes) -> bytes:
    """`key` sealed to the X25519 key of an ed25519 account (80 bytes; only that account opens it)."""
    x25519: bytes = nacl.bindings.crypto_sign_ed25519_pk_to_curve25519(bytes(account))
    return bytes(nacl.public.SealedBox(nacl.public.PublicKey(x25519)).encrypt(key))


def unwrap_key(sealed: bytes, keypair: Keypair) -> bytes:
    """Open a wrapped key with this account's X25519 private key; DecryptionFailed if it is not ours."""
    box = nacl.public.SealedBox(nacl.public.PrivateKey(keypair.x25519_private()))
    try:
        return bytes(box.decrypt(sealed))
    except nacl.exceptions.CryptoError as exc:
        raise DecryptionFailed("the wrapped key was not sealed to this account") from exc


def my_key(chain: Chain, keypair: Keypair, model: int) -> bytes:
    """This account's data key of the model's current confidential version, checked against its id."""
    current = chain.query("Access.confidential", [model])
    if not current.exists:
        raise NoKey(f"model {model} has no confidential version")
    key_id = from_hex(current.value["key_id"], "key id")
    wrapped = chain.query("Access.wrapped_keys", [model, hex_of(keypair.account)])
    if not wrapped.exists or from_hex(wrapped.value["key_id"], "key id") != key_id:
        raise NoKey(
            f"no data key of model {model} was posted to {hex_of(keypair.account)} for its current "
            f"version (key 0x{key_id.hex()}): ask a Maintainer to post one (cmu model share-key)"
        )
    key = unwrap_key(from_hex(wrapped.value["sealed"], "wrapped key"), keypair)
    if envelope.key_id_of(key) != key_id:
        raise DecryptionFailed("the key posted to this account is not the one its id names")
    return key


def publish(
    chain: Chain, keypair: Keypair, model: int, plaintext: bytes, key: bytes, *, timeout: float = 60.0
) -> bytes:
    """Encrypt, upload and publish weights as the model's confidential version, then post the key to
    the publisher itself; returns the encrypted artifact's root."""
    root = models.upload_artifact(chain, keypair, seal_artifact(plaintext, key), timeout=timeout)
    args = {"model": model, "artifact": hex_of(root)}
    models._watch(chain, keypair, "Access.publish_confidential", args, timeout)
    post_key(chain, keypair, model, bytes(keypair.account), key, timeout=timeout)
    return root


def post_key(
    chain: Chain, keypair: Keypair, model: int, who: bytes, key: bytes, *, timeout: float = 60.0
) -> None:
    """Post `key` sealed to `who` (Access.post_key, signed by a Maintainer or higher)."""
    args = {"model": model, "who": hex_of(who), "sealed": hex_of(wrap_key(key, who))}
    models._watch(chain, keypair, "Access.post_key", args, timeout)


def make_permissioned(
    chain: Chain, keypair: Keypair, model: int, plaintext: bytes, *, training: str = "Open",
    share: Sequence[bytes] = (), timeout: float = 60.0,
) -> dict[str, Any]:
    """Make a model Permissioned the only way the chain allows: encrypt `plaintext` (the weights) here
    under a fresh data key, upload and publish the ciphertext as the model's confidential version (the
    key posted to the signer), grant Reader to each account of `share` that holds no role and post the key
    to it, then set the policy. Plaintext weights the model had on chain before stay readable in its
    history."""
    key = new_data_key()
    root = publish(chain, keypair, model, plaintext, key, timeout=timeout)
    best = int(chain.client.request("chain_getHeader")["number"])
    for who in share:
        if not _live_grant(chain, model, hex_of(who), best):
            grant = {"model": model, "who": hex_of(who), "role": "Reader", "expires_at": None}
            models._watch(chain, keypair, "Access.grant", grant, timeout)
        post_key(chain, keypair, model, who, key, timeout=timeout)
    args = {"model": model, "visibility": "Permissioned", "training": training}
    models._watch(chain, keypair, "Access.set_policy", args, timeout)
    return {"model": model, "artifact": hex_of(root), "keyId": hex_of(envelope.key_id_of(key)),
            "sharedWith": [hex_of(who) for who in share]}


def register_permissioned(
    chain: Chain, keypair: Keypair, register_args: dict[str, Any], plaintext: bytes, *,
    training: str = "Open", share: Sequence[bytes] = (), timeout: float = 60.0,
) -> dict[str, Any]:
    """Register a model with its kind's initial weights (no plaintext of `plaintext` ever leaves this
    machine) and make it Permissioned with `plaintext` encrypted (make_permissioned); returns its id too."""
    args = dict(register_args, artifact=None)
    receipt = models._watch(chain, keypair, "ModelRegistry.register", args, timeout)
    model = int(models._event_field(receipt, "ModelRegistered", "model"))
    made = make_permissioned(
        chain, keypair, model, plaintext, training=training, share=share, timeout=timeout
    )
    return {**made, "block": receipt.block_hash}


def post_pending_keys(
    chain: Chain, keypair: Keypair, model: int, *, start: int = 0, timeout: float = 60.0
) -> list[str]:
    """Post the signer's data key of a confidential model to every account that obtained a role on it in
    blocks `start`..best (a grant, a bought pass, the token transferred to it) and holds a live role now
    (or owns the model) but no wrapped key of the current key: what a Maintainer's key keeper runs, since
    the chain never sees the key and cannot seal it to a pass buyer. Returns the accounts posted to."""
    key = my_key(chain, keypair, model)
    key_id = envelope.key_id_of(key)
    best = int(chain.client.request("chain_getHeader")["number"])
    owner = str(chain.query("ModelRegistry.models", [model]).value["owner"])
    posted = []
    for who in sorted(_role_takers(chain, model, start, best) | {owner}):
        wrapped = chain.query("Access.wrapped_keys", [model, who])
        if wrapped.exists and from_hex(wrapped.value["key_id"], "key id") == key_id:
            continue
        if who != owner and not _live_grant(chain, model, who, best):
            continue
        post_key(chain, keypair, model, from_hex(who, "account"), key, timeout=timeout)
        posted.append(who)
    return posted


def _role_takers(chain: Chain, model: int, start: int, best: int) -> set[str]:
    """Accounts named by RoleGranted, PassBought and ModelTransferred events of `model` in the blocks."""
    found: set[str] = set()
    fields_of = {"RoleGranted": "who", "PassBought": "buyer", "ModelTransferred": "dest"}
    for number in range(max(0, start), best + 1):
        for event in chain.events(chain.block_hash(number)):
            fields = event.get("fields")
            name = fields_of.get(str(event.get("event")))
            if name is not None and isinstance(fields, dict) and fields.get("model") == model:
                found.add(str(fields[name]).lower())
    return found


def _live_grant(chain: Chain, model: int, who: str, best: int) -> bool:
    """Whether `who` holds a role on the model that still counts in the next block."""
    grant = chain.query("Access.grants", [model, who])
    if not grant.exists:
        return False
    expires = grant.value.get("expires_at")
    return expires is None or best + 1 < int(expires)


def predict_local(
    chain: Chain, keypair: Keypair | None, model: int, rows: Any, *, fixed: bool = False
) -> dict[str, Any]:
    """Download the model's weights (verified against the chain), decrypt them when the model is
    confidential (with this account's posted key) and predict here, with the node's own code."""
    from cmu.client.onboarding import spec_from_json
    from cmu.client.sklearn_convert import model_input_of
    from cmu.formats.predictions import LOGISTIC_TASK
    from cmu.models import ModelError, get_kind

    info = chain.client.request("model_get", [model])
    secret = (info.get("access") or {}).get("confidential") is not None
    if secret and keypair is None:
        raise NoKey(f"model {model} is confidential: predicting needs --signer, a key holder's account")
    got = models.download_artifact(chain, model, signer=keypair)
    data = open_artifact(got.data, my_key(chain, keypair, model)) if secret and keypair else got.data
    inputs = model_input_of(spec_from_json(info["inputSpec"]))  # the kind's spec and any input step
    spec = inputs.spec
    kind = get_kind(info["kind"])
    labels = list(info["labels"])
    try:
        weights = kind.decode(data, spec, len(labels))
        predictions = predict_rows(kind, weights, spec, labels, as_batch(rows), fixed=fixed, inputs=inputs,
                                   logistic=info.get("task") == LOGISTIC_TASK)
    except QueryError as exc:
        raise ClientError(f"{exc.error}: {exc}") from exc
    except ModelError as exc:  # weights that do not decode
        raise DecryptionFailed(f"the decrypted weights do not decode: {exc}") from exc
    return {"model": model, "artifact": hex_of(got.root), "local": True, "predictions": predictions}
