import math

import pytest

from gold.objectives import Economics, choose, profit_curve

ECONOMICS = Economics(contact_cost=3.0, revenue=11.0)


def test_profit_curve_keeps_tied_probabilities_together():
    thresholds, contacts, acceptances, profit = profit_curve([0.9, 0.5, 0.5, 0.1], [1, 1, 0, 0], ECONOMICS)
    assert list(thresholds) == [0.9, 0.5, 0.1]
    assert list(contacts) == [1, 3, 4] and list(acceptances) == [1, 2, 2]
    assert list(profit) == [8.0, 13.0, 10.0]


def test_objectives_are_points_on_the_profit_curve():
    # ranked: 4 acceptors, then 2 refusers, 1 acceptor, then refusers; profit per prefix:
    # 8 16 24 32 29 26 34 31 28 25 22 19 16 13 10 7 4 1 -2
    probabilities = [1 - i / 20 for i in range(19)]
    labels = [1, 1, 1, 1, 0, 0, 1] + [0] * 12
    decisions = choose(probabilities, labels, ECONOMICS)
    balanced, moderate = decisions["balanced"], decisions["moderate"]
    assert (balanced.contacts, balanced.acceptances, balanced.profit) == (7, 5, 34.0)
    assert balanced.threshold == probabilities[6]
    assert moderate.contacts == 8 and moderate.profit >= 0.9 * 34  # 31 >= 30.6; 9 contacts earn 28
    assert decisions["cost_saving"].contacts == 4  # first prefix earning >= 80% of 34 (27.2)
    assert decisions["aggressive_acquisition"].contacts == 18  # last prefix not losing money
    ordered = [
        decisions[o].contacts for o in ("cost_saving", "balanced", "moderate", "aggressive_acquisition")
    ]
    assert ordered == sorted(ordered)


def test_when_every_contact_loses_money_nobody_is_contacted():
    decisions = choose([0.9, 0.8, 0.7], [0, 0, 0], ECONOMICS)
    for decision in decisions.values():
        assert decision.contacts == 0 and decision.profit == 0.0 and math.isinf(decision.threshold)


def test_break_even_probability_and_empty_scores():
    assert ECONOMICS.break_even == pytest.approx(3 / 11)
    with pytest.raises(ValueError, match="no labelled scores"):
        choose([], [], ECONOMICS)
