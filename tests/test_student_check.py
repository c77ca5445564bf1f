"""``vpg-sim check``'s verdicts: vpg-sim's own answers pass, and each classic mistake is
caught by the case aimed at it, with its smallest failing input."""

import pytest

from tests import student_solutions as solutions
from vpg_sim.core.student import StudentTimeout, run_slot
from vpg_sim.core.student_check import check, loss_cases


def in_process(function):
    return lambda slot, calls: run_slot(slot, function, calls)


def failed(slot, function):
    return {verdict.case: verdict for verdict in check(slot, in_process(function)) if not verdict.passed}


@pytest.mark.parametrize(("slot", "function"), [("advantages", solutions.reward_to_go), ("gae", solutions.gae)])
def test_a_right_answer_passes_every_case(slot, function):
    verdicts = check(slot, in_process(function))
    assert [verdict.case for verdict in verdicts if not verdict.passed] == []
    names = [verdict.case for verdict in verdicts]
    for case in ("one episode", "several episodes", "a termination", "a time-limit truncation",
                 "an episode cut by the batch", "gamma 1", "gamma 0", "a one-step episode"):  # fmt: skip
        assert case in names
    assert sum(name.startswith("real rollout") for name in names) == 3


@pytest.mark.parametrize(
    ("mistake", "case"),
    [
        (solutions.rtg_forgets_to_reset, "several episodes"),
        (solutions.rtg_discounts_from_episode_start, "one episode"),
        (solutions.rtg_bootstraps_a_terminal_state, "a termination"),
        (solutions.rtg_does_not_bootstrap_a_truncation, "a time-limit truncation"),
        (solutions.rtg_off_by_one, "a one-step episode"),
    ],
)
def test_each_classic_mistake_is_named_by_the_case_aimed_at_it(mistake, case):
    failures = failed("advantages", mistake)
    assert case in failures
    verdict = failures[case]
    assert verdict.error is None and verdict.first_difference is not None
    assert verdict.expected[verdict.first_difference] != pytest.approx(verdict.returned[verdict.first_difference])


def test_not_bootstrapping_a_truncation_fails_only_where_there_is_one():
    assert set(failed("advantages", solutions.rtg_does_not_bootstrap_a_truncation)) == {
        "a time-limit truncation",
        "real rollout with 30-step time limits",
    }


def test_a_failure_shows_the_fewest_whole_episodes_that_still_fail():
    # Forgetting the reset needs two episodes to show; the case's smallest failing input is
    # its two episodes, first wrong at step 0 (the first episode took in the second's return).
    verdict = failed("advantages", solutions.rtg_forgets_to_reset)["several episodes"]
    assert verdict.inputs["rewards"] == [1, 2, 4, 1, 1]
    assert verdict.expected == [3, 4, 4, 1.5, 1]
    assert verdict.first_difference == 0 and verdict.where == "step 0 (episode 0, its step 0)"
    # A real batch's failure is cut down from a whole env's steps to one episode.
    real = failed("advantages", solutions.rtg_bootstraps_a_terminal_state)["real rollout of whole episodes"]
    assert real.inputs["terminated"][-1] and sum(real.inputs["terminated"]) == 1


def test_a_gae_that_bootstraps_a_terminal_state_is_caught_by_the_termination():
    verdict = failed("gae", solutions.gae_bootstraps_a_terminal_state)["a termination"]
    assert verdict.expected == [0.75, -1.0]  # the starter's worked example


def test_the_losses_mistakes_are_caught_and_the_reference_passes():
    assert failed("loss", solutions.pg_loss) == {}
    wrong_sign = failed("loss", solutions.loss_with_the_wrong_sign)
    assert set(wrong_sign) == {case.name for case in loss_cases()}
    assert wrong_sign["one sample"].where == "the loss's value"
    summed = failed("loss", solutions.loss_summed)
    assert "one sample" not in summed and "several samples" in summed  # a sum of one is its mean
    assert len(summed["a real batch's size"].inputs["log_probs"]) == 2  # shrunk to the first two that differ


def test_a_function_that_raises_fails_each_case_with_its_line():
    failures = failed("advantages", solutions.not_written_yet)
    assert len(failures) == 11
    assert all("NotImplementedError" in verdict.error for verdict in failures.values())


def test_after_a_case_times_out_the_rest_are_not_run():
    calls = []

    def slow(slot, arguments):
        calls.append(slot)
        raise StudentTimeout("took longer than 5 s")

    verdicts = check("advantages", slow)
    assert len(calls) == 1
    assert verdicts[0].error == "took longer than 5 s"
    assert all(verdict.skipped and not verdict.passed for verdict in verdicts[1:])
