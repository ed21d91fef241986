"""WMI-Activity trace analysis: who keeps WMI busy, with what, and what never finishes.

Reads the Trace channel (.evtx, XML exports) and ETL sessions of the WMI-Activity provider, pairs start
and stop events into operations (`operations`), and summarises them for the `trace` verb and the
Evidence `trace` section that the checks in `checks/trace.py` judge.
"""
