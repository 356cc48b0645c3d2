"""The ``xlfuncs`` command line: ``functions``, ``generate`` and ``recalc``.

The CLI is the top layer: it may import every other module, and nothing imports it. Its
dependencies (typer, rich, openpyxl, defusedxml) are the ``cli`` extra: ``import xlfuncs``
and the xlwings functions do without them.
"""

from __future__ import annotations

import json

import typer

from . import __version__, docs, registry


def _plain_help_types() -> None:
    """Help that names values as users know them (FILE, N, a flag shows nothing).

    Recent typer versions print Python annotations in the help (``<bool>`` after a flag,
    ``<list[Path]>``, ``{files}...`` in the usage line). Where those methods exist they are
    replaced: a parameter's metavar when it has one, nothing for a flag, click's type name
    (``INTEGER``, ``PATH``) otherwise. Older typer versions already print this.
    """
    core = getattr(typer, "core", None)
    base = getattr(core, "_TyperParameter", None)
    argument = getattr(core, "TyperArgument", None)
    if base is None or argument is None or not hasattr(base, "display_type"):
        return

    def display_type(self, ctx):
        if self.metavar is not None:
            return self.metavar
        if getattr(self, "is_flag", False) or getattr(self, "count", False):
            return None
        return self.type.name.upper()

    def argument_type(self, ctx):
        return None  # the name column already shows the argument's metavar

    def usage_name(self):
        name = self.metavar or self.name.upper()
        if self.nargs != 1 and not name.endswith("..."):
            name += "..."
        return name if self.required else f"[{name}]"

    base.display_type = display_type
    argument.display_type_rich = argument_type
    if hasattr(argument, "_usage_display_name"):
        argument._usage_display_name = usage_name


_plain_help_types()

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode="markdown",  # docstring paragraphs reflow to the terminal width
    help="Unit economics of a subscription business as Excel functions.",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"xlfuncs {__version__}")
        raise typer.Exit()


@app.callback()
def _group(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Unit economics of a subscription business as Excel functions."""


@app.command("functions")
def functions_command(
    name: str | None = typer.Argument(
        None, metavar="NAME", help="One function (e.g. CLV): its full reference, as in the README.", show_default=False
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List every function (name, signature, one line), or show one function's reference."""
    if name is not None and not as_json:
        try:
            typer.echo(docs.render_function(name), nl=False)
        except KeyError:
            typer.echo(f"error: no function {name!r} (xlfuncs functions lists them)", err=True)
            raise typer.Exit(2) from None
        return
    chosen = list(registry.FUNCTIONS.values())
    if name is not None:
        chosen = [fn for fn in chosen if fn.name == name.upper()]
        if not chosen:
            typer.echo(f"error: no function {name!r} (xlfuncs functions lists them)", err=True)
            raise typer.Exit(2)
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
        for fn in chosen
    ]
    if as_json:
        typer.echo(json.dumps(rows if name is None else rows[0], indent=2))
        return
    width = max(len(row["signature"]) for row in rows)
    for row in rows:
        typer.echo(f"{row['signature']:<{width}}  {row['description']}")


from .recalc.cli import office_app, recalc_command  # noqa: E402 - the recalc engine's commands

app.command("recalc")(recalc_command)
app.add_typer(office_app, name="office")

from .templates.cli import generate_command  # noqa: E402 - the template generator's command

app.command("generate")(generate_command)


def main() -> None:  # console-script entry point
    app()
