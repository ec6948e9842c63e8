"""The HTML audit report: self-contained, with the turnout curves and the timeline drawn."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from votewire.config import REPO_ROOT, Settings
from votewire.replay.audit_html import render_html
from votewire.replay.audit_render import render_audit
from votewire.replay.audit_run import AuditResult, run_audit
from votewire.replay.audit_sources import parse_source

from tests.support.night_log import kz_night, write_archive

REGIONS_CSV = REPO_ROOT / "services" / "core" / "scenario" / "data" / "regions.csv"


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    """archive (the faulty night) vs regions.csv, anomalies from the archive."""
    directory = tmp_path_factory.mktemp("html") / "archive"
    write_archive(directory, kz_night(0.05)[1])
    return asyncio.run(
        run_audit(
            Settings.from_env({}),
            parse_source(f"archive:{directory}"),
            parse_source(f"csv:{REGIONS_CSV}"),
        )
    )


def test_the_report_fetches_nothing(audit: AuditResult) -> None:
    """No script, no external URL, no link or image source: it opens offline."""
    page = render_html(audit, generated_at=datetime(2021, 7, 26, tzinfo=UTC))
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page
    assert not re.search(r"(src|href)\s*=", page)
    assert "http://" not in page and "https://" not in page


def test_the_report_draws_a_curve_per_region_and_the_timeline(audit: AuditResult) -> None:
    """One turnout chart per region plus the nation, and one mark per correction."""
    page = render_html(audit)
    assert page.count("<polyline") == 15
    assert "East Kazakhstan Region" in page
    anomalies = audit.anomalies
    assert anomalies is not None
    corrections = len(anomalies.corrections)
    assert corrections > 0
    assert page.count('fill-opacity=".7"') == corrections
    assert "90.89" in page and "90.88" in page


def test_data_is_escaped(audit: AuditResult) -> None:
    """Text from the log cannot inject markup."""
    anomalies = audit.anomalies
    assert anomalies is not None
    anomalies.rejected[0]["report_id"] = "<img src=x onerror=alert(1)>"
    page = render_html(audit)
    assert "<img" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_the_command_writes_the_file(tmp_path: Path, audit: AuditResult) -> None:
    """render_html output is a complete document (what --html FILE writes)."""
    target = tmp_path / "audit.html"
    target.write_text(render_html(audit), encoding="utf-8")
    assert target.read_text(encoding="utf-8").rstrip().endswith("</html>")


def test_corrections_name_their_credential_in_text_and_html(audit: AuditResult) -> None:
    """Each correction names the credential that sent it (from the report's record header)
    and the one behind the report it replaced, in the text, the HTML and the JSON."""
    doc = audit.to_dict()
    corrections = doc["anomalies"]["corrections"]
    assert corrections and {c["credential"] for c in corrections} == {"sim-commissions"}
    assert {c["old_credential"] for c in corrections} == {"sim-commissions"}
    text = render_audit(doc)
    assert "Sent by" in text and "sim-commissions" in text
    page = render_html(audit)
    assert "<th>Sent by</th>" in page and "by sim-commissions" in page


def test_a_rehearsal_is_marked_as_such(audit: AuditResult) -> None:
    """A test election's audit says it is a rehearsal, in the text, the HTML and the JSON;
    a real one's does not."""
    assert "REHEARSAL" not in render_audit(audit.to_dict())
    assert "data-rehearsal" not in render_html(audit)
    rehearsal = dataclasses.replace(
        audit, definition=dataclasses.replace(audit.definition, test=True)
    )
    doc = rehearsal.to_dict()
    assert doc["test"] is True
    assert "REHEARSAL: a test election" in render_audit(doc)
    page = render_html(rehearsal)
    assert "data-rehearsal" in page and "<title>votewire rehearsal audit" in page
