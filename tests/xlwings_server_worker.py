"""A child process that runs xlfuncs' custom functions the way xlwings Server and Lite do.

xlwings decides *when it is imported* what ``xw.func``/``xw.arg`` are: with
``XLWINGS_ON_SERVER=true`` they are the Office.js decorators of ``xlwings.server``, without
it (on Linux) they are do-nothing stand-ins. Pytest's ``--doctest-modules`` imports
``xlfuncs.udfs`` (and with it xlwings) long before any test runs, so the Office.js path can
only be tested for real in a process that sets the two variables before its first import
of xlwings: this one. :mod:`tests.test_xlwings_officejs` starts it with the environment set
and talks to it in JSON lines on stdin/stdout, which is also how the requests really travel
(Office.js ``JSON.stringify``s the payload; xlwings Server answers with a JSON response).

Requests (one JSON object a line) and what comes back:

* ``{"op": "env"}``: the xlwings version and which decorators ``xw.func`` is.
* ``{"op": "meta", "module": M}``: ``xlwings.server.custom_functions_meta(module)``.
* ``{"op": "call", "payload": {...}, "module": M}``: the result of
  ``await xlwings.server.custom_functions_call(payload, module)``, serialised with
  ``json.dumps(..., allow_nan=False)`` as xlwings Server's JSON response does.
* ``{"op": "plugin", "group": G, "dist": D}``: loads the entry point of distribution ``D``
  in group ``G`` (the way xlwings Lite finds a plugin's module) and makes it module
  ``"plugin"``.
* ``{"op": "lite_main", "code": S}``: executes ``S`` as the workbook's ``main.py``, the way
  xlwings Lite does (a module named ``main`` built from the editor's text), and makes it
  module ``"main"``.

``M`` is ``"udfs"`` (``xlfuncs.udfs``, the default), ``"plugin"`` or ``"main"``. Every answer
is ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": "..."}``.

Only the standard library is imported at module level (xlwings is imported inside
:func:`main`), so collecting this file for doctests leaves the test session untouched.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
from pathlib import Path

#: The environment xlwings needs to hand out its Office.js decorators.
SERVER_ENV = {"XLWINGS_ON_SERVER": "true", "XLWINGS_LICENSE_KEY": "noncommercial"}
TIMEOUT = 120  # seconds for one answer (the first one includes importing xlwings and numpy)


class Worker:
    """The test side: starts this file as a child process and asks it questions."""

    def __init__(self, process: subprocess.Popen, stderr):
        self.process = process
        self.stderr = stderr

    @classmethod
    def start(cls) -> Worker:
        env = {**os.environ, **SERVER_ENV}
        stderr = tempfile.TemporaryFile(mode="w+")
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
            cwd=Path(__file__).resolve().parent.parent,
            text=True,
        )
        return cls(process, stderr)

    def _stderr(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read()

    def ask(self, **request):
        """Send one request; return its result, or fail with the worker's error."""
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], TIMEOUT)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            raise RuntimeError(f"xlwings worker gave no answer to {request}:\n{self._stderr()}")
        answer = json.loads(line)
        if not answer["ok"]:
            raise AssertionError(f"{request}\n{answer['error']}\n{answer.get('traceback', '')}")
        return answer["result"]

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.stderr.close()


def main() -> None:
    # The whole point of this process: xlwings must not have been imported before the two
    # variables are in place, or xw.func would be the wrong decorator for good.
    assert "xlwings" not in sys.modules, "xlwings was imported before its environment was set"
    assert os.environ.get("XLWINGS_ON_SERVER") == "true", "XLWINGS_ON_SERVER must be 'true'"
    assert os.environ.get("XLWINGS_LICENSE_KEY"), "XLWINGS_LICENSE_KEY must be set"

    import asyncio
    import importlib.metadata
    import importlib.util
    import traceback

    import xlwings as xw
    import xlwings.server

    import xlfuncs.udfs

    modules = {"udfs": xlfuncs.udfs}

    def handle(request: dict):
        op = request["op"]
        if op == "env":
            return {
                "xlwings_version": xw.__version__,
                "func_module": xw.func.__module__,
                "is_server_func": xw.func is xlwings.server.func,
            }
        if op == "meta":
            return xlwings.server.custom_functions_meta(modules[request.get("module", "udfs")])
        if op == "call":
            module = modules[request.get("module", "udfs")]
            result = asyncio.run(xlwings.server.custom_functions_call(request["payload"], module))
            # What leaves xlwings Server: a JSON body. No NaN or inf may slip through.
            return json.loads(json.dumps(result, allow_nan=False))
        if op == "plugin":
            found = [
                ep
                for ep in importlib.metadata.entry_points(group=request["group"])
                if ep.dist is not None and ep.dist.name == request["dist"]
            ]
            if len(found) != 1:
                raise LookupError(f"{len(found)} entry points of {request['dist']} in {request['group']}")
            modules["plugin"] = found[0].load()
            return {"name": found[0].name, "value": found[0].value, "module": modules["plugin"].__name__}
        if op == "lite_main":
            spec = importlib.util.spec_from_loader("main", loader=None)
            module = importlib.util.module_from_spec(spec)
            exec(request["code"], module.__dict__)  # noqa: S102 - what Lite does with main.py
            sys.modules["main"] = module
            modules["main"] = module
            return {"module": module.__name__}
        raise ValueError(f"unknown op {op!r}")

    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = {"ok": True, "result": handle(json.loads(line))}
        except Exception as exc:  # reported to the test, which fails on it
            answer = {"ok": False, "error": repr(exc), "traceback": traceback.format_exc()}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
