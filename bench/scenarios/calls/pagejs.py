"""The scripts the pages run (``*.js`` beside this module), without their leading
comment lines: they are sent as expressions to Playwright."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def _script(name: str) -> str:
    lines = (HERE / name).read_text(encoding="utf-8").splitlines()
    while lines and lines[0].startswith("//"):
        lines.pop(0)
    return "\n" + "\n".join(lines) + "\n"


# Installed in every page: window.__bench, stamps and what each RTCPeerConnection did.
INIT_JS = _script("init.js")
# Once the room's socket exists: the call's state and signaling stamped as they arrive.
SOCKET_HOOK_JS = _script("socket_hook.js")
# The baseline: two connections negotiating in one page, no server.
BASELINE_JS = _script("baseline.js")
READ_JS = "() => ({marks: window.__bench.marks, pcs: window.__bench.pcs, " \
          "gum: window.__bench.gum, off: window.__bench.off})"
FRAME_DONE_JS = "() => window.__bench.pcs.length > 0 && window.__bench.pcs.every(" \
                "(r) => r.frame !== undefined || r.failed !== undefined)"
PRESENTED_JS = "() => window.__bench.pcs.every((r) => r.presented !== undefined)"
IDLE_JS = "() => window.pdCall.pc === null && !window.pdCall.inCall"
