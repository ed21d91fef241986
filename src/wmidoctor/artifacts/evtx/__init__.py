"""Windows event logs (.evtx files and XML exports) read into normalised `Event` objects.

Readers select which records to decode fully through a caller-given predicate on (provider, event id)
and count all the others cheaply; they know log formats, not what an event means for WMI.
"""

from wmidoctor.artifacts.evtx.event import Event, LogStats
from wmidoctor.artifacts.evtx.reader import Selector, read_log

__all__ = ["Event", "LogStats", "Selector", "read_log"]
