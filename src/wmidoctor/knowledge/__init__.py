"""What wmidoctor knows about WMI, in our own words: the error-code catalogue and default tables."""
