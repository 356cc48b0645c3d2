"""One headless LibreOffice process, driven over a UNO pipe.

:class:`Office` starts ``soffice`` with a private copy of the prepared profile (see
:mod:`xlfuncs.recalc.extension`), connects, loads workbooks hidden and read-only (they
recalculate on load: the profile says so), reads the values of the cells asked for, and
stops the process when done. One :class:`Office` serves a whole batch; ``--jobs N`` runs
N of them.
"""

from __future__ import annotations

import marshal
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from ..errors import ExcelError
from . import extension
from .addin import JOB_SERVICE_NAME

# LibreOffice FormulaError -> the Excel error its xlsx export writes (XclTools::GetXclErrorCode).
_LO_TO_EXCEL = {
    501: ExcelError.VALUE,  # IllegalChar
    502: ExcelError.NUM,  # IllegalArgument
    503: ExcelError.NUM,  # IllegalFPOperation
    504: ExcelError.VALUE,  # IllegalParameter
    507: ExcelError.VALUE,  # PairExpected
    508: ExcelError.VALUE,  # OperatorExpected
    509: ExcelError.VALUE,  # VariableExpected
    510: ExcelError.VALUE,  # ParameterExpected
    511: ExcelError.VALUE,  # MissingVariable
    512: ExcelError.VALUE,  # StringOverflow
    513: ExcelError.VALUE,  # StringOverflow
    519: ExcelError.VALUE,  # NoValue
    521: ExcelError.NULL,  # NoCode
    522: ExcelError.VALUE,  # CircularReference
    523: ExcelError.NUM,  # NoConvergence
    524: ExcelError.REF,  # NoRef
    525: ExcelError.NAME,  # NoName
    532: ExcelError.DIV0,  # DivisionByZero
    32767: ExcelError.NA,  # NotAvailable
}
CIRCULAR = 522
NO_CONVERGENCE = 523
NO_NAME = 525


class OfficeError(RuntimeError):
    """LibreOffice could not be started, or died."""


def excel_error(code: int) -> ExcelError:
    return _LO_TO_EXCEL.get(int(code), ExcelError.VALUE)


def _import_uno():
    """Import pyuno from Debian's python3-uno into this interpreter (same minor version)."""
    try:
        import uno  # noqa: PLC0415
    except ImportError:
        for path in ("/usr/lib/python3/dist-packages", "/usr/lib/libreoffice/program"):
            if os.path.isdir(path) and path not in sys.path:
                sys.path.append(path)  # appended: never shadows this interpreter's packages
        try:
            import uno  # noqa: PLC0415
        except ImportError as exc:
            raise OfficeError(
                "cannot import LibreOffice's Python bridge (uno): install python3-uno "
                f"(Debian) for this Python {sys.version_info.major}.{sys.version_info.minor}: {exc}"
            ) from None
    return uno


def find_soffice() -> str:
    for candidate in (
        os.environ.get("XLFUNCS_SOFFICE"),
        shutil.which("soffice"),
        "/usr/lib/libreoffice/program/soffice",
    ):
        if candidate and os.path.exists(candidate):
            return candidate
    raise OfficeError("LibreOffice (soffice) not found: install libreoffice-calc-nogui")


