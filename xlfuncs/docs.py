"""The README's function reference, rendered from the registry.

``python -m xlfuncs.docs README.md`` rewrites the part of the README between the
``<!-- functions:start -->`` and ``<!-- functions:end -->`` markers; a test fails when the
README is stale.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from . import registry

START = "<!-- functions:start -->"
END = "<!-- functions:end -->"


def _cell(value) -> str:
    return value if isinstance(value, str) else f"{value:.10g}" if isinstance(value, float) else repr(value)


def render_reference() -> str:
    """Markdown for every function: signature, kind, arguments, notes and examples."""
    out = [START, "", "| function | kind | what it returns |", "|---|---|---|"]
    for fn in registry.FUNCTIONS.values():
        description = fn.description.replace("|", "\\|")  # a bare | would split the cell
        out.append(f"| [`{fn.signature}`](#{fn.name.lower()}) | {fn.kind} | {description} |")
    for fn in registry.FUNCTIONS.values():
        out += ["", f"### {fn.name}", ""] + _function_lines(fn)
    out += ["", END]
    return "\n".join(out)


def _function_lines(fn: registry.Function) -> list[str]:
    out = [f"`{fn.signature}` — {fn.kind}. {fn.description}", ""]
    for arg in fn.args:
        default = f" Default: {arg.default_doc}." if arg.optional else ""
        out.append(f"- `{arg.name}`{' (optional)' if arg.optional else ''}: {arg.doc}{default}")
    out += ["", fn.notes, ""]
    if fn.has_native:
        args = [chr(ord("A") + i) + "2" for i in range(len(fn.args))]
        out += [f"Native twin of `={fn.name}({', '.join(args)})`: `={fn.native(*args)}`", ""]
        if fn.native_differs:
            out += [f"The native twin differs from {fn.name}: {fn.native_differs}.", ""]
    if fn.native_note:
        out += [f"In a native edition: {fn.native_note}.", ""]
    out += ["| formula | result |", "|---|---|"]
    for formula, expected in fn.examples:
        shown = "<br>".join(str(row) for row in expected) if isinstance(expected, list) else _cell(expected)
        out.append(f"| `{formula}` | {shown} |")
    return out


def render_function(name: str) -> str:
    """One function's reference, as its section of the README has it (``xlfuncs functions CLV``).

    Raises KeyError for a name that is no function (case does not matter).
    """
    fn = registry.FUNCTIONS[name.upper()]
    return "\n".join([f"### {fn.name}", ""] + _function_lines(fn)) + "\n"


def update_readme(path: Path) -> bool:
    """Rewrite the reference section of ``path``; True when it changed."""
    text = path.read_text(encoding="utf-8")
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    new = head + render_reference() + tail
    if new == text:
        return False
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, encoding="utf-8") as tmp:
        tmp.write(new)
    os.replace(tmp.name, path)
    return True


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    print(f"{target}: {'updated' if update_readme(target) else 'up to date'}")
