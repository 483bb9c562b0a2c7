"""Reports: every section, nothing raw, nothing from the network, readable in Chromium."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from finegate.gates import check_policy, load_policy
from finegate.harness import CallableSystem, RunOptions, Store, run_suites
from finegate.harness.cli import cli

from ..gates.conftest import make_suite, rules, write_policy

PII = ("Maria Lopez", "maria.lopez@example.com", "415 555 0134")
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
SECTIONS = ["verdict", "gates", "comparison", "safety", "privacy", "lineage", "audit", "card"]


def leaky(prompt):
    """Wrong on every fifth request, with planted personal data and markup."""
    i = int(prompt[-1].content.split()[-1])
    if i % 5 == 0:
        return (
            "Please call Maria Lopez at +1 415 555 0134 or write to maria.lopez@example.com "
            "<script>alert(1)</script>"
        )
    return ["billing", "shipping", "account_access"][i % 3]


@pytest.fixture
def stored(tmp_path):
    suite = make_suite(tmp_path / "suite")
    store = Store(tmp_path / "fg.db")
    baseline = run_suites(rules(2), [suite], store, RunOptions(progress=False)).run_id
    candidate = run_suites(
        CallableSystem(leaky, name="leaky"), [suite], store, RunOptions(progress=False)
    ).run_id
    policy_path = write_policy(
        tmp_path / "policy.yaml",
        "  - {id: accuracy, suite: test/triage, metric: category.accuracy, "
        "min: 0.5}\n"
        "  - {id: no-worse, suite: test/triage, metric: category.accuracy, "
        "margin: 0.0}\n",
    )
    check_policy(load_policy(policy_path), store, candidate, baseline)
    return tmp_path, candidate, baseline, policy_path


def report(tmp_path, candidate, baseline, policy, fmt="html", name="report.html"):
    out = tmp_path / name
    result = CliRunner().invoke(
        cli,
        [
            "report",
            "--run",
            candidate,
            "--baseline",
            baseline,
            "--policy",
            str(policy),
            "--store",
            str(tmp_path / "fg.db"),
            "--format",
            fmt,
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    return out.read_text()


def test_the_html_report_has_every_section_and_no_raw_pii(stored):
    tmp_path, candidate, baseline, policy = stored
    html = report(tmp_path, candidate, baseline, policy)
    for section in SECTIONS:
        assert f'<section id="{section}"' in html
    assert "APPROVED by policy test-policy" in html and "NOT APPROVED" not in html
    assert "✓ PASS" in html and '<th scope="row">accuracy</th>' in html
    for value in PII:
        assert value not in html
    assert "&lt;PERSON&gt;" in html and "&lt;EMAIL_ADDRESS&gt;" in html
    assert "<script" not in html and "&lt;script&gt;" in html  # answers are text, never markup
    assert "The audit chain verifies" in html
    for external in ('src="http', 'href="http', "@import", "url(http", "<link"):
        assert external not in html


def test_markdown_and_json_are_redacted_too(stored):
    tmp_path, candidate, baseline, policy = stored
    md = report(tmp_path, candidate, baseline, policy, "md", "report.md")
    assert md.startswith("## finegate: APPROVED by policy test-policy")
    assert "| accuracy | ✓ pass |" in md and "| category.accuracy |" in md
    data = json.loads(report(tmp_path, candidate, baseline, policy, "json", "report.json"))
    assert data["verdict"]["status"] == "pass" and data["redactions"]["PERSON"] >= 1
    for value in PII:
        assert value not in md and value not in json.dumps(data)


def test_the_report_renders_in_chromium_to_pdf_and_png(stored):
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is needed for this test (the Makefile installs it)"
    tmp_path, candidate, baseline, policy = stored
    report(tmp_path, candidate, baseline, policy)
    page = (tmp_path / "report.html").as_uri()
    flags = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--host-resolver-rules=MAP * ~NOTFOUND",
    ]  # any request leaving the page would fail
    dom = subprocess.run(
        [*flags, "--dump-dom", page], capture_output=True, text=True, timeout=120
    ).stdout
    assert "1. Verdict" in dom and "2. Gates" in dom and "APPROVED by policy" in dom
    pdf, png = tmp_path / "report.pdf", ARTIFACTS / "report.png"
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(
        [*flags, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page],
        capture_output=True,
        timeout=120,
        check=True,
    )
    subprocess.run(
        [*flags, "--window-size=1200,2000", f"--screenshot={png}", page],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 20_000
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 20_000
    pages = pdf.read_bytes().count(b"/Type /Page") - pdf.read_bytes().count(b"/Type /Pages")
    assert pages >= len(SECTIONS) - 1  # a page per section when printed
