"""SimChain: agents' extrinsics take the node's way (validator, pool, block builder) and blocks carry the
simulated timestamps the runner asks for."""

from __future__ import annotations

from typing import Any

import pytest

from cmu.scenarios.chain import SimChain, scenario_spec
from cmu.scenarios.world import GENESIS_MS
from runtime.crypto import dev_keypair
from runtime.genesis import TOKEN

POOR, RICH = dev_keypair("scenario/poor"), dev_keypair("scenario/rich")


@pytest.fixture
def chain() -> SimChain:
    return SimChain(scenario_spec({POOR.account: 10**9, RICH.account: 10 * TOKEN}, genesis_ms=GENESIS_MS))


def test_submit_refuses_what_the_pool_refuses(chain: SimChain) -> None:
    data = bytearray(chain.sign(RICH, "Balances.transfer", dest=POOR.account, value=TOKEN))
    data[-1] ^= 1  # the last argument byte: the signature no longer covers it
    outcome = chain.submit_extrinsic(bytes(data))
    assert not outcome.accepted
    assert type(outcome.error).__name__ in ("BadSignature", "BadFormat", "BadArguments")
    assert chain.pending_count() == 0


def test_author_block_applies_pooled_extrinsics_at_the_given_time(chain: SimChain) -> None:
    seen: list[Any] = []
    first = chain.submit(RICH, "Balances.transfer", dest=POOR.account, value=TOKEN,
                         on_result=lambda result, events: seen.append((result.ok, events)))
    second = chain.submit(RICH, "Balances.transfer", dest=POOR.account, value=TOKEN)
    assert first.accepted and second.accepted and chain.pending_count() == 2
    report = chain.author_block(GENESIS_MS + 3_600_000)
    assert report.included == 2 and chain.pending_count() == 0
    assert chain.now_ms == GENESIS_MS + 3_600_000
    assert chain.runtime.system.timestamp.get() == GENESIS_MS + 3_600_000
    assert chain.free_balance(POOR.account) == 10**9 + 2 * TOKEN
    (ok, events), = seen
    assert ok and any(type(e).__name__ == "Transfer" for e in events)
    with pytest.raises(ValueError, match="not after the head"):
        chain.author_block(GENESIS_MS + 3_600_000)


def test_author_block_reports_a_dropped_extrinsic_to_its_sender(chain: SimChain) -> None:
    seen: list[Any] = []
    # leaves about 1.15 * 10**6: above the existential deposit (10**6), below the next fee (~1.29 * 10**6);
    # at the head both transactions could pay, so the pool takes both
    chain.submit(POOR, "Balances.transfer", dest=RICH.account, value=10**9 - 1_296_000 - 1_150_000)
    chain.submit(POOR, "Balances.transfer", dest=RICH.account, value=1,
                 on_result=lambda result, events: seen.append((result.error, events)))
    report = chain.author_block(GENESIS_MS + 1_000)
    assert report.included == 1
    assert seen == [("CannotPayFees", [])]
    assert chain.pending_count() == 0
