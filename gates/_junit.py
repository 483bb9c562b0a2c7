"""JUnit XML for CI systems that read test reports: one test case per gate."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

from finegate.gates._verdict import PolicyVerdict
from finegate.harness.core import atomic_write_bytes


def junit_xml(verdict: PolicyVerdict) -> bytes:
    failures = sum(g.status == "fail" for g in verdict.gates)
    errors = sum(g.status == "error" for g in verdict.gates)
    skipped = sum(g.status in ("waived", "warn") for g in verdict.gates)
    suites = ET.Element("testsuites")
    suite = ET.SubElement(
        suites,
        "testsuite",
        {
            "name": f"finegate policy {verdict.policy_id} v{verdict.policy_version}",
            "tests": str(len(verdict.gates)),
            "failures": str(failures),
            "errors": str(errors),
            "skipped": str(skipped),
            "timestamp": verdict.created_at,
        },
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("policy_hash", verdict.policy_hash),
        ("run_id", verdict.run_id),
        ("baseline_run_id", verdict.baseline_run_id or ""),
        ("fingerprint", verdict.fingerprint),
        ("overall", verdict.status),
    ):
        ET.SubElement(props, "property", {"name": name, "value": value})
    for gate in verdict.gates:
        case = ET.SubElement(
            suite, "testcase", {"classname": f"finegate.{verdict.policy_id}", "name": gate.gate_id}
        )
        if gate.status == "fail":
            ET.SubElement(case, "failure", {"message": gate.message}).text = gate.explain()
        elif gate.status == "error":
            ET.SubElement(case, "error", {"message": gate.message}).text = gate.explain()
        elif gate.status in ("warn", "waived"):
            ET.SubElement(case, "skipped", {"message": f"{gate.status}: {gate.message}"})
        ET.SubElement(case, "system-out").text = gate.explain()
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True)


def write_junit(verdict: PolicyVerdict, path: str | Path) -> None:
    atomic_write_bytes(path, junit_xml(verdict))
