"""One headless LibreOffice process, driven over a UNO pipe.

:class:`Office` starts ``soffice`` with a private copy of the prepared profile (see
:mod:`xlfuncs.recalc.extension`), connects, loads workbooks hidden and read-only (they
recalculate on load: the profile says so), reads the values of the cells asked for, and
stops the process when done. One :class:`Office` serves a whole batch; ``--jobs N`` runs
N of them.
"""

from __future__ import annotations

import atexit
import hashlib
import marshal
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from pathlib import Path

from . import extension, server
from .lonames import JOB_SERVICE_NAME, excel_error

#: The signals that stop a batch (see engine.stop_on_signals).
_STOPPING = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
#: The file beside the prepared profile listing LibreOffice's functions.
FUNCTION_LIST = "functions.txt"


class OfficeError(RuntimeError):
    """LibreOffice could not be started, or died."""


class OfficeStartError(OfficeError):
    """LibreOffice cannot be started at all: no file can be recalculated (one line)."""


class OfficeTimeout(OfficeError):
    """LibreOffice did not answer within the time limit; it was killed."""


#: Seconds LibreOffice may spend on one workbook (``--timeout``; 0 or None: no limit).
DEFAULT_TIMEOUT = 600.0
#: Seconds a kept LibreOffice (``xlfuncs office start``) may take to accept a connection.
SERVER_CONNECT_TIMEOUT = 10.0

die_with_parent = extension.die_with_parent


def osl_pipe_files(profile_url: str, pipe: str) -> list[str]:
    """The socket files a LibreOffice leaves behind when it is killed: its ``--accept``
    pipe and its single-instance pipe (``SingleOfficeIPC_`` and the MD5 of the profile URL
    in UTF-16, each byte in hex without padding, as desktop/source/app/officeipcthread.cxx
    writes it). They live in /tmp (or /var/tmp) whatever TMPDIR says."""
    digest = hashlib.md5(profile_url.encode("utf-16-le"), usedforsecurity=False).digest()
    ipc = "SingleOfficeIPC_" + "".join(format(byte, "x") for byte in digest)
    uid = os.getuid()
    return [f"{folder}/OSL_PIPE_{uid}_{name}" for folder in ("/tmp", "/var/tmp") for name in (pipe, ipc)]


# Removing LibreOffice's folder and the sockets a killed one leaves: one text, compiled
# for this process (:func:`_clean_up`) and run at the end of the janitor's and the kept
# LibreOffice's warden's scripts (:data:`CLEAN_UP`), which import nothing of ours.
_CLEAN_UP_CODE = r"""
def clean_up(folder, sockets):
    for path in sockets:
        try:
            st = os.lstat(path)
            if stat.S_ISSOCK(st.st_mode) and st.st_uid == os.getuid():
                os.unlink(path)
        except OSError:
            pass
    # rmtree(ignore_errors=True) still raises when closing a directory fails (EBADF, seen
    # while a killed LibreOffice's files vanish under it): a second pass removes what the
    # first left.
    for _ in range(2 if folder else 0):
        try:
            shutil.rmtree(folder, ignore_errors=True)
            return
        except OSError:
            continue
"""
_compiled: dict = {"os": os, "shutil": shutil, "stat": stat}
exec(compile(_CLEAN_UP_CODE, f"{__file__}:_CLEAN_UP_CODE", "exec"), _compiled)  # noqa: S102 - our own constant
_clean_up = _compiled["clean_up"]
#: The end of the janitor's and the warden's scripts (``folder`` and ``sockets`` defined).
CLEAN_UP = _CLEAN_UP_CODE + "clean_up(folder, sockets)\n"

# The janitor: a tiny process of its own session that holds one end of a pipe. When the
# pipe closes without "done" (xlfuncs ended in any way, kill -9 included) it kills
# LibreOffice's process group and removes its temporary folder.
_JANITOR = (
    r"""
import os, shutil, signal, stat, sys, time
pgid, folder, sockets = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
signal.signal(signal.SIGINT, signal.SIG_IGN)
said = sys.stdin.buffer.read(4)  # "done", or less at EOF (the pipe's writer is gone)
if said == b"done":
    sys.exit(0)
try:
    os.killpg(pgid, signal.SIGKILL)
except OSError:
    pass
for _ in range(100):
    try:
        os.killpg(pgid, 0)
    except OSError:
        break
    time.sleep(0.05)
"""
    + CLEAN_UP
)


