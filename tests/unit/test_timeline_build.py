"""The timeline's committed browser module is built from the sources in the repository."""

from __future__ import annotations

import re

from components import timeline


def test_the_built_module_is_stamped_with_the_hash_of_the_current_sources():
    for name in ("timeline.js", "timeline.css"):
        first = (timeline.DIST / name).read_text(encoding="utf-8").splitlines()[0]
        stamp = re.search(r"source-sha256: ([0-9a-f]{64})", first)
        assert stamp, f"dist/{name} has no source stamp: run scripts/build_timeline.sh"
        assert stamp.group(1) == timeline.source_hash(), f"dist/{name} is stale: run scripts/build_timeline.sh"


def test_the_page_head_carries_the_module_without_closing_its_script_early():
    head = timeline.head_html()
    assert head.count("<script>") == 1 and head.count("</script>") == 1 and head.endswith("</script>")
    assert "window.AudioLabTimeline" in head and ".altl-root" in head
