"""IETF BLS signatures over BLS12-381, proof-of-possession scheme, for quorums and finality certificates.

Ciphersuite `BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_`: public keys are 48-byte compressed G1 points,
signatures 96-byte compressed G2 points, secret keys 32-byte big-endian scalars.

py-ecc (`py_ecc.bls.G2ProofOfPossession`) is the reference backend and the fallback. The optional `fast-bls`
extra installs `py-arkworks-bls12381`, which gives identical results on the Ethereum BLS12-381 test vectors
(tests/runtime/test_bls.py) and is about 150 times faster; it is chosen automatically when importable.
`CMU_BLS_BACKEND=py_ecc|arkworks` forces one. The tests hold both to the same answers on every vector and
on random inputs, so the choice changes speed, not a consensus outcome.

Verification functions (`verify`, `fast_aggregate_verify`, `aggregate_verify`, `batch_verify`,
`pop_verify`, `key_validate`, `is_g1_point`, `is_g2_point`) return False on malformed bytes and never raise.
`BlsError` is raised only for misuse: a bad secret key, too little key material, an empty or invalid
list given to `aggregate`, an unknown backend name.

Every key must pass `pop_verify` when it is registered: `fast_aggregate_verify` is only safe against
rogue-key attacks over keys whose proof of possession was checked.
"""

from __future__ import annotations

import functools
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from hashlib import sha256
from typing import ClassVar, Final

from eth_typing import BLSPubkey, BLSSignature
from eth_utils.exceptions import ValidationError
from py_ecc.bls.ciphersuites import G2ProofOfPossession as _PyEccPop
from py_ecc.bls.g2_primitives import (
    G1_to_pubkey,
    G2_to_signature,
    pubkey_to_G1,
    signature_to_G2,
    subgroup_check,
)
from py_ecc.bls.hash_to_curve import hash_to_G2
from py_ecc.bls.typing import G1Uncompressed
from py_ecc.optimized_bls12_381.optimized_curve import Z1, add

try:
    from py_arkworks_bls12381 import GT, G1Point, G2Point, Scalar

    _ARKWORKS_IMPORTED = True
except ImportError:  # the optional `fast-bls` extra is not installed
    _ARKWORKS_IMPORTED = False

PUBLIC_KEY_LEN: Final = 48
"""Bytes in a compressed G1 public key."""
SIGNATURE_LEN: Final = 96
"""Bytes in a compressed G2 signature (or proof of possession)."""
SECRET_KEY_LEN: Final = 32
"""Bytes in a big-endian secret key."""
MIN_IKM_LEN: Final = 32
"""Least input key material that `keygen` accepts (IETF KeyGen)."""
CURVE_ORDER: Final = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
"""The order r of the G1 and G2 subgroups; a secret key lies in [1, r)."""
SIGN_DST: Final = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"
"""Domain separation tag of signatures (the ciphersuite id)."""
POP_DST: Final = b"BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"
"""Domain separation tag of proofs of possession."""
PK_CACHE_SIZE: Final = 4096
"""Decoded public keys kept per backend: the validator set verifies every block."""
BACKEND_ENV: Final = "CMU_BLS_BACKEND"
"""Environment variable that forces a backend by name."""
PY_ECC: Final = "py_ecc"
"""Name of the reference backend (py-ecc, pure Python)."""
ARKWORKS: Final = "arkworks"
"""Name of the fast backend (py-arkworks-bls12381, optional)."""


class BlsError(ValueError):
    """The BLS API was misused (bad secret key, empty or invalid aggregate input, unknown backend)."""


def secret_scalar(sk: bytes) -> int:
    """The integer of a 32-byte big-endian secret key; BlsError unless it lies in [1, r)."""
    if len(sk) != SECRET_KEY_LEN:
        raise BlsError(f"a secret key is {SECRET_KEY_LEN} bytes, got {len(sk)}")
    value = int.from_bytes(sk, "big")
    if not 0 < value < CURVE_ORDER:
        raise BlsError("a secret key must lie in [1, r)")
    return value


