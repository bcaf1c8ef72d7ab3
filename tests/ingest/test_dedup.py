from __future__ import annotations

from ingest.dedup import SeqLedger


def test_ledger_remembers_time_per_device_and_seq() -> None:
    ledger = SeqLedger()
    ledger.record("a", 1, 100)
    ledger.record("b", 1, 200)
    assert (ledger.seen("a", 1), ledger.seen("b", 1), ledger.seen("a", 2)) == (100, 200, None)


def test_ledger_memory_is_bounded_and_keeps_the_newest() -> None:
    ledger = SeqLedger(size=10)
    for seq in range(1000):
        ledger.record("a", seq, seq * 10)
    assert len(ledger._devices["a"][1]) <= 20
    assert ledger.seen("a", 999) == 9990 and ledger.seen("a", 5) is None
