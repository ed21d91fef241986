"""Remote WMI probing: each transport (DCOM, WS-Man) walked one stage at a time, with a verdict.

`wmidoctor.remote.probe.probe_host` is the entry point; `fleet` runs it over many hosts and `store`
keeps the results in SQLite. Nothing here imports impacket or pypsrp at package import.
"""
