"""yr.exit, yr.list_named_instances, yr.get_node_ip_address and the openYuanrong aliases."""
import ipaddress
import time

import pytest

import yr


@yr.instance
class Named:
    def ping(self):
        return "pong"

    def leave(self):
        yr.exit()
        return "leaving"


@yr.invoke
def node_ip():
    return yr.get_node_ip_address()


def test_exit_ends_the_instance_after_the_call_returns(driver):
    h = Named.invoke()
    assert yr.get(h.ping.invoke()) == "pong"
    assert yr.get(h.leave.invoke(), timeout=60) == "leaving"   # the call that exits still answers
    deadline = time.monotonic() + 30
    while True:
        try:
            yr.get(h.ping.invoke(), timeout=30)
        except yr.YRError as e:
            assert isinstance(e, (yr.InstanceDiedError, yr.InstanceTerminatedError)), e
            break
        assert time.monotonic() < deadline, "the instance still answers after yr.exit()"
        time.sleep(0.05)


def test_exit_outside_an_instance_is_an_error(driver):
    with pytest.raises(yr.YRRuntimeError, match="inside an instance"):
        yr.exit()


def test_list_named_instances_by_namespace(daemon):
    yr.init(daemon.config(ns="parity"))
    try:
        a = Named.options(name="list-a").invoke()
        b = Named.options(name="list-b", namespace="other").invoke()
        unnamed = Named.invoke()
        yr.get([a.ping.invoke(), b.ping.invoke(), unnamed.ping.invoke()])
        names = yr.list_named_instances()
        assert "list-a" in names and "list-b" not in names
        assert names == sorted(names)
        every = yr.list_named_instances(all_namespaces=True)
        assert {"name": "list-a", "namespace": "parity"} in every
        assert {"name": "list-b", "namespace": "other"} in every
        a.terminate(is_sync=True)
        assert "list-a" not in yr.list_named_instances()
        with pytest.raises(TypeError, match="all_namespaces"):
            yr.list_named_instances("yes")
        b.terminate()
        unnamed.terminate()
    finally:
        yr.finalize()


def test_get_node_ip_address_in_driver_and_worker(driver):
    for ip in (yr.get_node_ip_address(), yr.get(node_ip.invoke())):
        ipaddress.ip_address(ip)   # raises if not an IP address
    assert yr.get(node_ip.invoke()) == yr.get_node_ip_address()


def test_openyuanrong_aliases(driver):
    assert yr.StatefulInstanceCreator is yr.InstanceCreator
    assert isinstance(Named, yr.StatefulInstanceCreator)
    h = Named.invoke()
    assert isinstance(h.ping, yr.MethodProxy)
    assert yr.get(h.ping.invoke()) == "pong"
    h.terminate()


def test_calls_need_an_initialized_driver():
    for call in (yr.list_named_instances, yr.get_node_ip_address, yr.exit):
        with pytest.raises(yr.YRError):
            call()
