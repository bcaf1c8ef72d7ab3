from __future__ import annotations

from typing import Any

from monitor.detectors.tamper import TamperDetector
from monitor.model import Finding
from tests.monitor.factories import MIN, T0, Event, make_pledge, make_reading, run_detector

PLEDGE = make_pledge()


def findings(*flags: dict[str, Any], clear_after: int = 3) -> list[Finding]:
    """One reading per minute carrying ``flags[i]``."""
    events = [Event(T0 + i * MIN, make_reading(T0 + i * MIN, **f)) for i, f in enumerate(flags)]
    return run_detector(TamperDetector(clear_after_readings=clear_after), events, PLEDGE)[1]


NORMAL = {"tamper": False, "ext_power": True}


def test_case_opened_raises_at_once() -> None:
    found = findings(NORMAL, {"tamper": True, "ext_power": True})
    assert [(f.active, f.at_ms) for f in found] == [(True, T0 + MIN)]
    assert found[0].details == {"cause": "case_opened"}
    assert found[0].reason == "tracker case opened"


def test_external_power_cut_is_not_tamper() -> None:
    assert findings(NORMAL, NORMAL, {"ext_power": False, "tamper": False}) == []


def test_a_lasting_cause_is_not_retold() -> None:
    assert len(findings(NORMAL, *[{"tamper": True}] * 20)) == 1


def test_clears_after_three_consecutive_normal_readings() -> None:
    found = findings(NORMAL, {"tamper": True}, NORMAL, NORMAL, NORMAL, NORMAL)
    assert [(f.active, f.at_ms) for f in found] == [(True, T0 + MIN), (False, T0 + 4 * MIN)]


def test_a_relapse_restarts_the_count() -> None:
    found = findings(NORMAL, {"tamper": True}, NORMAL, NORMAL, {"tamper": True}, NORMAL, NORMAL)
    assert [f.active for f in found] == [True]


def test_readings_without_the_tamper_flag_do_not_count_as_normal() -> None:
    found = findings(NORMAL, {"tamper": True}, *[{"ext_power": True}] * 10)
    assert [f.active for f in found] == [True]
    found = findings(NORMAL, {"tamper": True}, *[{"tamper": False}] * 3)
    assert [f.active for f in found] == [True, False]


def test_clear_count_is_configurable() -> None:
    found = findings(NORMAL, {"tamper": True}, NORMAL, clear_after=1)
    assert [f.active for f in found] == [True, False]


def test_new_incident_after_clearing_raises_again() -> None:
    found = findings(NORMAL, {"tamper": True}, NORMAL, NORMAL, NORMAL, {"tamper": True})
    assert [f.active for f in found] == [True, False, True]
