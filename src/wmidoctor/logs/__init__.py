"""WMI event log analysis: streaming aggregation of normalised events, and the `logs` verb's renderers."""