def keygen(ikm: bytes, key_info: bytes = b"") -> bytes:
    """IETF KeyGen (the same as EIP-2333's derive_master_SK): a 32-byte secret key from >= 32 bytes of IKM."""
    if len(ikm) < MIN_IKM_LEN:
        raise BlsError(f"KeyGen needs at least {MIN_IKM_LEN} bytes of IKM, got {len(ikm)}")
    return int(_PyEccPop.KeyGen(ikm, key_info)).to_bytes(SECRET_KEY_LEN, "big")


class Backend(ABC):
    """One implementation of the POP ciphersuite over byte strings; see the module docstring."""

    name: ClassVar[str]

    @abstractmethod
    def public_key(self, sk: bytes) -> bytes:
        """SkToPk: the 48-byte public key of a secret key."""

    @abstractmethod
    def sign(self, sk: bytes, msg: bytes) -> bytes:
        """The 96-byte signature of `msg` under SIGN_DST."""

    @abstractmethod
    def verify(self, pk: bytes, msg: bytes, sig: bytes) -> bool:
        """True when `sig` signs `msg` under a valid `pk`."""

    @abstractmethod
    def aggregate(self, sigs: Sequence[bytes]) -> bytes:
        """The sum of valid signatures; BlsError on an empty list or an invalid signature."""

    @abstractmethod
    def fast_aggregate_verify(self, pks: Sequence[bytes], msg: bytes, sig: bytes) -> bool:
        """True when `sig` aggregates signatures of one `msg` by every key in `pks` (at least one)."""

    @abstractmethod
    def aggregate_verify(self, pks: Sequence[bytes], msgs: Sequence[bytes], sig: bytes) -> bool:
        """True when `sig` aggregates a signature of msgs[i] by pks[i] for each i (at least one)."""

    @abstractmethod
    def pop_prove(self, sk: bytes) -> bytes:
        """The proof of possession of `sk`: its public key signed under POP_DST."""

    @abstractmethod
    def pop_verify(self, pk: bytes, proof: bytes) -> bool:
        """True when `proof` is the proof of possession of a valid `pk`."""

    @abstractmethod
    def key_validate(self, pk: bytes) -> bool:
        """KeyValidate: a canonical compressed G1 point in the subgroup, not the identity."""

    @abstractmethod
    def is_g1_point(self, data: bytes) -> bool:
        """True for a canonical compressed G1 subgroup point, the identity included."""

    @abstractmethod
    def is_g2_point(self, data: bytes) -> bool:
        """True for a canonical compressed G2 subgroup point, the identity included."""

    @abstractmethod
    def hash_to_g2(self, msg: bytes, dst: bytes) -> bytes:
        """RFC 9380 hash_to_curve (BLS12381G2_XMD:SHA-256_SSWU_RO_) of `msg`, compressed."""

    def batch_verify(self, pks: Sequence[bytes], msgs: Sequence[bytes], sigs: Sequence[bytes]) -> bool:
        """True when each (pks[i], msgs[i], sigs[i]) verifies; False for empty or unequal lists."""
        if not pks or not len(pks) == len(msgs) == len(sigs):
            return False
        return all(self.verify(pk, msg, sig) for pk, msg, sig in zip(pks, msgs, sigs, strict=True))


_PY_ECC_DECODE_ERRORS: Final = (ValidationError, ValueError, AssertionError)
"""What py-ecc raises on bytes that are not a point (the tuple its own KeyValidate catches)."""


