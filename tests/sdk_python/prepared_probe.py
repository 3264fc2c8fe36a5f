"""A module whose classes report whether it was imported before their worker was assigned
(tests/sdk_python/test_warm_prepare.py): an idle warm worker prepared for the driver's
environment imports it ahead, before the Assign sets INSTANCE_ID."""
import os

IMPORTED_AHEAD = "INSTANCE_ID" not in os.environ


class Probe:
    def report(self):
        return {"ahead": IMPORTED_AHEAD, "pid": os.getpid(),
                "env": {k: v for k, v in os.environ.items() if k.startswith("YR_PREP_TEST")}}


def probe():
    return Probe().report()
