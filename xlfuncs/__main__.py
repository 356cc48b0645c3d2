"""``python -m xlfuncs`` and the ``xlfuncs`` console script."""

from __future__ import annotations

import sys

_CLI_EXTRA = ("typer", "rich", "click", "openpyxl", "defusedxml", "tomli")


def main() -> None:
    try:
        from .cli import main as run  # noqa: PLC0415 - the CLI's dependencies are an extra
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in _CLI_EXTRA:
            raise
        print(
            "xlfuncs: the command line needs its extra: pip install 'xlfuncs[cli]' (scripts/install.sh installs it)",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    run()


if __name__ == "__main__":
    main()
