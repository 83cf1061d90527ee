"""Progress output: one line per step, streamed command output, timings."""

from __future__ import annotations

import time

from rich.console import Console

console = Console(stderr=False, highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def step(text: str) -> None:
    console.print(f"[bold cyan]==>[/] {text}")


def info(text: str) -> None:
    console.print(f"    {text}", markup=False)


def done(text: str, started: float) -> None:
    console.print(f"    [green]done[/] {text} ({time.monotonic() - started:.1f}s)")


def skipped(text: str) -> None:
    console.print(f"    [dim]unchanged[/] {text}")


def error(text: str) -> None:
    err_console.print(f"[bold red]error:[/] {text}", markup=True)
