"""The public TM Forum conformance kit for TMF669 (issue 3 item 14), run with newman
against a live server: it must pass with 0 failed assertions.

The kit (``shared/ctk/tmf669``) stays unmodified on disk. It sends no credentials, so
the test runs a copy written to a temporary folder with a collection-level bearer auth
(a Postman feature newman honours) holding a fresh API token.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from prm.accounts.services import api_token_create
from prm.partners.tests import factories

ROOT = Path(__file__).resolve().parents[3]
NEWMAN_DIR = ROOT / "tools" / "newman"
NEWMAN = NEWMAN_DIR / "node_modules" / "newman" / "bin" / "newman.js"
KIT_NAME = "TMF669-PartyRole-v4.0.0.testkit.json"


def _kit_path() -> Path:
    configured = os.environ.get("PRM_TMF669_CTK")
    candidates = [Path(configured)] if configured else []
    # A verbatim copy with its licence notice ships in the repository (the licence allows
    # unmodified copies); the workspace's shared copy is the fallback.
    candidates.append(ROOT / "tests" / "ctk" / "tmf669" / KIT_NAME)
    candidates.append(ROOT.parent / "shared" / "ctk" / "tmf669" / KIT_NAME)
    for candidate in candidates:
        if candidate.exists():
            return candidate
    pytest.fail(f"The TMF669 kit is missing (looked at {', '.join(map(str, candidates))}).")


def _newman() -> list[str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run newman (apt-get install nodejs npm)")
    if not NEWMAN.exists():
        subprocess.run(
            [npm, "ci", "--prefix", str(NEWMAN_DIR), "--no-audit", "--no-fund"],
            check=True,
            timeout=600,
        )
    return [node, str(NEWMAN)]


@pytest.mark.django_db(transaction=True)
def test_tmf669_conformance_kit_passes(live_server, orgs, make_user, tmp_path):
    newman = _newman()
    manager = make_user(org=orgs.province, roles=("partner_manager",), username="ctk")
    # A partner's own role is listed next to the kit's: it must satisfy the kit too.
    factories.partner(managing_org=orgs.city_a)
    _token, raw = api_token_create(actor=None, user=manager, label="TMF669 CTK")
    collection = json.loads(_kit_path().read_text(encoding="utf-8"))
    collection["auth"] = {
        "type": "bearer",
        "bearer": [{"key": "token", "value": raw, "type": "string"}],
    }
    kit = tmp_path / KIT_NAME
    kit.write_text(json.dumps(collection), encoding="utf-8")
    report = tmp_path / "report.json"

    result = subprocess.run(
        [
            *newman,
            "run",
            str(kit),
            "--env-var",
            f"Party_Role={live_server.url}/tmf-api/partyRoleManagement/v4/",
            "--reporters",
            "cli,json",
            "--reporter-json-export",
            str(report),
            "--timeout-request",
            "30000",
            "--color",
            "off",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert report.exists(), result.stdout + result.stderr
    run = json.loads(report.read_text(encoding="utf-8"))["run"]
    stats = run["stats"]
    failures = [
        f"{failure['source'].get('name')}: {failure['error'].get('message')}"
        for failure in run["failures"]
    ]
    assert failures == [], result.stdout
    assert stats["assertions"]["failed"] == 0
    assert stats["requests"]["failed"] == 0
    assert stats["requests"]["total"] == 15
    assert stats["assertions"]["total"] >= 90
    assert result.returncode == 0
