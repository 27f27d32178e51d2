"""Nash averaging: invariant to copies of an agent, where Elo is not."""

import numpy as np
import pytest

from arena.diversity import nash_equilibrium
from arena.nash_averaging import nash_average
from arena.ratings import fit_ratings

NAMES = ["rock", "paper", "scissors", "weak"]
# Rock beats scissors by 0.6, paper beats rock by 0.4, scissors beats paper by 0.2, and all
# three beat "weak" by 0.5 (A[i, j] = expected score of i against j, antisymmetric).
A = np.array(
    [
        [0.0, -0.4, 0.6, 0.5],
        [0.4, 0.0, -0.2, 0.5],
        [-0.6, 0.2, 0.0, 0.5],
        [-0.5, -0.5, -0.5, 0.0],
    ]
)
GAMES_PER_PAIR = 200


def with_copies(a: np.ndarray, names: list[str], agent: int, copies: int):
    """The payoff matrix and names of the population with ``copies`` more of ``agent``."""
    index = list(range(len(a))) + [agent] * copies
    names = names + [f"{names[agent]}#{k + 2}" for k in range(copies)]
    return a[np.ix_(index, index)], names


def elo(a: np.ndarray, names: list[str]) -> dict[str, float]:
    """Bradley-Terry Elo fitted to a round robin whose results follow A exactly: every
    ordered pair plays GAMES_PER_PAIR games, the first wins a share (1 + A) / 2 of them."""
    pairs = {"first": [], "second": [], "first_wins": [], "draws": [], "second_wins": []}
    for i, j in zip(*np.nonzero(~np.eye(len(a), dtype=bool)), strict=True):
        wins = round(GAMES_PER_PAIR * (1.0 + a[i, j]) / 2.0)
        pairs["first"].append(names[i])
        pairs["second"].append(names[j])
        pairs["first_wins"].append(wins)
        pairs["draws"].append(0)
        pairs["second_wins"].append(GAMES_PER_PAIR - wins)
    ratings = fit_ratings(pairs, anchor="weak", first_move_advantage=False)
    return dict(zip(ratings.agents, ratings.rating, strict=True))


def test_skill_is_the_payoff_against_the_max_entropy_nash():
    result = nash_average(A)
    # The cycle's equilibrium (1/6, 1/2, 1/3 for weights 0.2, 0.6, 0.4): weak is left out.
    np.testing.assert_allclose(result.p, [0.2 / 1.2, 0.6 / 1.2, 0.4 / 1.2, 0.0], atol=1e-8)
    np.testing.assert_allclose(result.p, nash_equilibrium(A))
    np.testing.assert_allclose(result.skill, A @ result.p)
    np.testing.assert_allclose(result.skill[:3], 0.0, atol=1e-8)
    assert result.skill[3] == pytest.approx(-0.5, abs=1e-8)


@pytest.mark.parametrize("agent, copies", [(0, 1), (0, 3), (2, 2), (3, 4)])
def test_copies_change_no_nash_averaged_skill_but_move_elo(agent, copies):
    before = nash_average(A)
    elo_before = elo(A, NAMES)
    a, names = with_copies(A, NAMES, agent, copies)
    after = nash_average(a)
    # Everybody keeps their skill; the copies get the original's, and share its mass.
    np.testing.assert_allclose(after.skill[:4], before.skill, atol=1e-7)
    np.testing.assert_allclose(after.skill[4:], before.skill[agent], atol=1e-7)
    assert after.p[[agent, *range(4, 4 + copies)]].sum() == pytest.approx(before.p[agent])
    # Elo, fitted to the same exact results (no sampling noise), moves for someone: by
    # 16 to 77 points here.
    elo_after = elo(a, names)
    assert max(abs(elo_after[n] - elo_before[n]) for n in NAMES) > 10.0


def test_payoffs_must_be_antisymmetric():
    with pytest.raises(ValueError, match="antisymmetric"):
        nash_average(np.array([[0.0, 1.0], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="NaN"):
        nash_average(np.array([[0.0, np.nan], [np.nan, 0.0]]))
