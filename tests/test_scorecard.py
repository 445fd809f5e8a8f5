"""The scorecard is computed from results records, follows its stated rules, and says when a
claim cannot be tested."""

import pandas as pd
import pytest

from wormlib import scorecard
from wormlib.results import FIELDS, Results, load_results


def _unseen_accuracy(gains: dict[str, float]) -> pd.DataFrame:
    """Records of table1-forward-reverse on unseen worms: per test worm, 0.8 + the model's gain
    (+ a small worm-specific wobble, so that paired differences have a spread)."""
    r = Results("classification", "test")
    for i, worm in enumerate("12345"):
        for model, gain in gains.items():
            r.add("table1-forward-reverse", "accuracy", 0.8 + gain + 0.001 * i * (model == "svm"),
                  task="2-state", model=model, protocol="leave-worms-out", population="unseen",
                  n_train_worms=4, train="-", test=worm)
    return r.frame()


@pytest.mark.parametrize("gains, verdict", [
    ({"gnn-inferred-static": 0.10, "mlp-concat": 0.0, "svm": 0.0}, "holds"),
    ({"gnn-inferred-static": 0.10, "mlp-concat": 0.10, "svm": 0.0}, "partly"),
    ({"gnn-inferred-static": 0.0, "mlp-concat": 0.10, "svm": 0.10}, "does not hold"),
])
def test_gnn_generalisation_verdict_follows_its_rule(gains, verdict):
    records = {"classification": _unseen_accuracy(gains)}
    assert scorecard.claim_gnn_generalises_better(records)[1] == verdict


def test_missing_results_make_a_claim_not_testable():
    card = scorecard.build({"classification": pd.DataFrame(columns=list(FIELDS))})
    assert len(card) == len(scorecard.CLAIMS)
    assert (card.verdict == "not testable here").all()
    assert card.evidence.str.startswith("no results for").all()


def test_scorecard_from_the_committed_results():
    records = {name: load_results(name) for name in ("classification", "trajectories", "discussion")}
    card = scorecard.build(records)
    assert len(card) == 8 and card.verdict.isin(scorecard.VERDICTS).all()
    assert (card.verdict != "not testable here").all()  # every claim is backed by a number
    assert card.evidence.str.contains(r"\d\.\d{3}").all()
    markdown = scorecard.to_markdown(card)
    assert markdown.count("\n") == len(card) + 1 and "](03_classification.ipynb#" in markdown


def test_findings_headlines_agree_with_their_numbers():
    """The closing section's bold headlines are typed; its numbers are computed. Guard the
    headlines against the committed results."""
    records = {name: load_results(name) for name in ("classification", "trajectories", "discussion")}
    d = records["discussion"]
    sim = d[d.experiment == "graph-similarity-pooled"].set_index("metric").value
    conn = d[(d.experiment == "graph-vs-connectome-pooled") & (d.metric == "p-roc-auc")].value
    assert sim["within"] > sim["across"] and sim["p-value"] < 0.05      # "individual"
    assert (conn > 0.05).all()                                           # "not anatomical"
    acc = records["classification"]
    unseen = acc[(acc.experiment == "table1-forward-reverse") & (acc.population == "unseen")
                 & (acc.metric == "accuracy")].groupby("model").value.mean()
    assert unseen["mlp-concat"] > unseen["logistic-regression"] < unseen["gnn-inferred-static"]
    dag = d[(d.experiment == "kato-to-dag-lag-0s") & (d.metric == "p-value")].value
    assert (dag < 0.05).mean() > 0.5                                     # "decoding survives"
    assert len(scorecard.findings(records)) == 5