def _start_janitor(pgid: int, folder: Path, sockets: list[str]) -> subprocess.Popen | None:
    try:
        return subprocess.Popen(
            [sys.executable, "-S", "-c", _JANITOR, str(pgid), str(folder), *sockets],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    except OSError:
        return None


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
            raise OfficeStartError(
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
    raise OfficeStartError("LibreOffice (soffice) not found: install libreoffice-calc-nogui")


def addin_paths() -> list[str]:
    """Where LibreOffice's Python finds the add-in: this xlfuncs and its numpy."""
    import importlib.util  # noqa: PLC0415

    import xlfuncs  # noqa: PLC0415

    paths = [str(Path(xlfuncs.__file__).resolve().parent.parent)]
    # Found, not imported: LibreOffice is started before numpy is (start_early).
    numpy = importlib.util.find_spec("numpy")
    if numpy is not None and numpy.origin:
        site = str(Path(numpy.origin).resolve().parent.parent)
        if site not in paths:
            paths.append(site)
    return paths


def office_env() -> dict[str, str]:
    """The environment soffice runs in: our package and numpy importable, a system PATH.

    LibreOffice's embedded Python locates its standard library through PATH; with a
    pyenv or venv ``python3`` first on PATH it picks that one and fails to start, so the
    system folders go first.
    """

    paths = addin_paths()
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


def soffice_command(soffice: str, folder: Path, pipe: str) -> list[str]:
    """soffice headless on the profile in ``folder``, listening on ``pipe``."""
    return [
        soffice,
        f"-env:UserInstallation={(folder / 'profile').as_uri()}",
        "--headless", "--invisible", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
        f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext",
    ]  # fmt: skip


def prepare_folder(template: Path, folder: Path, env: dict[str, str], *, threaded: bool) -> dict[str, str]:
    """Fill ``folder`` with ``profile/`` (a copy of the prepared one) and ``tmp/``; the
    environment soffice runs in there (its TMPDIR is ``tmp/``)."""
    try:
        shutil.copytree(template / "profile", folder / "profile")
        (folder / "tmp").mkdir()
    except OSError as exc:
        raise OfficeStartError(f"cannot copy the LibreOffice profile: {exc}") from None
    scratch = str(folder / "tmp")
    # LibreOffice's own temporary files (lu*.tmp) go to our folder, removed with it.
    env = {**env, "TMPDIR": scratch, "TMP": scratch, "TEMP": scratch}
    if not threaded:
        extension.set_option(
            folder / "profile",
            "/org.openoffice.Office.Calc/Formula/Calculation",
            "UseThreadedCalculationForFormulaGroups",
            "boolean",
            "false",
        )
        env.update(SINGLE_THREADED)
    return env


#: With one LibreOffice per core (``--jobs``), its import threads only fight the other jobs
#: over the same cores and cost CPU to hand work over: the XML parser's second thread
#: (sax/README) and the thread pool that imports sheets in parallel (comphelper's
#: ThreadPool, sized by MAX_CONCURRENCY). Measured on 20 workbooks of 10,000 rows, two
#: jobs: 5% less CPU over the machine, the batch 6% sooner.
SINGLE_THREADED = {"SAX_DISABLE_THREADS": "1", "MAX_CONCURRENCY": "1"}


class Office:
    """A headless LibreOffice for one batch of workbooks.

    Use as a context manager; :meth:`start` returns at once (start-up overlaps with the
    caller's work), the first :meth:`recalc` waits for the connection.
    """

    def __init__(self, start_timeout: float = 120.0, threaded: bool = True, timeout: float | None = DEFAULT_TIMEOUT):
        self.start_timeout = start_timeout
        #: Seconds one request (one workbook) may take; LibreOffice is killed after that.
        self.timeout = timeout or None
        # Calc's threaded formula-group calculation: worth it for one LibreOffice, but with
        # one per core (--jobs) the threads only fight over the same cores.
        self.threaded = threaded
        self.process: subprocess.Popen | None = None
        #: This process's private folder: ``profile/`` (a copy of the prepared one) and
        #: ``tmp/`` (LibreOffice's TMPDIR), removed by :meth:`stop` or by the janitor.
        self.profile_dir: Path | None = None
        self._janitor: subprocess.Popen | None = None
        self._sockets: list[str] = []
        self._template: Path | None = None
        self._retried = False
        #: The pipe LibreOffice listens on: this process's own, or the kept one's.
        self.pipe = self._own_pipe = f"xlfuncs-{os.getpid()}-{os.urandom(4).hex()}"
        self._uno = None
        self._ctx = None
        self._desktop = None
        self._functions: set[str] | None = None
        self._reader = None
        self._warm: threading.Thread | None = None
        self._lock = threading.Lock()
        self._warm_error: str | None = None
        #: Set once a real request waits for the warm-up: Calc is then not warmed with a
        #: workbook of ours, the real one goes first (it pays the same first-load cost).
        self._wanted = threading.Event()
        self._killed = False
        #: The claimed ``xlfuncs office start`` LibreOffice, when one serves this batch.
        self._server: server.Claim | None = None
        #: Whether a kept LibreOffice may serve this batch (False: always one of its own).
        self.shared = True

    def __enter__(self) -> Office:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @staticmethod
    def prepare() -> None:
        """Build the cached profile now (before forking workers); OfficeStartError if not."""
        try:
            extension.profile_template(find_soffice(), office_env())
        except extension.ProfileError as exc:
            raise OfficeStartError(str(exc)) from None

    def start(self) -> None:
        if self.process is not None or self._server is not None:
            return  # started already (start_early)
        if self.shared:
            # A LibreOffice kept running by ``xlfuncs office start``, when it is free: the
            # batch (or one of its jobs) skips the second LibreOffice needs to start. It
            # calculates with threads, as a LibreOffice alone on the machine does.
            self._server = server.claim()
            if self._server is not None:
                self.pipe = self._server.pipe
                self._template = self._server.template
                return
        self.pipe = self._own_pipe  # a kept LibreOffice given up may still hold its name
        soffice = find_soffice()
        env = office_env()
        try:
            template = self._template = extension.profile_template(soffice, env)
        except extension.ProfileError as exc:
            raise OfficeStartError(str(exc)) from None
        self.profile_dir = Path(tempfile.mkdtemp(prefix=f"xlfuncs-lo-{os.getpid()}-"))
        try:
            env = prepare_folder(template, self.profile_dir, env, threaded=self.threaded)
        except OfficeStartError:
            shutil.rmtree(self.profile_dir, ignore_errors=True)
            self.profile_dir = None
            raise
        dying = extension.death_signal_preexec()

        def preexec() -> None:  # in the child, before soffice runs: its signals as usual
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING)
            os.umask(0o077)  # its pipe's socket too: no other user may connect to it
            if dying is not None:
                dying()

        # A fork with a preexec_fn runs Python's at-fork hooks (logging's locks) in this
        # process; a SIGTERM handled there would be "ignored" with a traceback on stderr.
        # Blocked for the fork, it arrives just after, where the batch ends cleanly.
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)
        try:
            self.process = subprocess.Popen(
                soffice_command(soffice, self.profile_dir, self.pipe),
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stop() can end all of it
                preexec_fn=preexec,
            )  # fmt: skip
        except OSError as exc:
            shutil.rmtree(self.profile_dir, ignore_errors=True)
            self.profile_dir = None
            raise OfficeStartError(f"cannot start LibreOffice ({soffice}): {exc.strerror or exc}") from None
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        self._sockets = osl_pipe_files((self.profile_dir / "profile").as_uri(), self.pipe)
        self._janitor = _start_janitor(self.process.pid, self.profile_dir, self._sockets)

    def warm_up(self, calc: bool | None = None) -> None:
        """Connect, check soffice's Python and warm Calc up, in a background thread.

        The caller reads and prepares the first workbook meanwhile. Errors surface later,
        on the first real request. With ``calc`` (default: unless the LibreOffice is a
        kept one, warm already) a tiny workbook is loaded and closed, unless a real request
        waits already: a fresh Calc's first xlsx costs 0.4 s more than the next (its
        import filter, formula compiler and interpreter set up; measured 0.43-0.47 s
        against 0.07 s for 20 rows, 1.47-1.58 s against 1.16-1.29 s for 10,000), paid
        here while the caller makes its copy.
        """
        calc = not self.kept if calc is None else calc

        def run():
            try:
                answer = self._job_unguarded({"op": "ping"})
                if tuple(answer["python"]) != tuple(sys.version_info[:2]):
                    self._warm_error = (
                        f"LibreOffice's Python is {answer['python'][0]}.{answer['python'][1]}, this one is "
                        f"{sys.version_info[0]}.{sys.version_info[1]}: run xlfuncs recalc from a Python "
                        f"{answer['python'][0]}.{answer['python'][1]} environment "
                        f"(python{answer['python'][0]}.{answer['python'][1]} -m venv .venv, then bash scripts/install.sh)"
                    )
                    return
            except Exception as exc:  # noqa: BLE001 - reported by the first recalc instead
                self._warm_error = str(exc)
                return
            if calc and not self._wanted.is_set():
                try:
                    url = _warm_workbook(Path(self.work_dir or tempfile.gettempdir())).as_uri()
                    token = self._job_unguarded({"op": "load", "url": url})["token"]
                    self._job_unguarded({"op": "close", "token": token})
                except Exception:  # noqa: BLE001 - only time is lost: the real workbook loads cold
                    pass

        self._warm = threading.Thread(target=run, name="xlfuncs-office-warm-up", daemon=True)
        self._warm.start()

    def ready(self) -> None:
        """Wait for the warm-up (:meth:`warm_up`): OfficeError unless LibreOffice answered
        with its Python and the add-in loaded."""
        self._wait_warm(wanted=False)
        if self._warm_error:
            raise OfficeError(self._warm_error)

    def _wait_warm(self, wanted: bool = True) -> None:
        """Wait for the warm-up; ``wanted``: a real request waits (see :attr:`_wanted`)."""
        warm = self._warm
        if warm is not None and warm is not threading.current_thread():
            if wanted:
                self._wanted.set()
            warm.join()
            self._warm = None

    def _connect(self) -> None:
        with self._lock:
            self._connect_locked()

    def _connect_locked(self) -> None:
        if self._desktop is not None:
            return
        if self.process is None and self._server is None:
            self.start()
        uno = self._uno = _import_uno()
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        deadline = time.monotonic() + self.start_timeout
        # A kept LibreOffice listens already: one that does not answer soon is given up.
        serving_deadline = time.monotonic() + SERVER_CONNECT_TIMEOUT
        while True:
            try:
                self._ctx = resolver.resolve(f"uno:pipe,name={self.pipe};urp;StarOffice.ComponentContext")
                break
            except Exception as exc:  # NoConnectException until soffice listens
                code = self._exit_code()
                if code is not None or (self._server is not None and time.monotonic() > serving_deadline):
                    if self._server is not None and not self._killed:
                        # The kept LibreOffice died or hangs: this batch starts its own.
                        if code is None:
                            self.kill()
                        self._release()  # and _killed reset
                        self.shared = False
                        self.start()
                        deadline = time.monotonic() + self.start_timeout
                        continue
                    if code < 0 and self._killed:
                        raise OfficeError("LibreOffice was stopped") from None
                    # A signal (soffice is a shell script: its child's death by one is 128 + it).
                    crashed = code < 0 or code > 128
                    if crashed and not self._retried and self._template is not None and self._server is None:
                        # Crashed on start-up (now and then, SIGABRT on a sound profile too),
                        # or the prepared profile is damaged. Once: throw it away, build it
                        # again, start again.
                        self._retried = True
                        extension.discard(self._template)
                        self._release()
                        self.start()
                        deadline = time.monotonic() + self.start_timeout
                        continue
                    how = f"signal {-code}" if code < 0 else f"code {code}"
                    raise OfficeStartError(f"LibreOffice exited during start-up ({how})") from None
                if time.monotonic() > deadline:
                    raise OfficeStartError(
                        f"LibreOffice did not start within {self.start_timeout:.0f} s: {getattr(exc, 'Message', exc)}"
                    ) from None
                time.sleep(0.02)
        self._desktop = self._ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", self._ctx)

    @property
    def work_dir(self) -> str | None:
        """A folder for this batch's temporary files, removed with LibreOffice's own."""
        if self._server is not None:
            return str(self._server.scratch)
        return str(self.profile_dir / "tmp") if self.profile_dir is not None else None

    def _exit_code(self) -> int | None:
        """soffice's exit status once it has ended, else None (a kept one's: -SIGKILL)."""
        if self._server is not None:
            return None if self._server.alive() else -signal.SIGKILL
        return self.process.poll() if self.process is not None else -signal.SIGKILL

    @property
    def kept(self) -> bool:
        """Whether the LibreOffice serving this batch is the kept one (``xlfuncs office start``)."""
        return self._server is not None

    def alive(self) -> bool:
        return (self.process is not None or self._server is not None) and self._exit_code() is None and not self._killed

    def kill(self) -> None:
        """Kill LibreOffice's whole process group now (stopped or hung processes too)."""
        self._killed = True
        group = self._server.pgid if self._server is not None else self.process.pid if self.process else None
        if group is not None:
            try:
                os.killpg(group, signal.SIGKILL)
            except OSError:
                pass

    def _stop_process(self) -> None:
        """Kill soffice's process group. Its profile and temporary files are ours, thrown
        away with their folder, so nothing is lost; a polite ``terminate`` cost 80 ms a run."""
        if self._server is not None:
            # Not ours to stop: it serves the next run (it was killed if it hung).
            self._desktop = self._ctx = self._reader = None
            self._killed = False
            return
        process = self.process
        if process is None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        self.process = None
        self._desktop = None
        self._ctx = None
        self._reader = None
        self._killed = False

    def stop(self, kill: bool = False) -> None:
        """End soffice and delete its folder; with ``kill``, without waiting for a warm-up.

        A kept LibreOffice (``xlfuncs office start``) is only let go: an interrupted batch
        does not end it for the next one (:meth:`kill` does, when it hangs).
        """
        if kill and self._server is None:
            self.kill()
        warm = self._warm
        if warm is not None and warm is not threading.current_thread():
            if not kill:
                warm.join(self.start_timeout)
            if warm.is_alive():
                self.kill()  # a warm-up still waiting on LibreOffice: end it
                warm.join(15)
            self._warm = None
        self._release()

    def _release(self) -> None:
        """End the process, delete its folder, dismiss its janitor (or let a kept one go)."""
        self._stop_process()
        claim, self._server = self._server, None
        if claim is not None:
            claim.release()
        _clean_up(self.profile_dir, self._sockets)  # sockets: left behind when LibreOffice was killed
        self.profile_dir = None
        janitor, self._janitor = self._janitor, None
        if janitor is not None:
            try:
                janitor.communicate(b"done", timeout=15)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                janitor.kill()
                janitor.wait()

    # ------------------------------------------------------------------ documents

    def _job(self, request: dict) -> dict:
        """One request, answered within :attr:`timeout` or LibreOffice is killed."""
        return self._answer(self._submit(request))

    def _submit(self, request: dict) -> Request:
        """Send a request from a helper thread; :meth:`_answer` waits for it.

        The calling (main) thread keeps running Python meanwhile (SIGTERM and SIGINT reach
        it there, not inside a UNO call), and may do other work before it waits.
        """
        pending = Request()

        def run():
            try:
                pending.answer = self._job_unguarded(request)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                pending.error = exc
            finally:
                pending.done.set()

        threading.Thread(target=run, name="xlfuncs-office-request", daemon=True).start()
        return pending

    def _answer(self, pending: Request) -> dict:
        """The answer to a submitted request: waits up to :attr:`timeout` from its start."""
        left = None if self.timeout is None else max(0.0, pending.started + self.timeout - time.monotonic())
        if not pending.done.wait(left):
            self.kill()
            pending.done.wait(30)
            raise OfficeTimeout(
                f"LibreOffice did not finish within {self.timeout:g} s (--timeout): stopped, restarted for the next file"
            )
        if pending.error is not None:
            raise pending.error
        return pending.answer

    def _job_unguarded(self, request: dict) -> dict:
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
            reply = self._reader.execute((argument,)).value
            # A request and its answer may be megabytes each (the cells of a sheet, their
            # values): one is let go before the next is decoded.
            del argument
            answer = marshal.loads(reply)
            del reply
        except Exception as exc:
            if self._killed:
                raise OfficeError("LibreOffice was stopped") from None
            if not self.alive():
                raise OfficeError(f"LibreOffice died: {getattr(exc, 'Message', exc)}") from None
            raise OfficeError(f"LibreOffice failed: {getattr(exc, 'Message', exc)}") from None
        if "error" in answer:
            raise OfficeError(answer["error"])
        return answer

    def function_names(self) -> set[str]:
        """Upper-case English names of every function this LibreOffice knows.

        Kept beside the prepared profile (whose folder is named after LibreOffice's
        version and everything else that goes into it): the first file of a batch need
        not wait for LibreOffice to be up before its copy is made.
        """
        if self._functions is None:
            saved = self._template / FUNCTION_LIST if self._template is not None else None
            try:
                self._functions = set(saved.read_text(encoding="utf-8").split()) if saved is not None else None
            except (OSError, UnicodeDecodeError):
                self._functions = None
            if not self._functions or not {"SUM", "IF", "VLOOKUP"} <= self._functions:  # damaged: ask again
                self._functions = {name.upper() for name in self._job({"op": "functions"})["functions"]}
                if saved is not None:
                    extension.write_atomically(saved, "\n".join(sorted(self._functions)))
        return self._functions

    def recalc(self, path: Path, wanted: dict[str, tuple], order: list[str] | None = None) -> dict[str, Values]:
        """Load ``path`` (recalculating it) and read the values of the wanted cells.

        Parameters
        ----------
        path : Path
            The workbook LibreOffice loads (the normalised copy).
        wanted : dict
            Sheet name -> (rows, columns) of the cells to read, two sequences of ints.
        order : list of str, optional
            Every sheet name of the workbook in order: a sheet LibreOffice renamed on
            load (a name it cannot hold) is then found by its position.

        Returns
        -------
        dict
            Sheet name -> :class:`Values`, aligned with ``wanted``.
        """
        return self.values(self.load(path), wanted, order)

    def load(self, path: Path) -> Request:
        """Start loading (and recalculating) ``path``; :meth:`values` reads it, or
        :meth:`discard` closes it. The caller works on while LibreOffice loads."""
        return self._submit({"op": "load", "url": Path(path).resolve().as_uri()})

    def discard(self, loading: Request) -> None:
        """Close a workbook :meth:`load` opened, whose values are not wanted after all."""
        try:
            token = self._answer(loading)["token"]
            self._job({"op": "close", "token": token})
        except OfficeError:
            pass  # LibreOffice failed or was stopped: nothing left open to close

    def values(self, loading: Request, wanted: dict[str, tuple], order: list[str] | None = None) -> dict[str, Values]:
        """The values of the wanted cells of a workbook :meth:`load` opened (see :meth:`recalc`)."""
        token = self._answer(loading)["token"]
        # 32-bit, as the formula table keeps them (Excel's rows and columns fit): the table's
        # own columns go as they are (marshal writes an array as its bytes), with no copy.
        request = {name: (_int32(rows), _int32(cols)) for name, (rows, cols) in wanted.items()}
        answer = self._job({"op": "read", "token": token, "sheets": request, "order": order or []})["values"]
        out = {}
        for name, (rows, _) in wanted.items():
            if name not in answer:
                out[name] = Values.missing(len(rows))
                continue
            number_bytes, others = answer.pop(name)
            numbers = memoryview(number_bytes).cast("d")  # read where they came: no copy
            codes = {}
            for i, value in others.items():
                if isinstance(value, tuple):
                    others[i] = excel_error(value[0])
                    codes[i] = int(value[0])
            out[name] = Values(numbers, others, codes)
        return out


