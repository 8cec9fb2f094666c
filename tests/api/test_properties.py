"""A stateful fuzzing pass (Hypothesis) over intake, admin and matching, against a model.

Strangers' cases, imports, withdrawals, disputes and restores, in any order, on a few
shared values; after every step:

* a value is blocked exactly when somebody still holds it and it is not disputed or
  erased: no case can remove what it did not add;
* a case shows only its own hashes, each held and matching as the model says, and
  never a count from before it was submitted (every match here comes after);
* thresholds above the cap and attestations that are not JSON booleans are refused,
  whatever else happened.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import ATTEST
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from veil.api import create_app
from veil.api.services import Services
from veil.config import load_settings

VALUES = [f"{i:02x}" * 32 for i in (0x11, 0x2d, 0x4b, 0x87, 0xc3)]
STEPS = int(os.environ.get("VEIL_STATEFUL_STEPS", "30"))
EXAMPLES = int(os.environ.get("VEIL_STATEFUL_EXAMPLES", "25"))


class Case:
    def __init__(self, token: str, values: list[str]) -> None:
        self.token = token
        self.values = values
        self.active = [True] * len(values)
        self.matched = [0] * len(values)


class Service(RuleBasedStateMachine):
    cases = Bundle("cases")

    def __init__(self, home: Path) -> None:
        super().__init__()
        self.home = home

    @initialize()
    def start(self) -> None:
        os.environ["VEIL_HOME"] = str(self.home / os.urandom(4).hex())
        os.environ.pop("VEIL_DATABASE_URL", None)
        settings = load_settings()
        self.services = Services(settings)
        self.services.start(background=False)
        store = self.services.store
        keys = {s: store.create_api_key([s], name=s, actor="t")[1]
                for s in ("platform", "admin", "review")}
        self.h = {s: {"Authorization": f"Bearer {k}"} for s, k in keys.items()}
        self.client = TestClient(create_app(settings, services=self.services))
        self.client.__enter__()
        store.create_bank("victims", "victim_submitted", actor="t")
        self.imported: set[str] = set()
        self.disputed: set[str] = set()
        self.erased: set[str] = set()
        self.all_cases: list[Case] = []

    def teardown(self) -> None:
        if hasattr(self, "client"):
            self.client.__exit__(None, None, None)
            self.services.stop()

    # -- the model ----------------------------------------------------------------------
    def held(self, v: str) -> bool:
        return v in self.imported or any(
            a and cv == v for c in self.all_cases for cv, a in zip(c.values, c.active,
                                                                  strict=True))

    def blocked(self, v: str) -> bool:
        return self.held(v) and v not in self.disputed and v not in self.erased

    def entry_id(self, v: str) -> int | None:
        for e in self.services.store.list_entries(bank="victims", limit=1000):
            if e.value == v:
                return e.id
        return None

    # -- rules --------------------------------------------------------------------------
    @rule(target=cases, picks=st.lists(st.sampled_from(VALUES), min_size=1, max_size=3))
    def submit(self, picks: list[str]) -> Case:
        r = self.client.post("/v1/cases", json={
            "signals": [{"signal": "pdq", "value": v, "quality": 90} for v in picks],
            "attestation": ATTEST})
        assert r.status_code == 201, r.text
        case = Case(r.json()["case_token"], picks)
        self.all_cases.append(case)
        for v in picks:
            self.erased.discard(v)
            if not self.held_elsewhere(v, case):
                self.disputed.discard(v)  # a new entry: nothing disputed about it yet
        return case

    def held_elsewhere(self, v: str, case: Case) -> bool:
        return v in self.imported or any(
            a and cv == v for c in self.all_cases if c is not case
            for cv, a in zip(c.values, c.active, strict=True))

    @rule(picks=st.lists(st.sampled_from(VALUES), min_size=1, max_size=2, unique=True))
    def import_list(self, picks: list[str]) -> None:
        body = "signal,value\n" + "".join(f"pdq,{v}\n" for v in picks)
        r = self.client.post("/v1/admin/banks/victims/entries", content=body,
                             headers={**self.h["admin"], "content-type": "text/csv"})
        assert r.status_code == 200 and r.json()["ok"], r.text
        for v in picks:
            if not self.held(v):
                self.disputed.discard(v)
            self.imported.add(v)
            self.erased.discard(v)

    @rule(case=consumes(cases))
    def withdraw_case(self, case: Case) -> None:
        r = self.client.delete("/v1/cases/me", headers={"X-Case-Token": case.token})
        assert r.status_code == 200, r.text
        case.active = [False] * len(case.values)
        for v in case.values:
            if not self.held(v):
                self.disputed.discard(v)

    @rule(case=cases, data=st.data())
    def withdraw_one(self, case: Case, data: st.DataObject) -> None:
        n = data.draw(st.integers(1, len(case.values)))
        r = self.client.delete(f"/v1/cases/me/signals/{n}",
                               headers={"X-Case-Token": case.token})
        assert r.status_code == 200, r.text
        case.active[n - 1] = False
        v = case.values[n - 1]
        if not self.held(v):
            self.disputed.discard(v)

    @rule(v=st.sampled_from(VALUES))
    def dispute(self, v: str) -> None:
        entry = self.entry_id(v)
        if entry is None or not self.blocked(v):
            return
        r = self.client.post(f"/v1/admin/entries/{entry}/dispute", headers=self.h["admin"],
                             json={"reason": "fuzz"})
        assert r.status_code == 200, r.text
        self.disputed.add(v)

    @rule(v=st.sampled_from(VALUES))
    def restore(self, v: str) -> None:
        entry = self.entry_id(v)
        if entry is None or v not in self.disputed or not self.held(v):
            return
        r = self.client.post(f"/v1/review/entries/{entry}/decision", headers=self.h["review"],
                             json={"decision": "restore"})
        assert r.status_code == 200, r.text
        self.disputed.discard(v)

    @rule(v=st.sampled_from(VALUES))
    def match(self, v: str) -> None:
        r = self.client.post("/v1/match", headers=self.h["platform"],
                             json={"signals": [{"signal": "pdq", "value": v}],
                                   "thresholds": {"pdq": 0}})
        assert r.status_code == 200
        decision = r.json()["results"][0]["decision"]
        assert decision == ("block" if self.blocked(v) else "allow"), (v, self.__dict__)
        if decision == "block":
            for c in self.all_cases:
                for i, cv in enumerate(c.values):
                    if cv == v and c.active[i]:
                        c.matched[i] += 1

    @rule(t=st.integers(32, 256), v=st.sampled_from(VALUES))
    def too_wide(self, t: int, v: str) -> None:
        r = self.client.post("/v1/match", headers=self.h["platform"],
                             json={"signals": [{"signal": "pdq", "value": v}],
                                   "thresholds": {"pdq": t}})
        assert r.status_code == 422 and r.json()["error"]["code"] == "input.bad_threshold"

    @rule(att=st.sampled_from(["yes", 1, "true", None, 0]))
    def bad_attestation(self, att: object) -> None:
        r = self.client.post("/v1/cases", json={
            "signals": [{"signal": "pdq", "value": VALUES[0], "quality": 90}],
            "attestation": {"self_or_guardian": att, "intimate": True}})
        assert r.status_code == 422

    # -- what must always hold ----------------------------------------------------------
    @invariant()
    def cases_show_their_own(self) -> None:
        if not hasattr(self, "client"):
            return
        for c in self.all_cases:
            view = self.client.get("/v1/cases/me", headers={"X-Case-Token": c.token}).json()
            got = [(s["status"] in ("active", "under_review"), s["matched"])
                   for s in view["signals"]]
            assert [g[0] for g in got] == c.active, (view, c.__dict__)
            assert [g[1] for g in got] == c.matched, (view, c.matched)


@pytest.fixture
def homes(tmp_path: Path, api_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.delenv("VEIL_TEST_DATABASE_URL", raising=False)
    yield tmp_path


def test_intake_admin_and_matching_hold_their_properties(homes: Path) -> None:
    run_state_machine_as_test(
        lambda: Service(homes),
        settings=settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
                          derandomize=True, database=None,
                          suppress_health_check=list(HealthCheck)))
