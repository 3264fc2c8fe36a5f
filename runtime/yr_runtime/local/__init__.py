"""What belongs to this machine rather than to the wire: session directories (where a
runtime is found, its token, its logs) and the lifetime of the processes a runtime starts."""
