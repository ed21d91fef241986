"""`wmidoctor collect [--out PATH]`: run collect/Collect-WmiDoctor.ps1 on this Windows host.

A thin adapter: the script does the collecting (the same script admins run by hand where Python is
absent), so there is one collector and one bundle format.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from wmidoctor.errors import InputError

SCRIPT_NAME = "Collect-WmiDoctor.ps1"


def collector_script() -> Path:
    """The collector beside the source tree (a checkout) or shipped in the package data."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[3] / "collect" / SCRIPT_NAME, here.parents[1] / "collect" / SCRIPT_NAME):
        if candidate.is_file():
            return candidate
    raise InputError(f"{SCRIPT_NAME} not found beside wmidoctor (looked in collect/ of the source tree)")


def default_out() -> Path:
    return Path.cwd() / f"wmidoctor-bundle-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}"


def run_collector(out: Path, shadow_copy: bool = False, zip_bundle: bool = True) -> int:
    """Run the collector into the folder `out` (and `out`.zip unless told not to); return its exit code."""
    command = [
        "powershell.exe",
        "-NoProfile",
        "-ExecutionPolicy",
        "Bypass",
        "-File",
        str(collector_script()),
        "-OutputPath",
        str(out),
    ]
    if shadow_copy:
        command.append("-ShadowCopy")
    if not zip_bundle:
        command.append("-NoZip")
    try:
        return subprocess.run(command, check=False).returncode
    except FileNotFoundError:
        raise InputError("powershell.exe not found: the collector needs Windows PowerShell 5.1") from None


@click.command(name="collect")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Bundle folder to create (a .zip of it is written beside). Default: ./wmidoctor-bundle-<UTC time>.",
)
@click.option(
    "--shadow-copy",
    is_flag=True,
    help="Also copy the repository through a volume shadow copy (needs an elevated prompt).",
)
def command(out: Path | None, shadow_copy: bool) -> None:
    """Collect this host's WMI evidence into a bundle (Windows only; read-only on the host)."""
    if sys.platform != "win32":
        raise InputError(
            "collect runs on Windows only; on this system, diagnose a bundle made on the host with "
            f"collect/{SCRIPT_NAME}"
        )
    target = out or default_out()
    code = run_collector(target, shadow_copy)
    if code != 0:
        raise InputError(f"the collector failed with exit code {code}; see its messages above")
    click.echo(f"bundle: {target} (and {target}.zip); next: wmidoctor diagnose {target}")
