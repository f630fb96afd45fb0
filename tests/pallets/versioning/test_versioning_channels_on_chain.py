"""Channel semantics and Maintainers through blocks on a real LevelDB chain with the real Access pallet:
a pin survives new versions, a follower moves, a deprecated version refuses new pins (existing ones stay);
a Maintainer granted by the owner publishes and rolls back, a Reader (or a stranger) cannot."""

from __future__ import annotations

from versioning_chain import Chain, contribute, register_args, upload_extrinsics
from versioning_helpers import encode, initial_weights, trained, training_step

from cmu.formats import artifact as art
from pallets.access.types import Role
from pallets.versioning import Versioning
from runtime.crypto import dev_keypair


def account(name: str) -> bytes:
    return dev_keypair(name).account


def resolve(chain: Chain, who: str) -> int:
    return chain.reader.pallet(Versioning).resolve(0, account(who))


def train_once(chain: Chain, version: int) -> None:
    """One block with one contribution on top of `version`'s weights (a new training version)."""
    step = training_step(chain.reader.pallet(Versioning).weights_at(0, version), version)
    assert chain.block(contribute(chain, "ferdie", 0, step.indices, step.values))[0].error is None


def test_channels_work_across_blocks(chain):
    assert chain.one("alice", "ModelRegistry.register", **register_args()).error is None
    train_once(chain, 0)  # version 1
    pins = [chain.sign("bob", "Versioning.pin", model=0, version=1),
            chain.sign("charlie", "Versioning.follow", model=0, channel="latest"),
            chain.sign("alice", "Versioning.set_channel", model=0, channel="stable", version=1),
            chain.sign("dave", "Versioning.follow", model=0, channel="stable")]
    assert [r.error for r in chain.block(*pins)] == [None] * 4
    for version in (1, 2, 3):
        train_once(chain, version)  # versions 2, 3, 4
    assert (resolve(chain, "bob"), resolve(chain, "charlie"), resolve(chain, "dave")) == (1, 4, 1)
    assert resolve(chain, "eve") == 1  # no pin: stable, since it is set
    assert chain.one("alice", "Versioning.set_channel", model=0, channel="stable", version=3).error is None
    assert (resolve(chain, "bob"), resolve(chain, "charlie"), resolve(chain, "dave")) == (1, 4, 3)
    assert chain.one("alice", "Versioning.deprecate", model=0, version=1).error is None
    refused = chain.one("eve", "Versioning.pin", model=0, version=1)
    assert refused.error == "Versioning.DeprecatedVersion" and "deprecated" in refused.message
    assert resolve(chain, "bob") == 1  # an existing pin on a deprecated version stays
    history = chain.versions.model_history(0)["versions"]
    assert [v["deprecated"] for v in history] == [False, True, False, False, False]


def test_access_maintainer_publishes_and_a_reader_cannot(chain):
    assert chain.one("alice", "ModelRegistry.register", **register_args()).error is None
    grants = [chain.sign("alice", "Access.grant", model=0, who=account("dave"), role=Role.MAINTAINER,
                         expires_at=None),
              chain.sign("alice", "Access.grant", model=0, who=account("bob"), role=Role.READER,
                         expires_at=None)]
    assert [r.error for r in chain.block(*grants)] == [None, None]
    for uploader, steps, upload_id in (("dave", 2, 0), ("bob", 3, 1)):
        uploads = upload_extrinsics(chain, uploader, encode(trained(steps)), upload_id)
        assert all(r.error is None for r in chain.block(*uploads))

    def publish(who: str, steps: int) -> str | None:
        root = art.artifact_root(encode(trained(steps)))
        return chain.one(who, "Versioning.publish_version", model=0, artifact=root, tag=None, notes_hash=None,
                         metrics=[]).error

    assert publish("dave", 2) is None
    assert publish("bob", 3) == "Versioning.NotMaintainer"
    rollback = chain.one("bob", "Versioning.rollback", model=0, version=0, notes_hash=None)
    assert rollback.error == "Versioning.NotMaintainer"
    assert chain.one("dave", "Versioning.rollback", model=0, version=0, notes_hash=None).error is None
    history = chain.versions.model_history(0)["versions"]
    assert [(v["cause"], v["author"]) for v in history[1:]] == [
        ("upload", "0x" + account("dave").hex()), ("rollback", "0x" + account("dave").hex())]
    assert chain.reader.pallet(Versioning).weights_at(0, 2) == initial_weights()
    revoke = chain.one("alice", "Access.revoke", model=0, who=account("dave"))
    assert revoke.error is None
    assert publish("dave", 2) == "Versioning.NotMaintainer"  # a revoked Maintainer no longer publishes
