"""Which program a process id belonged to at a given time.

Process ids are reused: naming a client after any process that once had its id is wrong as soon as that
process has exited. A name is given only when a creation record (Sysmon 1, Security 4688) shows the process
started before the events and no exit or new creation of the same id falls between (Sysmon 5, Security 4689).
"""

from __future__ import annotations

from dataclasses import dataclass

NOT_KNOWN = "not known at that time"


@dataclass
class ProcessLife:
    """One process: its id, image and the times it was seen starting and ending ('' when not seen)."""

    pid: str
    image: str = ""
    started: str = ""
    ended: str = ""


def lifetimes(records: list[tuple[str, str, bool, str]]) -> list[ProcessLife]:
    """Process lives from (pid, time, is_start, image) records in any order."""
    lives: list[ProcessLife] = []
    open_by_pid: dict[str, ProcessLife] = {}
    for pid, time, is_start, image in sorted(records, key=lambda r: (r[1], not r[2])):
        if is_start:
            life = ProcessLife(pid, image, started=time)
            lives.append(life)
            previous = open_by_pid.get(pid)
            if previous is not None and not previous.ended:
                previous.ended = time  # its exit was not logged, but the id was given to a new process
            open_by_pid[pid] = life
            continue
        running = open_by_pid.get(pid)
        if running is not None and not running.ended:
            running.ended = time
        else:
            lives.append(ProcessLife(pid, image, ended=time))
    return lives


def image_during(lives: list[ProcessLife], pid: str, first: str, last: str) -> str:
    """The image of `pid` for events between `first` and `last`, or '' when no creation record makes the
    attribution sound (the process started before `first` and had not ended by `last`)."""
    for life in lives:
        if life.pid == pid and life.started and life.started <= first and (not life.ended or life.ended >= last):
            return life.image.rpartition("\\")[2]
    return ""


def describe_pid(lives: list[ProcessLife], pid: str, first: str, last: str) -> str:
    """'PID 880 (svchost.exe)' or 'PID 880 (not known at that time)'."""
    if not pid:
        return "PID ?"
    image = image_during(lives, pid, first, last)
    return f"PID {pid} ({image or NOT_KNOWN})"
