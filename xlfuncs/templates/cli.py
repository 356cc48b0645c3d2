"""``xlfuncs generate``: the command-line face of :func:`xlfuncs.templates.generate`.

Registered by :mod:`xlfuncs.cli` with ``app.command("generate")(generate_command)``.
Every failure the user can cause (unknown template or language, bad scenario, existing
output, unwritable folder) ends as one line on stderr and exit code 2; nothing is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .i18n import CURRENCIES, LANGUAGES

EXIT_BAD_INPUT = 2


def _fail(message: str) -> None:
    # One line per problem (a bad export lists each bad row on its own line).
    for line in message.splitlines() or [message]:
        typer.echo(f"error: {line}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def generate_command(
    template: Annotated[
        str | None,
        typer.Argument(metavar="TEMPLATE", help="Template name (see --list).", show_default=False),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            metavar="FILE",
            help="The .xlsx file to write; an .xlsm name gives a macro-enabled workbook (the classic add-in's"
            " Import Functions saves its VBA there).",
        ),
    ] = None,
    scenario: Annotated[
        Path | None,
        typer.Option(
            "--scenario",
            metavar="FILE.toml",
            help="Your numbers; the built-in default if omitted. --print-scenario writes the documented default"
            " to start from.",
        ),
    ] = None,
    lang: Annotated[
        str, typer.Option("--lang", metavar="en|es", help="Language of sheet names, labels and help.")
    ] = "en",
    native: Annotated[
        bool,
        typer.Option(
            "--native",
            metavar="",
            help="Built-in formulas only: works without the add-in (LibreOffice, Google Sheets).",
        ),
    ] = False,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            metavar="FILE",
            help="revenue-report: the billing export (.csv or .xlsx, one row per subscription); "
            "a built-in sample when omitted.",
        ),
    ] = None,
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            metavar="FIELD=COLUMN",
            help='revenue-report: name the export\'s columns, e.g. customer="Customer ID",start=Created. '
            "Fields: customer, start, end, amount, interval, interval_count, plan, segment.",
        ),
    ] = None,
    date_format: Annotated[
        str | None,
        typer.Option(
            "--date-format",
            metavar="FORMAT",
            help="revenue-report: how the export writes dates, e.g. %d/%m/%Y (default: ISO).",
        ),
    ] = None,
    cac_spend: Annotated[
        Path | None,
        typer.Option(
            "--cac-spend",
            metavar="FILE",
            help="revenue-report: sales and marketing spend per month (.csv or .xlsx with month and spend columns).",
        ),
    ] = None,
    currency: Annotated[
        str | None,
        typer.Option(
            "--currency",
            metavar="CODE",
            help=f"Currency of the amounts: symbol and number formats ({', '.join(list(CURRENCIES)[:6])}, ...);"
            " overrides the scenario's.",
            show_default=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
    print_scenario: Annotated[
        bool,
        typer.Option("--print-scenario", help="Write the template's default scenario (TOML) to stdout and exit."),
    ] = False,
    list_templates: Annotated[bool, typer.Option("--list", help="List the templates and exit.")] = False,
) -> None:
    """Generate a ready-to-use workbook from a template, with cached values."""
    # Imported here: openpyxl and the templates cost every other command 0.15 s.
    from .billing_export import ExportError, parse_map  # noqa: PLC0415
    from .generate import TEMPLATES, GenerateError, default_scenario_text, generate  # noqa: PLC0415
    from .revenue_report import ReportOptions  # noqa: PLC0415

    if list_templates:
        width = max(len(name) for name in TEMPLATES)
        for name, spec in TEMPLATES.items():
            typer.echo(f"{name:<{width}}  {spec.description}")
        return
    if template is None:
        _fail("give a TEMPLATE (xlfuncs generate --list shows them)")
    if print_scenario:
        try:
            typer.echo(default_scenario_text(template), nl=False)
        except GenerateError as exc:
            _fail(str(exc))
        return
    if output is None:
        _fail("give the file to write with -o FILE")
    if lang not in LANGUAGES:
        _fail(f"--lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    report = None
    if any(x is not None for x in (data, mapping, date_format, cac_spend)) or template == "revenue-report":
        try:
            fields = parse_map(mapping or [])
        except ExportError as exc:
            _fail(str(exc))
        report = ReportOptions(
            data=data,
            mapping=tuple(fields.items()),
            date_format=date_format,
            cac_spend=cac_spend,
            progress=None,  # a progress bar on a terminal only
        )
    try:
        made = generate(
            template,
            output,
            scenario=scenario,
            lang=lang,
            native=native,
            force=force,
            currency=currency,
            report=report,
        )
    except GenerateError as exc:
        _fail(str(exc))
    except OSError as exc:
        # A folder we may not write into, a full disk: the system's words, on one line.
        _fail(f"{output}: cannot write it ({exc.strerror or exc})")
    edition = "native" if made.native else "xlfuncs add-in"
    typer.echo(
        f"wrote {made.path} ({made.template}, {made.lang}, {edition} edition, "
        f"{made.formula_cells} formula cells, {made.total_seconds:.2f} s)"
    )