class PyEccBackend(Backend):
    """The reference: py_ecc.bls.G2ProofOfPossession in pure Python (one verify takes about 0.35 s).

    Decoded keys are cached for fast_aggregate_verify, which sums them and hands the sum to the reference
    Verify; `aggregate` adds the subgroup check of IETF signature_to_point, which py-ecc's Aggregate skips.
    """

    name = PY_ECC

    def __init__(self) -> None:
        self._pk_point = functools.lru_cache(maxsize=PK_CACHE_SIZE)(self._decode_pk)

    @staticmethod
    def _decode_pk(pk: bytes) -> G1Uncompressed | None:
        """The point of a public key that passes KeyValidate, else None."""
        if len(pk) != PUBLIC_KEY_LEN or not _PyEccPop.KeyValidate(BLSPubkey(pk)):
            return None
        return pubkey_to_G1(BLSPubkey(pk))

    def public_key(self, sk: bytes) -> bytes:
        return bytes(_PyEccPop.SkToPk(secret_scalar(sk)))

    def sign(self, sk: bytes, msg: bytes) -> bytes:
        return bytes(_PyEccPop.Sign(secret_scalar(sk), msg))

    def verify(self, pk: bytes, msg: bytes, sig: bytes) -> bool:
        if self._pk_point(pk) is None:
            return False
        return bool(_PyEccPop.Verify(BLSPubkey(pk), msg, BLSSignature(sig)))

    def aggregate(self, sigs: Sequence[bytes]) -> bytes:
        _check_aggregate_input(self, sigs)
        return bytes(_PyEccPop.Aggregate([BLSSignature(s) for s in sigs]))

    def fast_aggregate_verify(self, pks: Sequence[bytes], msg: bytes, sig: bytes) -> bool:
        if not pks:
            return False
        total = Z1
        for pk in pks:
            point = self._pk_point(pk)
            if point is None:
                return False
            total = add(total, point)
        # Verify runs KeyValidate on the sum: an identity aggregate key is refused, as in the reference.
        return bool(_PyEccPop.Verify(G1_to_pubkey(total), msg, BLSSignature(sig)))

    def aggregate_verify(self, pks: Sequence[bytes], msgs: Sequence[bytes], sig: bytes) -> bool:
        if not pks or len(pks) != len(msgs) or any(self._pk_point(pk) is None for pk in pks):
            return False
        return bool(_PyEccPop.AggregateVerify([BLSPubkey(pk) for pk in pks], list(msgs), BLSSignature(sig)))

    def pop_prove(self, sk: bytes) -> bytes:
        return bytes(_PyEccPop.PopProve(secret_scalar(sk)))

    def pop_verify(self, pk: bytes, proof: bytes) -> bool:
        if self._pk_point(pk) is None:
            return False
        return bool(_PyEccPop.PopVerify(BLSPubkey(pk), BLSSignature(proof)))

    def key_validate(self, pk: bytes) -> bool:
        return self._pk_point(pk) is not None

    def is_g1_point(self, data: bytes) -> bool:
        if len(data) != PUBLIC_KEY_LEN:
            return False
        try:
            point = pubkey_to_G1(BLSPubkey(data))
        except _PY_ECC_DECODE_ERRORS:
            return False
        return bool(subgroup_check(point))

    def is_g2_point(self, data: bytes) -> bool:
        if len(data) != SIGNATURE_LEN:
            return False
        try:
            point = signature_to_G2(BLSSignature(data))
        except _PY_ECC_DECODE_ERRORS:
            return False
        return bool(subgroup_check(point))

    def hash_to_g2(self, msg: bytes, dst: bytes) -> bytes:
        # py-ecc annotates the hash function as a hash object (_hashlib.HASH) but calls it as a constructor.
        return bytes(G2_to_signature(hash_to_G2(msg, dst, sha256)))  # type: ignore[arg-type]


def _require_signatures(sigs: Sequence[bytes]) -> None:
    """BlsError for an empty list given to aggregate."""
    if not sigs:
        raise BlsError("aggregate needs at least one signature")


def _check_aggregate_input(backend: Backend, sigs: Sequence[bytes]) -> None:
    """BlsError unless `sigs` is a non-empty list of valid signatures (IETF signature_to_point)."""
    _require_signatures(sigs)
    for index, sig in enumerate(sigs):
        if not backend.is_g2_point(sig):
            raise BlsError(f"signature {index} is not a valid compressed G2 point")


