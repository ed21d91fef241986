"""What wmidoctor knows about WMI, in our own words: the error-code catalogue and default tables."""

import os


def data_text(name: str) -> str:
    """A knowledge table shipped beside these modules, as text. Read by path rather than through
    importlib.resources, whose import alone costs a verb about 9 ms of start-up (the package is never zipped)."""
    with open(os.path.join(os.path.dirname(__file__), name), encoding="utf-8") as handle:
        return handle.read()
