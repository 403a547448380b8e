"""Placeholder: this command is not implemented yet."""

import typer


def register(app: typer.Typer) -> None:
    return None