def _int32(numbers) -> array:
    return numbers if isinstance(numbers, array) and numbers.typecode == "i" else array("i", numbers)


class Values:
    """LibreOffice's values of the wanted cells of one sheet, aligned with them.

    ``numbers[i]`` is cell ``i``'s number (an array of doubles, or a view of the bytes
    they came in) unless ``others`` holds its value (a str, bool, ExcelError, or None:
    unknown); ``codes`` holds LibreOffice's FormulaError code of each error cell.
    """

    __slots__ = ("numbers", "others", "codes")

    def __init__(self, numbers: array | memoryview, others: dict, codes: dict[int, int]):
        self.numbers, self.others, self.codes = numbers, others, codes

    @classmethod
    def missing(cls, count: int) -> Values:
        return cls(array("d", bytes(8 * count)), dict.fromkeys(range(count)), {})

    def __len__(self) -> int:
        return len(self.numbers)

    def value(self, i: int):
        others = self.others
        return others[i] if i in others else self.numbers[i]

    def code(self, i: int) -> int:
        return self.codes.get(i, 0)


class Request:
    """A request to LibreOffice on its way (see :meth:`Office._submit`)."""

    __slots__ = ("answer", "error", "done", "started")

    def __init__(self):
        self.answer: dict | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.started = time.monotonic()


