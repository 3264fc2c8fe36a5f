"""The SDK's JUnit suite (codec, conversions, lambda resolution, worker calls), run by Maven."""
import re

from _java_support import NEEDS_JAVA, SDK, mvn

pytestmark = NEEDS_JAVA


def test_junit_suite_passes():
    out = mvn("-f", SDK / "pom.xml", "test", "-Dsurefire.printSummary=true", timeout=600)
    reports = list((SDK / "target" / "surefire-reports").glob("TEST-*.xml"))
    assert len(reports) >= 5, out.stdout
    total = failed = 0
    for report in reports:
        head = report.read_text()[:2000]
        total += int(re.search(r'tests="(\d+)"', head).group(1))
        failed += int(re.search(r'failures="(\d+)"', head).group(1)) + int(re.search(r'errors="(\d+)"', head).group(1))
    assert total >= 30 and failed == 0
