"""A student's functions run in a process of their own: a hang is stopped and said, a bad
module is one line, and a fixed file is imported again after a failure."""

import sys

import numpy as np
import pytest

from vpg_sim.core.student import StudentCode, StudentCodeError, StudentTimeout
from vpg_sim.training.student_code import StudentProcess

TERMINATED = np.array([False, False, True])
ONE_EPISODE = [("env 0", (np.array([1.0, 2.0, 4.0]), np.zeros(3), TERMINATED, np.zeros(3, bool), 0.5))]


def process(spec, slot="advantages", **options):
    return StudentProcess(StudentCode(((slot, spec),)), **options)


def test_a_right_function_answers_through_the_process():
    runner = process("tests.student_solutions:reward_to_go")
    try:
        [answer] = runner.call("advantages", ONE_EPISODE)
        np.testing.assert_allclose(answer, [3, 4, 4])
        assert runner.running and runner.starts == 1
    finally:
        runner.close()
    assert not runner.running


def test_a_function_that_takes_ten_seconds_is_stopped_and_said():
    runner = process("tests.student_solutions:takes_ten_seconds", timeout=0.5)
    runner.start()  # the import is not what is timed here
    with pytest.raises(StudentTimeout, match=r"^tests.student_solutions:takes_ten_seconds took longer than 0.5 s on 3"):
        runner.call("advantages", ONE_EPISODE)
    assert not runner.running  # killed, not left sleeping


def test_a_module_that_hangs_on_import_is_stopped():
    runner = process("tests.student_hangs:anything", import_timeout=0.5)
    with pytest.raises(StudentTimeout, match=r"took longer than 0\.5 s to import"):
        runner.start()
    assert not runner.running


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ("no_such_module_here:f", r"cannot import 'no_such_module_here' \(ModuleNotFoundError: .*folder it runs in\)"),
        ("tests.student_solutions:nope", r"has no function 'nope'; it has gae, "),
        ("tests.student_solutions:np", r"tests.student_solutions.np is a module, not a function"),
    ],
)
def test_a_name_that_is_no_function_is_one_line(spec, said):
    with pytest.raises(StudentCodeError, match=said) as caught:
        process(spec).start()
    assert "\n" not in str(caught.value)


def test_a_function_that_exits_its_process_is_said():
    runner = process("tests.student_exits:reward_to_go")
    with pytest.raises(StudentCodeError, match="stopped its process"):
        runner.call("advantages", ONE_EPISODE)
    assert not runner.running


def test_after_a_failure_the_next_call_imports_the_fixed_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the student's folder: where vpg-sim looks for their module
    module = tmp_path / "mine_rtg.py"
    module.write_text("def rtg(r, v, te, tr, g):\n    return r[99]\n")
    runner = process("mine_rtg:rtg")
    try:
        with pytest.raises(StudentCodeError, match=r"raised IndexError.*\(mine_rtg.py, line 2\)"):
            runner.call("advantages", ONE_EPISODE)
        module.write_text("def rtg(r, v, te, tr, g):\n    return r * 2\n")
        [answer] = runner.call("advantages", ONE_EPISODE)
        np.testing.assert_allclose(answer, [2, 4, 8])
        assert runner.starts == 2
    finally:
        runner.close()


def test_a_print_in_the_students_function_does_not_break_the_pipe(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "chatty.py").write_text("def rtg(r, v, te, tr, g):\n    print('hello', r)\n    return r\n")
    runner = process("chatty:rtg")
    try:
        [answer] = runner.call("advantages", ONE_EPISODE)
        np.testing.assert_allclose(answer, [1, 2, 4])
    finally:
        runner.close()


def test_the_trainers_process_never_imports_the_students_module():
    runner = process("tests.student_solutions:reward_to_go")
    sys.modules.pop("tests.student_solutions", None)
    try:
        runner.call("advantages", ONE_EPISODE)
    finally:
        runner.close()
    assert "tests.student_solutions" not in sys.modules
