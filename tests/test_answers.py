"""The generated answers: verdict words, headline rows, word limits and figure captions."""
import pandas as pd
import pytest

from vae_utils.config.paths import PROJECT_ROOT
from vae_utils.report import answers, findings


def rows(*outcomes, dataset="mnist"):
    """A claim-1 verdict table with one row per outcome (value 2 for yes, −2 for no, else 0.5)."""
    value = {"yes": 2.0, "no": -2.0}
    return pd.DataFrame([{"notebook": "03_ae_vs_vae_latent_dim", "dataset": dataset, "family": f"claim 1 on {dataset}",
                          "claim": "AE reconstructs better than VAE", "condition": f"d_z={i}", "metric": "test_recon",
                          "value": value.get(o, 0.5), "ci_low": value.get(o, 0.5) - 0.5,
                          "ci_high": value.get(o, 0.5) + 0.5 + i / 10, "min_effect": 1.0, "holds": o,
                          "alternative": "greater", "counted": True} for i, o in enumerate(outcomes)])


@pytest.mark.parametrize("outcomes, word", [
    (["yes", "yes"], "Yes"), (["yes", "inconclusive"], "In part"), (["yes", "no"], "Mixed"),
    (["no", "inconclusive"], "No"), (["inconclusive", "saturated"], "Not shown"), (["saturated"], "Not shown")])
def test_the_verdict_word_follows_the_counted_outcomes(outcomes, word):
    assert answers.verdict_word(rows(*outcomes)) == word


def test_the_headline_is_the_strongest_row_of_the_more_frequent_decided_outcome():
    table = rows("no", "no", "yes", "inconclusive")
    top = answers.headline(table)
    assert top["holds"] == "no" and top["condition"] == "d_z=0"      # the narrower of the two "no" rows
    assert answers.headline(rows("saturated")) is None


def test_rows_not_counted_or_shared_are_left_out_of_the_tally():
    table = rows("yes", "optimisation-limited", "yes")
    table.loc[2, "counted"] = False
    assert answers.short_answer(table).startswith("Yes: yes in 1 of 1 counted comparisons")
    assert "1 optimisation-limited" in answers.sentences(table)


def test_every_committed_claim_answer_fits_the_readme_table():
    verdicts = pd.read_csv(PROJECT_ROOT / "results" / "verdicts.csv")
    for n, part in answers.by_claim(verdicts).items():
        assert len(answers.short_answer(part).split()) <= 25, n
        assert answers.sentences(part).count(". ") + 1 <= 5


def test_a_notebook_answer_says_so_when_the_run_judges_nothing():
    assert answers.markdown(rows("yes").iloc[:0], none="No labels: no verdict.") == "No labels: no verdict."
    assert answers.markdown(rows("yes")).startswith("**Claim 1: AEs reconstruct better than VAEs")


def test_every_committed_key_figure_has_a_caption_not_a_file_name():
    names = [n for path in (PROJECT_ROOT / "results" / "verdicts").glob("*.figures")
             for n in path.read_text().split()]
    assert len(names) > 30
    assert [n for n in names if findings.caption(n).startswith("Figure ")] == []
    assert findings.caption("beta-mnist-something_new") == "Figure beta-mnist-something_new."


def test_numbers_are_printed_to_three_significant_digits_with_a_true_minus():
    assert [answers.number(v) for v in (9.72847, -204.291, 0.0104123, -0.000145)] == ["9.73", "−204", "0.0104",
                                                                                       "−0.000145"]


def test_the_markers_must_be_there_once():
    with pytest.raises(ValueError, match="exactly once"):
        findings.replace_between("no markers", "<a>", "<b>", "x")
    assert findings.replace_between("1<a>old<b>2", "<a>", "<b>", "new") == "1<a>\nnew\n<b>2"
