"""The dp_if_pii gate reads the training data's PII census, and only that data's."""

import json

from finegate.harness.data import scan_data
from finegate.harness.pii import PIIScanner
from finegate.harness.system import adapter_weights_sha256, training_evidence
from tests.pii_data import write_pii_training_data


def test_dp_if_pii_gate_reads_the_census(tmp_path):
    from finegate.gates._engine import Evidence, _governance
    from finegate.gates._policy import GovernanceGate

    data = write_pii_training_data(tmp_path / "data.jsonl")
    census, _ = scan_data(data, PIIScanner("pattern"))
    adapter = tmp_path / "adapter"
    adapter.mkdir()

    def verdict(pii, files, census_data):
        manifest = {"dataset": {"pii": pii, "files": files}, "dp": None}
        manifest["adapter_sha256"] = adapter_weights_sha256(adapter)
        (adapter / "training_manifest.json").write_text(json.dumps(manifest))
        system = {"adapter": str(adapter)}
        system["training"] = training_evidence(system, None)  # as the run records it
        run = {"id": "r", "system": system, "suites": []}
        ev = Evidence(store=None, run=run, data_census=census_data)
        return _governance(GovernanceGate(id="dp", check="dp_if_pii", max=8.0), ev)

    off = {"total": 0, "scrubbed": False, "scanner": None}
    same = [{"sha256": census["sha256"]}]
    assert verdict(off, same, None).status == "error"
    failed = verdict(off, same, census)
    assert failed.status == "fail" and "held 5 PII values" in failed.message
    other = verdict(off, [{"sha256": "0" * 64}], census)
    assert other.status == "error" and "not of the training data" in other.message
    scrubbed = verdict({"total": 5, "scrubbed": True, "scanner": {}}, same, census)
    assert scrubbed.status == "pass"
