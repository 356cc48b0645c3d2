"""The ``xlfuncs`` command line: ``functions``, ``generate`` and ``recalc``.

The CLI is the top layer: it may import every other module, and nothing imports it.
"""

from __future__ import annotations

import json

import typer

from . import registry

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode="markdown",  # docstring paragraphs reflow to the terminal width
    help="Unit economics of a subscription business as Excel functions.",
)


@app.callback()
def _group() -> None:
    """Unit economics of a subscription business as Excel functions."""


@app.command("functions")
def functions_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List every function: name, signature and one-line description."""
    rows = [
        {
            "name": fn.name,
            "signature": fn.signature,
            "kind": fn.kind,
            "description": fn.description,
            "arguments": [
                {"name": a.name, "doc": a.doc, "optional": a.optional, "default": a.default_doc or None}
                for a in fn.args
            ],
        }
        for fn in registry.FUNCTIONS.values()
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    width = max(len(row["signature"]) for row in rows)
    for row in rows:
        typer.echo(f"{row['signature']:<{width}}  {row['description']}")


from .recalc.cli import recalc_command  # noqa: E402 - the recalc engine's command

app.command("recalc")(recalc_command)

from .templates.cli import generate_command  # noqa: E402 - the template generator's command

app.command("generate")(generate_command)


def main() -> None:  # console-script entry point
    app()
