"""The student's commands: ``exercise new`` writes a starter, ``check`` grades a function,
and ``train --advantages/--gae/--loss`` trains with one; bad code is one line and exit 2."""

import json

import pytest

from tests.test_policy_map import run as run_main


def run(capsys, *argv):
    """``main(argv)``'s exit status, stdout lines and stderr lines."""
    status, out, err = run_main(capsys, *argv)
    return status, out.splitlines(), err


@pytest.mark.parametrize("exercise", ["reward-to-go", "gae", "loss"])
def test_a_starter_states_the_task_and_is_not_yet_done(tmp_path, monkeypatch, capsys, exercise):
    monkeypatch.chdir(tmp_path)
    status, out, _ = run(capsys, "exercise", "new", exercise, "--out", "mine.py")
    assert status == 0 and "vpg-sim check mine:" in out[-1]
    text = (tmp_path / "mine.py").read_text()
    assert "raise NotImplementedError" in text and "Returns" in text and "example" in text
    namespace: dict = {}
    exec(compile(text, "mine.py", "exec"), namespace)  # a file Python reads
    function = next(value for key, value in namespace.items() if callable(value) and not key.startswith("_"))
    with pytest.raises(NotImplementedError):
        function(*[None] * function.__code__.co_argcount)


def test_a_starter_is_never_written_over_an_existing_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reward_to_go.py").write_text("# mine\n")
    status, _, err = run(capsys, "exercise", "new", "reward-to-go")
    assert status == 2 and "exists (never replaced)" in err[-1]
    assert (tmp_path / "reward_to_go.py").read_text() == "# mine\n"
    status, _, err = run(capsys, "exercise", "new", "loss", "--out", "my-loss.py")
    assert status == 2 and "not a module Python can import" in err[-1]


def test_check_passes_a_right_answer_with_exit_0(capsys):
    status, out, _ = run(capsys, "check", "tests.student_solutions:reward_to_go")
    assert status == 0
    assert out[-1] == "11 of 11 cases passed"


def test_check_fails_a_mistake_naming_its_case_with_exit_1(capsys):
    status, out, _ = run(capsys, "check", "tests.student_solutions:rtg_does_not_bootstrap_a_truncation")
    assert status == 1
    assert any(line.startswith("  a time-limit truncation") and line.endswith("FAILED") for line in out)
    assert "first difference at step 0 (episode 0, its step 0): expected 4, returned 1.5" in "\n".join(out)


def test_check_json_is_one_object_for_an_autograder(capsys):
    status, out, _ = run(capsys, "check", "tests.student_solutions:loss_summed", "--json")
    record = json.loads("\n".join(out))
    assert status == 1 and record["exercise"] == "loss" and record["passed"] is False
    assert {case["case"]: case["passed"] for case in record["cases"]}["one sample"] is True


def test_check_of_a_fresh_starter_says_the_body_is_to_be_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run(capsys, "exercise", "new", "gae")
    status, out, _ = run(capsys, "check", "gae:gae")
    assert status == 1
    assert "raised NotImplementedError: the body is still to be written (gae.py, line" in "\n".join(out)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["check", "nowhere:reward_to_go"], "cannot import 'nowhere'"),
        (["check", "tests.student_solutions:raises"], "which exercise does"),
        (["check", "not a name"], "expected MODULE:FUNCTION"),
        (["train", "--advantages", "tests.student_solutions:raises", "--steps", "256"], "update 1: "),
        (["train", "--gae", "0.9"], "expected MODULE:FUNCTION"),
        (["train", "--advantages", "a:f", "--gae", "a:g"], "both give Phi_t"),
    ],
)
def test_bad_student_code_is_one_line_and_exit_2(tmp_path, capsys, argv, said):
    extra = ["--log-dir", str(tmp_path / "log")] if argv[0] == "train" else []
    status, _, err = run(capsys, *argv, *extra)
    assert status == 2
    assert said in err[-1] and "Traceback" not in "\n".join(err)


def test_a_run_stopped_by_student_code_keeps_its_log_and_names_the_line(tmp_path, capsys):
    argv = ["train", "--advantages", "tests.student_solutions:raises", "--steps", "2048"]
    status, _, err = run(capsys, *argv, "--log-dir", str(tmp_path / "log"))
    assert status == 2
    assert "tests.student_solutions:raises raised IndexError" in err[-1] and "student_solutions.py, line" in err[-1]
    record = json.loads((tmp_path / "log" / "config.json").read_text())
    assert record["student_code"] == {"advantages": "tests.student_solutions:raises"}