class ArkworksBackend(Backend):
    """py-arkworks-bls12381 (Rust arkworks): the same results as PyEccBackend, about 150 times faster."""

    name = ARKWORKS

    def __init__(self) -> None:
        if not _ARKWORKS_IMPORTED:
            raise BlsError("the arkworks backend needs py-arkworks-bls12381 (the fast-bls extra)")
        self._generator = G1Point()
        self._neg_generator = -G1Point()
        self._pk_point = functools.lru_cache(maxsize=PK_CACHE_SIZE)(self._decode_pk)

    @staticmethod
    def _g1(data: bytes) -> G1Point | None:
        """The G1 point of a canonical compressed encoding (subgroup checked), else None."""
        if len(data) != PUBLIC_KEY_LEN:
            return None
        try:
            point = G1Point.from_compressed_bytes(data)
        except ValueError:
            return None
        # arkworks ignores stray flag bits on the identity: re-encoding enforces the canonical form.
        return point if point.to_compressed_bytes() == data else None

    @staticmethod
    def _g2(data: bytes) -> G2Point | None:
        """The G2 point of a canonical compressed encoding (subgroup checked), else None."""
        if len(data) != SIGNATURE_LEN:
            return None
        try:
            point = G2Point.from_compressed_bytes(data)
        except ValueError:
            return None
        return point if point.to_compressed_bytes() == data else None

    @classmethod
    def _decode_pk(cls, pk: bytes) -> G1Point | None:
        """The point of a public key that passes KeyValidate, else None."""
        point = cls._g1(pk)
        return None if point is None or point == G1Point.identity() else point

    def _core_verify(self, pk: G1Point, msg: bytes, sig: bytes, dst: bytes) -> bool:
        """e(pk, H(msg)) == e(g1, sig), as one pairing check."""
        sig_point = self._g2(sig)
        if sig_point is None:
            return False
        return GT.pairing_check([pk, self._neg_generator], [G2Point.hash_to_curve(msg, dst), sig_point])

    def _sign(self, sk: bytes, msg: bytes, dst: bytes) -> bytes:
        scalar = Scalar(secret_scalar(sk))
        return (G2Point.hash_to_curve(msg, dst) * scalar).to_compressed_bytes()

    def public_key(self, sk: bytes) -> bytes:
        return (self._generator * Scalar(secret_scalar(sk))).to_compressed_bytes()

    def sign(self, sk: bytes, msg: bytes) -> bytes:
        return self._sign(sk, msg, SIGN_DST)

    def verify(self, pk: bytes, msg: bytes, sig: bytes) -> bool:
        point = self._pk_point(pk)
        return point is not None and self._core_verify(point, msg, sig, SIGN_DST)

    def aggregate(self, sigs: Sequence[bytes]) -> bytes:
        _require_signatures(sigs)
        total = G2Point.identity()
        for index, sig in enumerate(sigs):
            point = self._g2(sig)
            if point is None:
                raise BlsError(f"signature {index} is not a valid compressed G2 point")
            total = total + point
        return total.to_compressed_bytes()

    def fast_aggregate_verify(self, pks: Sequence[bytes], msg: bytes, sig: bytes) -> bool:
        total = G1Point.identity()
        for pk in pks:
            point = self._pk_point(pk)
            if point is None:
                return False
            total = total + point
        if total == G1Point.identity():  # no keys, or keys summing to the identity: KeyValidate fails
            return False
        return self._core_verify(total, msg, sig, SIGN_DST)

    def aggregate_verify(self, pks: Sequence[bytes], msgs: Sequence[bytes], sig: bytes) -> bool:
        if not pks or len(pks) != len(msgs):
            return False
        points = [self._pk_point(pk) for pk in pks]
        sig_point = self._g2(sig)
        valid = [p for p in points if p is not None]
        if sig_point is None or len(valid) != len(points):
            return False
        hashes = [G2Point.hash_to_curve(msg, SIGN_DST) for msg in msgs]
        return GT.pairing_check([*valid, self._neg_generator], [*hashes, sig_point])

    def pop_prove(self, sk: bytes) -> bytes:
        return self._sign(sk, self.public_key(sk), POP_DST)

    def pop_verify(self, pk: bytes, proof: bytes) -> bool:
        point = self._pk_point(pk)
        return point is not None and self._core_verify(point, pk, proof, POP_DST)

    def key_validate(self, pk: bytes) -> bool:
        return self._pk_point(pk) is not None

    def is_g1_point(self, data: bytes) -> bool:
        return self._g1(data) is not None

    def is_g2_point(self, data: bytes) -> bool:
        return self._g2(data) is not None

    def hash_to_g2(self, msg: bytes, dst: bytes) -> bytes:
        return G2Point.hash_to_curve(msg, dst).to_compressed_bytes()


