"""The ``finegate`` command line.

Only click is imported at startup; each command imports what it needs when it
runs, so ``finegate --help`` stays fast. Packages above harness (gates, train,
reports) add their subcommands through the ``finegate.commands`` entry point
group: harness never imports them.

Exit codes: 0 success, 1 a check failed (gates), 2 bad input or an error the
user can fix, with one line per problem naming file, line and field.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import click

EXIT_BAD_INPUT = 2


class _Group(click.Group):
    """Adds the plugin commands of the ``finegate.commands`` entry point group."""

    def _plugins(self) -> dict[str, Any]:
        return {ep.name: ep for ep in entry_points(group="finegate.commands")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._plugins()))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self._plugins():
            command = self._plugins()[cmd_name].load()
        return command

    def invoke(self, ctx: click.Context) -> Any:
        from finegate.harness.core import CapabilityError, FinegateError, InputError, StoreError

        try:
            return super().invoke(ctx)
        except (InputError, StoreError, CapabilityError) as e:
            for line in str(e).splitlines():
                click.echo(f"finegate: error: {line}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except FinegateError as e:
            click.echo(f"finegate: error: {e}", err=True)
            ctx.exit(EXIT_BAD_INPUT)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="finegate")
def cli() -> None:
    """finegate: evaluate fine-tuned LLMs, gate them in CI, and govern their release."""


def _add_harness_commands() -> None:
    """The harness's own commands; packages above harness use the entry point."""
    from finegate.harness.cli import (
        _assets,
        _catalog,
        _eval,
        _governance,
        _pii,
        _privacy,
        _review,
        _serve,
        _trust,
    )

    modules = (
        _eval,
        _catalog,
        _governance,
        _trust,
        _assets,
        _serve,
        _pii,
        _privacy,
        _review,
    )
    for module in modules:
        for command in module.COMMANDS:
            cli.add_command(command)


_add_harness_commands()


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="finegate")
