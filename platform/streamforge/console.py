"""Progress output: one line per step, streamed command output, timings.

Text passed in is printed literally: only the fixed prefixes are styled. Messages carry
user input (regexes like `[a-z0-9]`, values like `[/x]`) that rich would otherwise read as
markup, dropping or mangling it, or raising MarkupError.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.text import Text

console = Console(stderr=False, highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def _line(prefix: str, style: str, text: str) -> Text:
    return Text.assemble((prefix, style), text)


def step(text: str) -> None:
    console.print(_line("==> ", "bold cyan", text))


def info(text: str) -> None:
    console.print(f"    {text}", markup=False)


def done(text: str, started: float) -> None:
    console.print(_line("    done ", "green", f"{text} ({time.monotonic() - started:.1f}s)"))


def skipped(text: str) -> None:
    console.print(_line("    unchanged ", "dim", text))


def mark(label: str, style: str, text: str) -> None:
    """One check line: a styled label (`ok`, `FAIL`, `warn`), then `text` literally."""
    console.print(_line(label, style, text))


def error(text: str) -> None:
    err_console.print(_line("error: ", "bold red", text))