def test_train_with_a_students_functions_says_so(tmp_path, capsys):
    argv = [
        "train",
        "--advantages",
        "tests.student_solutions:reward_to_go",
        "--loss",
        "tests.student_solutions:pg_loss",
    ]
    status, out, _ = run(capsys, *argv, "--steps", "2048", "--log-dir", str(tmp_path / "log"), "--json")
    result = json.loads(out[-1])
    assert status == 0 and result["updates"] == 2
    assert result["student_code"] == {
        "advantages": "tests.student_solutions:reward_to_go",
        "loss": "tests.student_solutions:pg_loss",
    }


def test_variance_measures_along_a_run_trained_with_the_students_code(capsys):
    argv = [
        "variance",
        "--advantages",
        "tests.student_solutions:reward_to_go",
        "--at-steps",
        "0,1000",
        "--batches",
        "2",
    ]
    status, out, _ = run(capsys, *argv)
    assert status == 0
    assert out[0] == "trained with advantages=tests.student_solutions:reward_to_go; measured: " + (
        "vpg-sim's four estimators along that run"
    )
    # The run's updates call the student's function: one that raises stops it after the first point.
    argv = ["variance", "--advantages", "tests.student_solutions:raises", "--at-steps", "0,1000", "--batches", "2"]
    status, out, err = run(capsys, *argv)
    assert status == 2 and "update 1: tests.student_solutions:raises raised IndexError" in err[-1]
    status, _, err = run(capsys, "variance", "--advantages", "nowhere:f", "--at-steps", "0", "--batches", "2")
    assert status == 2 and "cannot import 'nowhere'" in err[-1]


def test_a_students_flag_with_a_command_that_does_not_train_is_refused(capsys):
    for argv in (["--loss", "mine:pg_loss", "eval", "policy.safetensors"], ["--advantages", "mine:rtg", "play", "p"]):
        status, _, err = run(capsys, *argv)
        assert status == 2 and "go with the window, train, compare and variance" in err[-1]


def test_a_policy_trained_with_a_students_code_is_labelled_and_imports_nothing(tmp_path, capsys):
    from dataclasses import replace

    from vpg_sim.core.trainer import VPGTrainer
    from vpg_sim.policy_files import PolicyFileError, load_policy, read_metadata, save_policy

    target = tmp_path / "policy.safetensors"
    argv = ["train", "--advantages", "tests.student_solutions:reward_to_go", "--steps", "1024", "--save", str(target)]
    assert run(capsys, *argv, "--log-dir", str(tmp_path / "log"))[0] == 0
    loaded = load_policy(target)
    assert loaded.checkpoint.student_code == "advantages=tests.student_solutions:reward_to_go"
    status, out, _ = run(capsys, "eval", str(target), "--episodes", "1")
    assert status == 0 and out[-1].endswith("(trained with advantages=tests.student_solutions:reward_to_go)")
    # Trained on from the file without the flag: vpg-sim's own code, the label kept.
    trainer = VPGTrainer.from_checkpoint(loaded.checkpoint)
    assert trainer.student is None and trainer.checkpoint().student_code == loaded.checkpoint.student_code
    plain = save_policy(tmp_path / "plain.safetensors", replace(loaded.checkpoint, student_code=""))
    trainer.close()
    assert "student_code" not in read_metadata(plain).to_json()  # older vpg-sims read such files as before
    hostile = save_policy(tmp_path / "hostile.safetensors", replace(loaded.checkpoint, student_code="os.system('ls')"))
    with pytest.raises(PolicyFileError, match="student_code must be a label such as"):
        load_policy(hostile)


def test_long_flags_are_shown_as_where_they_are_set():
    from vpg_sim.cli.check import shown

    assert shown([False] * 29 + [True], 0) == "T at step 29  (30)"
    assert shown([1.0, 2.5, 4.0], 1) == "[1, 2.5, 4]  (3)"
    assert shown(list(range(30)), 20) == "[..., 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, ...]  (30)"
