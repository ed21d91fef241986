"""Who the probe authenticates as. Secrets live only in memory: never printed, logged or stored."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from wmidoctor.errors import InputError


@dataclass
class Credentials:
    user: str = ""
    domain: str = ""
    password: str = field(default="", repr=False)
    lmhash: str = field(default="", repr=False)
    nthash: str = field(default="", repr=False)
    kerberos: bool = False
    realm: str = ""  # Kerberos realm, when it differs from the domain given with the account
    _ntlm_keys: tuple[str, str] | None = field(default=None, init=False, repr=False, compare=False)

    def ntlm_secret(self) -> tuple[str, str, str]:
        """(password, LM hash, NT hash) to hand to impacket for NTLM: the NT hash derived once.

        NTLMv2 needs only the NT hash of the password. Given the password, impacket derives it anew
        (MD4) and also computes NTLMv1 LM and NT responses (DES) that it then discards, on every
        handshake; a fleet run does several handshakes per host, so the hash is derived here once and
        passed instead. The bytes on the wire are the same.
        """
        if self.lmhash or self.nthash or not self.password:
            return self.password, self.lmhash, self.nthash
        if self._ntlm_keys is None:
            from impacket.ntlm import compute_nthash

            self._ntlm_keys = ("", compute_nthash(self.password).hex())
        return "", *self._ntlm_keys

    @property
    def kerberos_realm(self) -> str:
        return (self.realm or self.domain).upper()

    @property
    def anonymous(self) -> bool:
        return not self.user

    @property
    def principal(self) -> str:
        """DOMAIN\\user as shown in output (no secret in it)."""
        if not self.user:
            return "(anonymous)"
        return f"{self.domain}\\{self.user}" if self.domain else self.user

    def is_local_account(self, computer_names: set[str]) -> bool:
        """A local (non-domain) account: no domain, '.', or the target's own computer name as domain."""
        domain = self.domain.strip().upper()
        return bool(self.user) and (domain in ("", ".") or domain in {n.upper() for n in computer_names})


def split_user(user: str, domain: str) -> tuple[str, str]:
    """Accept DOMAIN\\user and user@domain as well as -u user --domain D."""
    if "\\" in user:
        dom, _, name = user.partition("\\")
        return name, domain or dom
    if "@" in user and not domain:
        name, _, dom = user.partition("@")
        return name, dom
    return user, domain


def parse_hashes(hashes: str) -> tuple[str, str]:
    lm, sep, nt = hashes.partition(":")
    if not sep:
        lm, nt = "", hashes
    for value in (lm, nt):
        if value and (len(value) != 32 or any(c not in "0123456789abcdefABCDEF" for c in value)):
            raise InputError("--hashes wants LM:NT, each 32 hex digits (LM may be empty)")
    return lm, nt


def read_password(
    password_env: str | None, password_file: str | None, prompt_for: str, interactive: bool | None = None
) -> str | None:
    """The password from --password-env, --password-file, or a hidden prompt on a terminal.

    Returns None only when no source applies and there is no terminal to ask on; the caller turns that
    into a usage error.
    """
    if password_env:
        if password_env not in os.environ:
            raise InputError(f"--password-env {password_env}: that environment variable is not set")
        return os.environ[password_env]
    if password_file:
        path = Path(password_file)
        if not path.is_file():
            raise InputError(f"--password-file {password_file}: no such file")
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    if interactive is None:
        interactive = sys.stdin.isatty() and sys.stderr.isatty()
    if not interactive:
        return None
    import getpass

    return getpass.getpass(f"Password for {prompt_for}: ", stream=sys.stderr)
