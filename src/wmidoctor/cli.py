"""The `wmidoctor` command line: one click group whose verbs are imported only when used.

Each verb lives in `wmidoctor.commands.<module>` as a click command (or group) named `command`,
so `wmidoctor explain` never pays for the libraries that `logs` or `probe` need.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from wmidoctor import __version__
from wmidoctor.errors import InputError

# verb -> (module under wmidoctor.commands, one-line help shown by `wmidoctor --help`)
VERBS: dict[str, tuple[str, str]] = {
    "explain": ("explain", "Decode a WMI, COM/DCOM, RPC, Win32 or NTSTATUS code: meaning, causes, fixes."),
    "probe": ("probe", "Test remote WMI on a host stage by stage (DCOM and WS-Man) from any OS."),
    "pcap": ("pcap", "Diagnose remote WMI attempts (DCOM, WS-Man) from a packet capture."),
    "fleet": ("fleet", "Diagnose many hosts' evidence; show or compare stored fleet runs."),
    "diagnose": ("diagnose", "Diagnose a host from a bundle, zip or mounted volume (or live on Windows)."),
    "collect": ("collect", "Run the evidence collector on this Windows host (Windows only)."),
    "bundle": ("bundle", "Inspect what an evidence bundle holds."),
    "logs": ("logs", "Analyse WMI, DCOM and service event logs (.evtx, XML or JSON-lines exports)."),
    "repo": ("repo", "Read and verify an offline WMI (CIM) repository."),
    "registry": ("registry", "Show the WMI-relevant registry picture from hives or .reg exports."),
    "mof": ("mof", "Parse and lint provider MOF files."),
    "trace": ("trace", "Who keeps WMI busy: analyse a WMI-Activity trace (.evtx, XML or .etl)."),
}

# Exit code for a bug in wmidoctor itself (not the user's input): distinct from 0/1/2.
INTERNAL_ERROR = 3


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(VERBS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in VERBS:
            return None
        module = importlib.import_module(f"wmidoctor.commands.{VERBS[name][0]}")
        return module.command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, short) in VERBS.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wmidoctor")
def cli() -> None:
    """Find out why WMI fails and how to fix it.

    Exit codes: 0 nothing at warning or above, 1 problems found, 2 usage or input error.
    """


def _fail(message: str, code: int) -> None:
    click.echo(f"wmidoctor: error: {message}", err=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; bad input ends with one line on stderr and exit code 2, never a traceback."""
    from wmidoctor.output import guard_streams

    guard_streams()
    try:
        code = cli.main(args=argv, prog_name="wmidoctor", standalone_mode=False)
    except click.exceptions.Abort:
        _fail("aborted", 2)
    except click.exceptions.UsageError as exc:
        hint = f" (try '{exc.ctx.command_path} --help')" if exc.ctx else ""
        _fail(f"{exc.format_message()}{hint}", 2)
    except click.exceptions.ClickException as exc:
        _fail(exc.format_message(), 2)
    except InputError as exc:
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not an error worth a message.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except OSError as exc:
        _fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc), 2)
    except Exception as exc:  # a bug in wmidoctor: one line unless the user asks for the traceback
        if os.environ.get("WMIDOCTOR_DEBUG"):
            raise
        _fail(f"internal error: {type(exc).__name__}: {exc} (set WMIDOCTOR_DEBUG=1 for the traceback)", INTERNAL_ERROR)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