def office_env() -> dict[str, str]:
    """The environment soffice runs in: our package and numpy importable, a system PATH.

    LibreOffice's embedded Python locates its standard library through PATH; with a
    pyenv or venv ``python3`` first on PATH it picks that one and fails to start, so the
    system folders go first.
    """
    import numpy  # noqa: PLC0415 - locate the site-packages that hold our dependencies

    import xlfuncs  # noqa: PLC0415

    paths = [str(Path(xlfuncs.__file__).resolve().parent.parent)]
    for module in (numpy,):
        site = str(Path(module.__file__).resolve().parent.parent)
        if site not in paths:
            paths.append(site)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYENV", "_PYENV", "VIRTUAL_ENV", "PYTHONHOME"))}
    system = ["/usr/local/bin", "/usr/bin", "/bin"]
    rest = [p for p in env.get("PATH", "").split(os.pathsep) if p and p not in system]
    env["PATH"] = os.pathsep.join(system + rest)
    env["PYTHONPATH"] = os.pathsep.join(paths + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["XLFUNCS_RECALC_ADDIN"] = "1"
    # One locale whatever the user's: function names, TEXT() results and logicals as in
    # an English Excel (LibreOffice takes its UI and default document locale from these).
    env["LC_ALL"] = env["LANG"] = "C.UTF-8"
    env.pop("LANGUAGE", None)
    env.pop("PYTHONSTARTUP", None)
    return env


def _property(uno, name: str, value):
    prop = uno.createUnoStruct("com.sun.star.beans.PropertyValue")
    prop.Name = name
    prop.Value = value
    return prop


class Office:
    """A headless LibreOffice for one batch of workbooks.

    Use as a context manager; :meth:`start` returns at once (start-up overlaps with the
    caller's work), the first :meth:`recalc` waits for the connection.
    """

    def __init__(self, start_timeout: float = 120.0, threaded: bool = True):
        self.start_timeout = start_timeout
        # Calc's threaded formula-group calculation: worth it for one LibreOffice, but with
        # one per core (--jobs) the threads only fight over the same cores.
        self.threaded = threaded
        self.process: subprocess.Popen | None = None
        self.profile_dir: Path | None = None
        self.pipe = f"xlfuncs-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._uno = None
        self._ctx = None
        self._desktop = None
        self._functions: set[str] | None = None
        self._reader = None
        self._warm: threading.Thread | None = None
        self._lock = threading.Lock()
        self._warm_error: str | None = None
        self.last_timings: dict[str, float] = {}

    def __enter__(self) -> Office:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        soffice = find_soffice()
        env = office_env()
        template = extension.profile_template(soffice, env)
        self.profile_dir = Path(tempfile.mkdtemp(prefix="xlfuncs-lo-"))
        shutil.copytree(template / "profile", self.profile_dir / "profile")
        if not self.threaded:
            extension.set_option(
                self.profile_dir / "profile",
                "/org.openoffice.Office.Calc/Formula/Calculation",
                "UseThreadedCalculationForFormulaGroups",
                "boolean",
                "false",
            )
        self.process = subprocess.Popen(
            [
                soffice,
                f"-env:UserInstallation={(self.profile_dir / 'profile').as_uri()}",
                "--headless", "--invisible", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
                f"--accept=pipe,name={self.pipe};urp;StarOffice.ComponentContext",
            ],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() can end all of it
        )  # fmt: skip

    def warm_up(self) -> None:
        """Connect and make soffice import the add-in now, in a background thread.

        Starting LibreOffice, its Python, numpy and xlfuncs takes about a second; the
        caller reads and prepares the first workbook meanwhile. Errors surface later, on
        the first real request.
        """

        def run():
            try:
                answer = self._job({"op": "ping"})
                if tuple(answer["python"]) != tuple(sys.version_info[:2]):
                    self._warm_error = (
                        f"LibreOffice's Python is {answer['python'][0]}.{answer['python'][1]}, this one is "
                        f"{sys.version_info[0]}.{sys.version_info[1]}: run xlfuncs recalc from a Python "
                        f"{answer['python'][0]}.{answer['python'][1]} environment "
                        f"(python{answer['python'][0]}.{answer['python'][1]} -m venv .venv, then bash scripts/install.sh)"
                    )
            except Exception as exc:  # noqa: BLE001 - reported by the first recalc instead
                self._warm_error = str(exc)

        self._warm = threading.Thread(target=run, name="xlfuncs-office-warm-up", daemon=True)
        self._warm.start()

    def _wait_warm(self) -> None:
        warm = self._warm
        if warm is not None and warm is not threading.current_thread():
            warm.join()
            self._warm = None

    def _connect(self) -> None:
        with self._lock:
            self._connect_locked()

    def _connect_locked(self) -> None:
        if self._desktop is not None:
            return
        if self.process is None:
            self.start()
        uno = self._uno = _import_uno()
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                self._ctx = resolver.resolve(f"uno:pipe,name={self.pipe};urp;StarOffice.ComponentContext")
                break
            except Exception as exc:  # NoConnectException until soffice listens
                if self.process.poll() is not None:
                    raise OfficeError(f"LibreOffice exited during start-up (code {self.process.returncode})") from None
                if time.monotonic() > deadline:
                    raise OfficeError(f"LibreOffice did not start within {self.start_timeout:.0f} s: {exc}") from None
                time.sleep(0.02)
        self._desktop = self._ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", self._ctx)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Terminate soffice (politely, then by signal) and delete the private profile."""
        self._wait_warm()
        if self._desktop is not None:
            try:
                self._desktop.terminate()
            except Exception:  # noqa: BLE001 - the bridge goes away while terminating
                pass
        self._desktop = None
        self._ctx = None
        self._reader = None
        if self.process is not None:
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(timeout=15)
            self.process = None
        if self.profile_dir is not None:
            shutil.rmtree(self.profile_dir, ignore_errors=True)
            self.profile_dir = None

    # ------------------------------------------------------------------ documents

    def _job(self, request: dict) -> dict:
        """One request to the in-process reader (:func:`xlfuncs.recalc.addin.run_job`)."""
        self._wait_warm()
        if self._warm_error and "Python is" in self._warm_error:
            raise OfficeError(self._warm_error)
        self._connect()
        if self._reader is None:
            self._reader = self._ctx.ServiceManager.createInstanceWithContext(JOB_SERVICE_NAME, self._ctx)
            if self._reader is None:
                raise OfficeError("LibreOffice did not load the xlfuncs add-in (is python3-uno installed?)")
        argument = self._uno.createUnoStruct("com.sun.star.beans.NamedValue")
        argument.Name, argument.Value = "request", self._uno.ByteSequence(marshal.dumps(request))
        try:
            answer = marshal.loads(self._reader.execute((argument,)).value)
        except Exception as exc:
            if not self.alive():
                raise OfficeError(f"LibreOffice died: {getattr(exc, 'Message', exc)}") from None
            raise OfficeError(f"LibreOffice failed: {getattr(exc, 'Message', exc)}") from None
        if "error" in answer:
            raise OfficeError(answer["error"])
        return answer

    def function_names(self) -> set[str]:
        """Upper-case English names of every function this LibreOffice knows."""
        if self._functions is None:
            self._functions = {name.upper() for name in self._job({"op": "functions"})["functions"]}
        return self._functions

    def recalc(self, path: Path, wanted: dict[str, list[tuple[int, int]]], order: list[str] | None = None):
        """Load ``path`` (recalculating it) and read the values of the wanted cells.

        Parameters
        ----------
        path : Path
            The workbook LibreOffice loads (the normalised copy).
        wanted : dict
            Sheet name -> (row, col) of the cells to read.
        order : list of str, optional
            Every sheet name of the workbook in order: a sheet LibreOffice renamed on
            load (a name it cannot hold) is then found by its position.

        Returns
        -------
        dict
            Sheet name -> (values, codes), aligned with ``wanted``: each value a float,
            str, bool, ExcelError or None (unknown), each code LibreOffice's FormulaError
            (0 unless the cell is an error).
        """
        reply = self._job({"url": Path(path).resolve().as_uri(), "sheets": wanted, "order": order or []})
        self.last_timings = {k: v for k, v in reply.items() if k.endswith("_s")}
        answer = reply["values"]
        out = {}
        for name, cells in wanted.items():
            news: list = []
            codes: list[int] = []
            for value in answer.get(name) or [None] * len(cells):
                if type(value) is float:
                    news.append(value)
                    codes.append(0)
                elif isinstance(value, tuple):
                    news.append(excel_error(value[0]))
                    codes.append(int(value[0]))
                else:  # str, bool, or None (a sheet LibreOffice does not have)
                    news.append(value)
                    codes.append(0)
            out[name] = (news, codes)
        return out
