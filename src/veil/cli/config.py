"""``veil config``: the effective settings, where each comes from, and why it is there."""

from __future__ import annotations

import json
import os
from typing import Any

import typer
from rich.markup import escape

from veil.cli.output import handles_errors, table_console


def _env_name(prefix: str, field: str) -> str:
    return f"{prefix}{field.upper()}"


def _rows(settings: Any) -> list[tuple[str, str, object, str, bool]]:
    """(setting, environment variable, value, why, set in the environment)."""
    from pydantic_settings import BaseSettings

    from veil.signals import all_types

    rows: list[tuple[str, str, object, str, bool]] = []

    def walk(obj: BaseSettings, label: str) -> None:
        prefix = str(obj.model_config.get("env_prefix", ""))
        for name, info in type(obj).model_fields.items():
            value = getattr(obj, name)
            if isinstance(value, BaseSettings):
                walk(value, f"{label}{name}.")
                continue
            env = _env_name(prefix, name)
            if name == "thresholds":
                value = {t.name: settings.threshold(t) for t in all_types()}
            elif name == "min_quality":
                value = {t.name: q for t in all_types()
                         if (q := settings.quality_floor(t)) is not None}
            elif name == "helplines":
                value = [h.model_dump(mode="json", exclude_none=True) for h in value]
            rows.append((label + name, env, value, info.description or "",
                         env in os.environ or any(k.startswith(env + "__") for k in os.environ)))

    walk(settings, "")
    return rows


def _shown(value: object) -> str:
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str)
    return str(value)


@handles_errors
def config_command(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per setting."),
) -> None:
    """Show every setting: its effective value, its environment variable, and why it
    exists. Values set in the environment are marked."""
    from rich.table import Table

    from veil.config import load_settings
    from veil.signals import check_settings

    settings = load_settings()
    check_settings(settings)
    rows = _rows(settings)
    if as_json:
        for name, env, value, why, from_env in rows:
            print(json.dumps({"setting": name, "env": env, "value": value,
                              "from_environment": from_env, "description": why},
                             default=str))
        return
    table = Table("setting", "value", "environment variable", "why", show_lines=False)
    table.columns[1].overflow = "fold"
    for name, env, value, why, from_env in rows:
        table.add_row(name, escape(_shown(value)) + (" [bold](set)[/]" if from_env else ""),
                      env, escape(why))
    table_console().print(table)
