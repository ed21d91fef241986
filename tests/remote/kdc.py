"""A throwaway MIT Kerberos KDC on loopback for the probe's Kerberos tests.

Debian's krb5-kdc and krb5-admin-server provide krb5kdc, kdb5_util and kadmin.local (`./run test`
installs them when it runs as root). The realm, its database and configuration live in a temporary
folder; the KDC listens on 127.0.0.1 only, on a free port; principals are created by each test.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REALM = "WMIDOCTOR.TEST"
TOOLS = ("krb5kdc", "kdb5_util", "kadmin.local")
SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin")


def find_tools() -> dict[str, str] | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), *SBIN])
    found = {tool: shutil.which(tool, path=path) for tool in TOOLS}
    return None if None in found.values() else found  # type: ignore[return-value]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MitKdc:
    def __init__(self, folder: Path, tools: dict[str, str]):
        self.folder, self.tools = folder, tools
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        (folder / "kdc.conf").write_text(f"""[kdcdefaults]
 kdc_listen = 127.0.0.1:{self.port}
 kdc_tcp_listen = 127.0.0.1:{self.port}
[realms]
 {REALM} = {{
  database_name = {folder}/principal
  key_stash_file = {folder}/stash
  acl_file = {folder}/kadm5.acl
  supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal camellia256-cts-cmac:normal
 }}
[logging]
 kdc = FILE:{folder}/kdc.log
""")
        (folder / "krb5.conf").write_text(
            f"[libdefaults]\n default_realm = {REALM}\n[realms]\n {REALM} = {{\n  kdc = 127.0.0.1:{self.port}\n }}\n"
        )
        self.env = {
            **os.environ,
            "KRB5_CONFIG": str(folder / "krb5.conf"),
            "KRB5_KDC_PROFILE": str(folder / "kdc.conf"),
        }
        self._run(tools["kdb5_util"], "create", "-s", "-r", REALM, "-P", "throwaway-master")
        self.process = subprocess.Popen(
            [tools["krb5kdc"], "-n", "-r", REALM], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._wait_listening()

    def _run(self, *args: str) -> str:
        done = subprocess.run(list(args), env=self.env, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr.strip()}")
        return done.stdout

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"krb5kdc exited ({self.process.returncode})")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("krb5kdc did not start listening")

    def kadmin(self, query: str) -> str:
        return self._run(self.tools["kadmin.local"], "-r", REALM, "-q", query)

    def add_user(self, name: str, password: str, *options: str) -> None:
        """A user principal that must pre-authenticate (as Active Directory requires by default)."""
        self.kadmin(f"addprinc +requires_preauth {' '.join(options)} -pw {password} {name}")

    def add_service(self, spn: str, *options: str) -> None:
        self.kadmin(f"addprinc -randkey {' '.join(options)} {spn}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


PASSWORD = "Secret-1"
# The KDC's refusals about the account: the setup that causes each, its KRB-ERROR code and the probe's reason.
ACCOUNT_REFUSALS = (
    ("unknown", 6, "krb_client_unknown"),
    ("wrong_password", 24, "krb_preauth_failed"),
    ("disabled", 18, "krb_client_revoked"),
    ("password_expired", 23, "krb_password_expired"),
    ("no_common_etype", 14, "krb_etype"),
)


@contextmanager
def silent_kdc() -> Iterator[int]:
    """A loopback port that takes connections and never answers (a KDC that has hung); yields the port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(listener.accept()[0]), daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        for sock in held:
            sock.close()


def account(kdc: MitKdc, setup: str) -> tuple[str, str]:
    """A fresh principal set up as `setup` says ("valid" or one of ACCOUNT_REFUSALS), and the password to try."""
    import uuid

    name = f"u{uuid.uuid4().hex[:10]}"
    if setup == "unknown":
        return name, PASSWORD
    if setup == "no_common_etype":  # keys only in an encryption type the client does not offer
        kdc.kadmin(f"addprinc -e camellia256-cts-cmac:normal -pw {PASSWORD} {name}")
        return name, PASSWORD
    options = {"disabled": ("+disallow_all_tix",), "password_expired": ("-pwexpire", "yesterday")}
    kdc.add_user(name, PASSWORD, *options.get(setup, ()))
    return name, "Not-it-9" if setup == "wrong_password" else PASSWORD
