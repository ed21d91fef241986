"""Fake WMI endpoints on loopback that speak real MSRPC/DCOM and WS-Man, failing at a chosen stage."""
