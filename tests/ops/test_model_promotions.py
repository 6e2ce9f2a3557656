from datetime import date, datetime

import pytest

from ops.model_promotions import (
    RollbackError,
    backfill,
    champions,
    decide,
    decide_segments,
    gate,
    history,
    previous_champion,
)

METRICS = {"pr_auc": 0.62, "profit": 900.0, "holdout_rows": 120.0}


def test_a_candidate_must_match_the_champion_on_both_pr_auc_and_profit():
    assert gate(0.62, 900.0, None, None).promote
    assert gate(0.62, 900.0, 0.60, 850.0).promote
    worse_ranking = gate(0.58, 900.0, 0.60, 850.0)
    assert not worse_ranking.promote and "PR AUC 0.580 < 0.600" in worse_ranking.reason
    worse_profit = gate(0.62, 800.0, 0.60, 850.0)
    assert not worse_profit.promote and "profit 800 < 850" in worse_profit.reason


def decision(kind, version):
    return {"decision": kind, "candidate_version": version}


def test_rollback_restores_the_champion_promoted_before_the_current_one():
    history = [decision("promoted", "1"), decision("challenger", "2"), decision("promoted", "3")]
    history += [decision("promoted", "3"), decision("promoted", "4")]
    assert champions(history) == ["1", "3", "4"]
    assert previous_champion(champions(history), "4") == "3"
    with pytest.raises(RollbackError, match="no earlier champion"):
        previous_champion(["1"], "1")
    with pytest.raises(RollbackError, match="version 2 is not the champion"):
        previous_champion(champions(history), "2")  # a challenger was never champion


def test_the_history_is_one_models_decisions_oldest_first_whatever_order_they_are_read_in():
    def row(model, minute, kind, version):
        at = datetime(2026, 6, 30, 8, minute)
        return {"model_name": model, "decided_at": at, "decision": kind, "candidate_version": version}

    read = [row("a", 30, "rollback", "1"), row("b", 5, "promoted", "7"), row("a", 10, "promoted", "1")]
    read += [row("a", 20, "promoted", "2"), row("b", 25, "promoted", "8")]
    replayed = history(read, "a")
    assert [(d["decided_at"].minute, d["decision"], d["candidate_version"]) for d in replayed] == [
        (10, "promoted", "1"), (20, "promoted", "2"), (30, "rollback", "1"),
    ]  # fmt: skip
    assert champions(replayed) == ["1"]
    assert champions(history(read, "b")) == ["7", "8"]


def test_a_second_rollback_walks_past_the_version_rolled_back():
    # promote 1 and 2, roll back (to 1), promote 3, roll back: 1 again, never 2
    history = [decision("promoted", "1"), decision("promoted", "2"), decision("rollback", "1")]
    history.append(decision("promoted", "3"))
    assert champions(history) == ["1", "3"]
    assert previous_champion(champions(history), "3") == "1"
    history.append(decision("rollback", "1"))
    with pytest.raises(RollbackError, match="version 1 has no earlier champion"):
        previous_champion(champions(history), "1")


def test_a_backfill_never_replaces_a_champion_trained_on_a_later_day():
    assert backfill(date(2026, 5, 1), "2026-06-01").reason.endswith("a backfill")
    assert backfill(date(2026, 6, 1), "2026-06-01") is None and backfill(date(2026, 5, 1), None) is None
    row = decide("m", "5", METRICS, "4", {"pr_auc": 0.1, "profit": 0.0}, as_of=date(2026, 5, 1),
                 champion_as_of="2026-06-01")  # fmt: skip
    assert (row["decision"], row["champion_pr_auc"]) == ("challenger", 0.1)
    assert decide("m", "5", METRICS, "4", {"pr_auc": 0.1, "profit": 0.0}, as_of=date(2026, 6, 2),
                  champion_as_of="2026-06-01")["decision"] == "promoted"  # fmt: skip


def test_segmentation_is_promoted_only_when_its_silhouette_is_not_worse_on_the_same_customers():
    first = decide_segments("s", "1", 0.41, None, None, as_of=date(2026, 6, 1))
    assert (first["decision"], first["reason"]) == ("promoted", "no champion to compare with")
    comparison = {"champion_silhouette": 0.45, "kept_share": 0.92, "customers": 400.0}
    worse = decide_segments(
        "s", "2", 0.41, "1", comparison, as_of=date(2026, 6, 2), champion_as_of="2026-06-01"
    )
    assert worse["decision"] == "challenger" and worse["holdout_rows"] == 400
    assert worse["reason"] == "silhouette 0.410 < 0.450 on the same customers; 92.0% keep their value segment"
    better = decide_segments(
        "s", "2", 0.47, "1", comparison, as_of=date(2026, 6, 2), champion_as_of="2026-06-01"
    )
    assert better["decision"] == "promoted" and better["reason"].startswith("silhouette 0.470 >= 0.450")


def test_a_champion_that_loses_to_a_baseline_or_loses_money_is_flagged_but_a_first_version_still_serves():
    from ops.model_promotions import champion_flags

    baselines = {"rule: accepted a past campaign": {"roc_auc": 0.70, "profit": -10.0}}
    baselines |= {"gradient-boosted trees": {"roc_auc": 0.81, "profit": 40.0}}
    first = decide(
        "m", "1", {"roc_auc": 0.816, "pr_auc": 0.6, "profit": -142.0, "holdout_rows": 80.0}, None, None,
        as_of=date(2026, 6, 30), baselines=baselines,
    )  # fmt: skip
    assert first["decision"] == "promoted"
    assert first["champion_flags"] == (
        "holdout profit -142 is negative; profit -142 < -10 of rule: accepted a past campaign; "
        "profit -142 < 40 of gradient-boosted trees"
    )
    # a challenger that loses leaves the champion, judged on the same holdout, flagged for its own figures
    champion = {"roc_auc": 0.80, "pr_auc": 0.62, "profit": 900.0, "holdout_rows": 120.0}
    kept = decide(
        "m", "2", {"roc_auc": 0.9, **METRICS, "pr_auc": 0.5}, "1", champion,
        as_of=date(2026, 7, 30), baselines=baselines,
    )  # fmt: skip
    assert (
        kept["decision"] == "challenger"
        and kept["champion_flags"] == "ROC AUC 0.800 < 0.810 of gradient-boosted trees"
    )
    honest = decide(
        "m", "3", {"roc_auc": 0.9, **METRICS}, None, None, as_of=date(2026, 6, 30), baselines=baselines
    )
    assert honest["champion_flags"] is None
    rows = [
        {"decided_at": datetime(2026, 6, 30), "candidate_version": "1", **first},
        {"decided_at": datetime(2026, 7, 30), "candidate_version": "2", **kept},
    ]
    assert champion_flags(rows, "1") == ["ROC AUC 0.800 < 0.810 of gradient-boosted trees"]
    assert champion_flags(rows, "2") == []