def _warm_workbook(folder: Path) -> Path:
    """A one-sheet xlsx with a number and a formula (:meth:`Office.warm_up`), in ``folder``."""
    import zipfile  # noqa: PLC0415 - in the warm-up thread, not before soffice starts

    ns = 'xmlns="http://schemas.openxmlformats.org/'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    sheet = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    parts = {
        "[Content_Types].xml": f'<Types {ns}package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{sheet}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{sheet}.worksheet+xml"/></Types>',
        "_rels/.rels": f'<Relationships {ns}package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook {ns}spreadsheetml/2006/main" xmlns:r="{rel}">'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships {ns}package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<worksheet {ns}spreadsheetml/2006/main"><sheetData><row r="1">'
        '<c r="A1"><v>2</v></c><c r="B1"><f>SUM(A1)*2</f><v>0</v></c></row></sheetData></worksheet>',
    }
    path = folder / "xlfuncs-warm-up.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as out:
        for name, text in parts.items():
            out.writestr(name, text)
    return path


# ---------------------------------------------------------------------- an early start

_early: Office | None = None


def start_early(threaded: bool) -> None:
    """Start LibreOffice now, for the batch about to be parsed and prepared.

    ``xlfuncs recalc`` calls this before it imports the rest of xlfuncs, its command line
    and numpy: LibreOffice takes about a second to come up, and a one-file run would wait
    for it after those imports otherwise. The batch adopts it (:func:`adopt_early`); one
    it does not suit is stopped. Failing here is silent: the batch's own start reports.
    """
    global _early
    if _early is not None:
        return
    office = Office(threaded=threaded)
    try:
        office.start()
    except OfficeError:
        return
    _early = office
    atexit.register(stop_early)


def adopt_early(threaded: bool, timeout: float | None) -> Office | None:
    """The LibreOffice :func:`start_early` started, when it suits the batch (else stopped)."""
    global _early
    office, _early = _early, None
    if office is None:
        return None
    if office.threaded != threaded or not office.alive():
        office.stop(kill=True)
        return None
    office.timeout = timeout or None
    return office


def stop_early() -> None:
    """Stop an early LibreOffice that no batch adopted (before forking workers, at exit)."""
    global _early
    office, _early = _early, None
    if office is not None:
        office.stop(kill=True)
