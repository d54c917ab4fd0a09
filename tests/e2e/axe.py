"""axe-core in the browser tests: inject the npm package's script into a page and
assert that it finds no violation of the WCAG 2.2 A and AA rules.

axe-core is test-only: it comes from node_modules (``npm ci`` in scripts/setup.sh) and
is never copied into static/ nor served to users. Pages send a strict CSP, so the
contexts that run it are made with ``bypass_csp=True``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags},
                                          resultTypes: ["violations"]});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({target: n.target.map(String).join(" "),
                                summary: n.failureSummary || ""})),
  }));
}"""


def violations(page: Any) -> list[dict[str, Any]]:
    """What axe reports on ``page`` as it is now (the script is injected once per
    document)."""
    if not AXE_JS.exists():
        raise FileNotFoundError(f"{AXE_JS} is missing: run scripts/setup.sh (npm ci)")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    return list(page.evaluate(RUN, TAGS))


def describe(found: list[dict[str, Any]], label: str) -> str:
    """A readable list: one block per rule (id, impact, help), one line per element."""
    lines = [f"{label}: {len(found)} axe violation(s)"]
    for v in found:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"]:
            summary = " ".join(node["summary"].split())
            lines.append(f"      {node['target']} — {summary[:300]}")
    return "\n".join(lines)


def assert_no_violations(page: Any, label: str) -> None:
    """Fail, listing every violation by rule id, impact, selector and help, if axe
    finds any WCAG 2.2 A/AA violation on ``page``."""
    found = violations(page)
    assert not found, describe(found, label)
