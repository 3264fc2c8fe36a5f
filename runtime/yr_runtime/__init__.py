"""yr_runtime: the yr daemon (master + node agent), its CLI and the wire layer it shares with the SDKs."""
