"""The process a student's functions run in (started by ``student_code.StudentProcess``).

``python -m vpg_sim.training.student_child READ_FD WRITE_FD``: receives the functions to
import as ``(slot, "module:function")`` pairs and answers ``("ready",)`` or ``("error",
line)``; then, for each ``(slot, calls)``, ``("ok", results)`` or ``("error", line)``
(``vpg_sim.core.student.run_slot``). Ends when the pipe closes.
"""

from __future__ import annotations

import importlib
import signal
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from vpg_sim.core.student import StudentCodeError, run_slot


def imported_function(spec: str) -> Callable[..., Any]:
    """The function ``module:function`` names; StudentCodeError (one line) if there is none."""
    module_name, _, name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except BaseException as error:  # a student's module: a syntax error, an exit at import...
        text = " ".join(str(error).split())[:200]
        where = "; vpg-sim looks in the folder it runs in" if isinstance(error, ModuleNotFoundError) else ""
        raise StudentCodeError(
            f"{spec}: cannot import {module_name!r} ({type(error).__name__}: {text}{where})"
        ) from None
    function = getattr(module, name, None)
    if function is None:
        found = sorted(key for key, value in vars(module).items() if callable(value) and not key.startswith("_"))
        shown = f"; it has {', '.join(found[:6])}" if found else ""
        raise StudentCodeError(f"{spec}: {module_name} has no function {name!r}{shown}")
    if not callable(function):
        raise StudentCodeError(f"{spec}: {module_name}.{name} is a {type(function).__name__}, not a function")
    return function


def serve(receive: Connection, send: Connection) -> None:
    """Import, say ready, then answer calls until the pipe closes."""
    functions: dict[str, Callable[..., Any]] = {}
    try:
        for slot, spec in receive.recv():
            functions[slot] = imported_function(spec)
    except StudentCodeError as error:
        send.send(("error", str(error)))
        return
    if "loss" in functions:
        # Now, within the import's time limit: loaded at the first call, torch (seconds on a
        # busy machine) would count against the call's.
        import torch

        torch.set_num_threads(1)
    send.send(("ready",))
    while True:
        try:
            slot, calls = receive.recv()
        except EOFError:  # the trainer has gone, or stopped us
            return
        try:
            send.send(("ok", run_slot(slot, functions[slot], calls)))
        except StudentCodeError as error:
            send.send(("error", str(error)))
        except BaseException as error:  # sys.exit() in a student's function, say
            send.send(("error", f"stopped its process ({type(error).__name__}: {error})"))
            return


def main(argv: list[str]) -> None:
    # Ctrl-C in the terminal is the trainer's to handle (it stops this process).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    receive = Connection(int(argv[1]), writable=False)
    send = Connection(int(argv[2]), readable=False)
    serve(receive, send)


if __name__ == "__main__":
    main(sys.argv)
