"""The words of the functions that answer with a label (HEALTH_STATUS, SEGMENT).

Their metrics return an index into these; the registry describes them, and the template
workbooks show them: all three import them from here, a module without numpy, so that the
registry loads without the metrics (see :class:`xlfuncs.registry.Function`).
"""

HEALTH_LABELS = ("red", "yellow", "green")
SEGMENT_LABELS = ("VIP", "potential", "core", "non-core")
