"""A list of masters (wire/masters.py): one gRPC target over all, or a clear error."""
import pytest

from yr_runtime.wire import masters


def test_one_master_is_passed_on_as_it_is_and_a_list_becomes_one_target():
    assert masters.target("127.0.0.1:22770") == "127.0.0.1:22770"
    assert masters.target("master.example:22770") == "master.example:22770"
    assert masters.target("unix:/tmp/x/master.sock") == "unix:/tmp/x/master.sock"
    assert masters.target("10.0.0.1:1, 10.0.0.2:2") == "ipv4:10.0.0.1:1,10.0.0.2:2"
    assert masters.target("[::1]:1,[fe80::2]:2") == "ipv6:[::1]:1,[fe80::2]:2"
    assert masters.split("10.0.0.1:1,10.0.0.2:2") == [("10.0.0.1", 1), ("10.0.0.2", 2)]
    assert masters.first("10.0.0.1:1,10.0.0.2:2") == "10.0.0.1:1"


@pytest.mark.parametrize("bad, why", [
    ("", "IP:PORT"), ("10.0.0.1", "not IP:PORT"), ("10.0.0.1:0", "not IP:PORT"), ("10.0.0.1:x", "not IP:PORT"),
    ("10.0.0.1:1,", "not IP:PORT"), ("10.0.0.1:1,host.example:2", "not a host name"),
    ("10.0.0.1:1,[::1]:2", "mix IPv4 and IPv6"),
])
def test_bad_lists_are_refused_naming_what_is_wrong(bad, why):
    with pytest.raises(ValueError, match=why):
        masters.target(bad) if "," in bad else masters.split(bad)
