"""Errors that end a command with one line on stderr and a fixed exit code."""

from __future__ import annotations


class InputError(Exception):
    """Bad input or usage: the CLI prints the message on one line and exits with code 2."""

    exit_code = 2
