import pytest

from ops.model_promotions import RollbackError, gate, previous_champion


def test_a_candidate_must_match_the_champion_on_both_pr_auc_and_profit():
    assert gate(0.62, 900.0, None, None).promote
    assert gate(0.62, 900.0, 0.60, 850.0).promote
    worse_ranking = gate(0.58, 900.0, 0.60, 850.0)
    assert not worse_ranking.promote and "PR AUC 0.580 < 0.600" in worse_ranking.reason
    worse_profit = gate(0.62, 800.0, 0.60, 850.0)
    assert not worse_profit.promote and "profit 800 < 850" in worse_profit.reason


def test_rollback_restores_the_champion_promoted_before_the_current_one():
    history = ["1", "3", "3", "4"]
    assert previous_champion(history, "4") == "3"
    assert previous_champion(history, "3") == "1"
    with pytest.raises(RollbackError, match="no earlier promoted champion"):
        previous_champion(history, "1")
    with pytest.raises(RollbackError):
        previous_champion(history, "2")  # a challenger was never champion