_BACKEND_CLASSES: Final[dict[str, type[Backend]]] = {PY_ECC: PyEccBackend, ARKWORKS: ArkworksBackend}


def available_backends() -> tuple[str, ...]:
    """Names of the backends usable in this process, the reference (py_ecc) first."""
    return (PY_ECC, ARKWORKS) if _ARKWORKS_IMPORTED else (PY_ECC,)


@functools.cache
def get_backend(name: str) -> Backend:
    """The process-wide instance of a backend by name; BlsError if unknown or not installed."""
    backend_class = _BACKEND_CLASSES.get(name)
    if backend_class is None:
        raise BlsError(f"unknown BLS backend {name!r}; known: {', '.join(_BACKEND_CLASSES)}")
    return backend_class()


def select_backend() -> Backend:
    """The backend named by CMU_BLS_BACKEND if set, else the fastest available one."""
    forced = os.environ.get(BACKEND_ENV, "").strip()
    return get_backend(forced or available_backends()[-1])


@functools.cache
def default_backend() -> Backend:
    """The backend behind the module-level functions, chosen once per process by `select_backend`."""
    return select_backend()


def public_key(sk: bytes) -> bytes:
    """SkToPk: the 48-byte public key of a 32-byte secret key."""
    return default_backend().public_key(sk)


def sign(sk: bytes, msg: bytes) -> bytes:
    """The 96-byte signature of `msg`; BlsError for a secret key outside [1, r)."""
    return default_backend().sign(sk, msg)


def verify(pk: bytes, msg: bytes, sig: bytes) -> bool:
    """True when `sig` signs `msg` under a valid `pk`."""
    return default_backend().verify(pk, msg, sig)


def aggregate(sigs: Sequence[bytes]) -> bytes:
    """The aggregate of signatures; BlsError on an empty list or an invalid signature."""
    return default_backend().aggregate(sigs)


def fast_aggregate_verify(pks: Sequence[bytes], msg: bytes, sig: bytes) -> bool:
    """True when `sig` aggregates signatures of `msg` by all of `pks` (whose PoPs the caller checked)."""
    return default_backend().fast_aggregate_verify(pks, msg, sig)


def aggregate_verify(pks: Sequence[bytes], msgs: Sequence[bytes], sig: bytes) -> bool:
    """True when `sig` aggregates a signature of msgs[i] by pks[i] for every i."""
    return default_backend().aggregate_verify(pks, msgs, sig)


def batch_verify(pks: Sequence[bytes], msgs: Sequence[bytes], sigs: Sequence[bytes]) -> bool:
    """True when every (pk, msg, sig) triple verifies; False for empty or unequal lists."""
    return default_backend().batch_verify(pks, msgs, sigs)


def pop_prove(sk: bytes) -> bytes:
    """The proof of possession of a secret key, to publish with its public key."""
    return default_backend().pop_prove(sk)


def pop_verify(pk: bytes, proof: bytes) -> bool:
    """True when `proof` proves possession of the secret key of `pk`: check at key registration."""
    return default_backend().pop_verify(pk, proof)


def key_validate(pk: bytes) -> bool:
    """True for a valid public key: on the curve, in the subgroup, not the identity."""
    return default_backend().key_validate(pk)


def is_g1_point(data: bytes) -> bool:
    """True when `data` decodes to a G1 subgroup point (the identity included)."""
    return default_backend().is_g1_point(data)


def is_g2_point(data: bytes) -> bool:
    """True when `data` decodes to a G2 subgroup point (the identity included)."""
    return default_backend().is_g2_point(data)
