"""The README's answer table and results/FINDINGS.md are generated: what is committed must equal
what the report step writes now from results/verdicts.csv (outcomes and conditions included)."""
import pytest

from vae_utils.config.paths import PROJECT_ROOT, output_dir
from vae_utils.inference.verdicts import read
from vae_utils.report import findings


@pytest.fixture(scope="module")
def verdicts():
    return read(PROJECT_ROOT / "results" / "verdicts.csv")      # as the report reads them: levels stay text


@pytest.fixture
def report(load_script):
    return load_script("report")


def test_the_readme_answer_table_is_what_the_report_writes_from_the_verdicts(report, verdicts):
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert report.front_page(verdicts) == readme
    assert readme.count("| ") > 5 * 4                # the table is there, one row per claim


def test_an_edited_number_in_the_answer_table_fails_the_check(report, verdicts, tmp_path):
    readme = (PROJECT_ROOT / "README.md").read_text()
    top = findings.answers.headline(verdicts[findings.answers.claim_number(verdicts) == 1])
    printed = findings.answers.interval(top)
    assert printed in readme
    edited = tmp_path / "README.md"
    edited.write_text(readme.replace(printed, printed.replace("[", "[0", 1), 1))
    assert report.front_page(verdicts, edited) != edited.read_text()


def test_the_findings_are_what_the_report_writes_from_the_verdicts(verdicts):
    written = (PROJECT_ROOT / "results" / "FINDINGS.md").read_text()
    now = findings.findings(verdicts, "default", output_dir("default", "figures", create=False), findings.HERO)
    assert written == now + "\n"
    for n in range(1, 6):
        assert f"## Claim {n}:" in written


def test_the_readme_stays_a_front_door():
    text = (PROJECT_ROOT / "README.md").read_text()
    assert len(text.split()) <= 1800
    assert "![" in text and "results/figures/" in text
