"""The notebooks' narrative stays current: no markdown names a protocol version or an issue
(both go stale: the protocol is params/<profile>/protocol.yaml, the history is CHANGELOG.md)."""
import json
import re

import pytest

from vae_utils.config.paths import PROJECT_ROOT

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
STALE = re.compile(r"\bprotocol \(?v\d\b|\(v\d\)|\bv\d \(|\bissues? #?\d+|#\d{2,}\b", re.IGNORECASE)


def stale_phrases(cells):
    """(cell index, phrase) for every markdown phrase that names a protocol version or an issue."""
    return [(i, m.group(0)) for i, cell in enumerate(cells) if cell["cell_type"] == "markdown"
            for m in STALE.finditer("".join(cell["source"]))]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_notebook_markdown_names_a_protocol_version_or_an_issue(path):
    assert stale_phrases(json.loads(path.read_text())["cells"]) == []


def test_the_check_catches_a_version_and_an_issue():
    cells = [{"cell_type": "markdown", "source": ["As in notebook 2 (protocol v2), see issue 21."]},
             {"cell_type": "code", "source": ["issue 21"]}]
    assert [phrase for _, phrase in stale_phrases(cells)] == ["protocol v2", "issue 21"]
