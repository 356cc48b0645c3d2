"""Inside soffice: import the add-in on a thread of its own while LibreOffice starts.

LibreOffice runs this job on its start-up event (``OnStartApp``, bound in the profile by
:mod:`xlfuncs.recalc.extension`) on its main thread, about a third of the way through a
one-second start, before it listens for the client. The job returns at once and imports
:mod:`xlfuncs.recalc.addin` (numpy, the registry: about 0.12 s) on another thread, so the
import runs on the idle core while LibreOffice finishes starting, not after it, when the
client's first request would create the add-in. LibreOffice's component loader imports
the add-in by name (``__import__``): it finds the module imported here, or waits for the
import under way. A failed import here is silent: the loader imports again and reports.

This module imports nothing heavy itself: whatever it imports, the main thread waits for.
"""

from __future__ import annotations

import os
import threading

from .lonames import WARM_UP_IMPLEMENTATION_NAME, WARM_UP_SERVICE_NAME


def _import_addin() -> None:
    try:
        from . import addin  # noqa: F401, PLC0415 - the import is the point
    except Exception:  # noqa: BLE001 - reported by the loader's own import
        pass


def _build():
    """Create the UNO component class (only possible inside soffice)."""
    import unohelper  # noqa: PLC0415 - exists only in LibreOffice's Python
    from com.sun.star.lang import XServiceInfo  # noqa: PLC0415
    from com.sun.star.task import XJob  # noqa: PLC0415

    class WarmUp(unohelper.Base, XJob, XServiceInfo):
        def __init__(self, ctx=None):
            self.ctx = ctx

        def execute(self, arguments):
            threading.Thread(target=_import_addin, name="xlfuncs-import", daemon=True).start()

        def getImplementationName(self):
            return WARM_UP_IMPLEMENTATION_NAME

        def supportsService(self, name):
            return name == WARM_UP_SERVICE_NAME

        def getSupportedServiceNames(self):
            return (WARM_UP_SERVICE_NAME,)

    helper = unohelper.ImplementationHelper()
    helper.addImplementation(WarmUp, WARM_UP_IMPLEMENTATION_NAME, (WARM_UP_SERVICE_NAME,))
    return helper


# LibreOffice's Python loader looks this name up in the module's __dict__.
g_ImplementationHelper = _build() if os.environ.get("XLFUNCS_RECALC_ADDIN") else None
