"""Windows paths from the registry, resolved against the root of a mounted system volume.

The registry spells files as the host sees them: `%SystemRoot%\\system32\\wbem\\cimwin32.mof`,
`"C:\\Program Files\\Vendor\\agent.exe" -Embedding`, or a bare `wbemprox.dll`. On a mounted volume the
same file is `Windows/system32/wbem/cimwin32.mof` under the mount point (looked up case-insensitively by
sources.layout.find). Variables expand as on a default installation with Windows on C:.
"""

from __future__ import annotations

import re

# Environment variables that name folders of the system volume, as a default installation sets them.
VOLUME_FOLDERS = {
    "systemroot": "Windows",
    "windir": "Windows",
    "systemdrive": "",
    "programfiles": "Program Files",
    "programw6432": "Program Files",
    "programfiles(x86)": "Program Files (x86)",
    "commonprogramfiles": "Program Files/Common Files",
    "commonprogramw6432": "Program Files/Common Files",
    "commonprogramfiles(x86)": "Program Files (x86)/Common Files",
    "programdata": "ProgramData",
}
VARIABLE = re.compile(r"^%([^%]+)%(?:\\|$)")
SYSTEM_DRIVE = re.compile(r"^(?:\\\\\?\\)?c:\\", re.I)
NT_SYSTEMROOT = re.compile(r"^\\systemroot\\", re.I)
SHORT_NAME = re.compile(r"~\d")  # 8.3 names (PROGRA~1) cannot be matched against long names on the volume
PROGRAM = re.compile(r"^(.+?\.(?:exe|dll|ocx|cpl))(?=\s|$)", re.I)


def volume_relative(windows_path: str) -> str | None:
    """`%windir%\\system32\\wbem\\cimwin32.mof` -> `Windows/system32/wbem/cimwin32.mof`; None for a path
    that is not on the system volume (another drive, a share, an unknown variable, an 8.3 short name)."""
    path = windows_path.strip().strip('"')
    variable = VARIABLE.match(path)
    if variable:
        folder = VOLUME_FOLDERS.get(variable.group(1).lower())
        if folder is None:
            return None
        rest = path[variable.end() :]
        relative = "/".join(part for part in (folder, rest.replace("\\", "/")) if part)
    elif SYSTEM_DRIVE.match(path):
        relative = SYSTEM_DRIVE.sub("", path).replace("\\", "/")
    elif NT_SYSTEMROOT.match(path):
        relative = "Windows/" + NT_SYSTEMROOT.sub("", path).replace("\\", "/")
    else:
        return None
    if not relative or SHORT_NAME.search(relative):
        return None
    return relative


def server_file(command: str) -> str:
    """The file a COM server registration (InprocServer32 / LocalServer32) names: quotes and command-line
    arguments removed (`"C:\\A B\\x.exe" -Embedding` -> `C:\\A B\\x.exe`)."""
    text = command.strip()
    if text.startswith('"'):
        return text[1:].split('"', 1)[0]
    program = PROGRAM.match(text)
    return program.group(1) if program else text


def server_relative(command: str) -> str | None:
    """Where a COM server's file lies on the volume; a bare file name is taken from System32 (where COM's
    search finds the servers registered without a folder)."""
    file = server_file(command)
    if file and "\\" not in file and "/" not in file:
        return None if SHORT_NAME.search(file) else f"Windows/System32/{file}"
    return volume_relative(file)
