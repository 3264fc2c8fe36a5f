"""The pure core of the runtime: resources, scheduling and the instance directory.

Nothing in this package does I/O, spawns processes or reads the clock; the daemon feeds it
events (with the time) and carries out the actions it returns.
"""
