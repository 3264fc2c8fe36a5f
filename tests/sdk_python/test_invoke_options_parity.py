"""Every InvokeOptions field openYuanrong documents is accepted, with its checks, and acts
where yr has something to act on; the others are refused as "not supported"."""
import dataclasses
import os
import signal
import time

import pytest

import yr
from yr import _context

# openYuanrong 0.9.10's InvokeOptions fields (yr/config.py), in its order
OPENYUANRONG_FIELDS = (
    "cpu cpu_limit memory mem_limit concurrency custom_resources custom_extensions pod_labels labels affinity "
    "device max_invoke_latency min_instances max_instances recover_retry_times need_order name namespace "
    "schedule_affinities is_data_affinity preferred_priority required_priority preferred_anti_other_labels "
    "resource_group_options function_group_options env_vars retry_times trace_id alias_params runtime_env debug "
    "preempted_allowed instance_priority schedule_timeout_ms group_name idle_timeout is_delete_remote_tensor "
    "bypass_datasystem skip_serialize port_forwardings get_if_exists").split()


@yr.invoke
def env_of(name):
    return os.environ.get(name)


@yr.invoke
def pid_after(seconds):
    time.sleep(seconds)
    return os.getpid()


@yr.instance
class Probe:
    def env(self, name):
        return os.environ.get(name)

    def ping(self):
        return "pong"

    def block_until_sigterm(self, path):
        def on_term(*_):
            with open(path, "w") as f:
                f.write(repr(time.time()))
            os._exit(0)
        signal.signal(signal.SIGTERM, on_term)
        open(path + ".started", "w").close()
        time.sleep(60)


def test_every_openyuanrong_field_exists_with_a_working_default():
    names = {f.name for f in dataclasses.fields(yr.InvokeOptions)}
    assert set(OPENYUANRONG_FIELDS) <= names, set(OPENYUANRONG_FIELDS) - names
    opt = yr.InvokeOptions()
    assert (opt.max_invoke_latency, opt.min_instances, opt.max_instances, opt.instance_priority) == (5000, 0, 0, 0)
    assert opt.trace_id == "" and opt.preempted_allowed is False
    opt.check()


@pytest.mark.parametrize("field,value", [
    ("trace_id", 1), ("min_instances", "1"), ("max_instances", 1.5), ("preempted_allowed", "yes"),
    ("instance_priority", True), ("idle_timeout", "60"), ("max_invoke_latency", None),
    ("custom_extensions", {"k": 1.5}), ("pod_labels", {"k": 1}), ("alias_params", []), ("runtime_env", "x"),
])
def test_wrong_types_raise_type_error_naming_the_field(field, value):
    with pytest.raises(TypeError, match=f"InvokeOptions.{field}"):
        yr.InvokeOptions(**{field: value}).check()


@pytest.mark.parametrize("kw,match", [
    (dict(min_instances=-1), r"min_instances: must be in \[0, 2147483647\]"),
    (dict(max_instances=2 ** 31), r"max_instances: must be in"),
    (dict(max_invoke_latency=-2), r"max_invoke_latency: must be in"),
    (dict(instance_priority=-1), r"instance_priority: must be in"),
    (dict(min_instances=3, max_instances=2), r"min_instances \(3\) is above max_instances \(2\)"),
    (dict(cpu_limit=-1), r"cpu_limit \(-1\) must be 0 or a positive value"),
    (dict(cpu=1000, cpu_limit=500), r"cpu_limit \(500\) must be >= cpu \(1000\)"),
    (dict(memory=1000, mem_limit=10), r"mem_limit \(10\) must be >= memory \(1000\)"),
    (dict(idle_timeout=0), r"idle_timeout"),
    (dict(custom_extensions={"GRACEFUL_SHUTDOWN_TIME": "soon"}), r"GRACEFUL_SHUTDOWN_TIME.*integer"),
    (dict(custom_extensions={"RECOVER_RETRY_TIMEOUT": "0"}), r"RECOVER_RETRY_TIMEOUT.*> 0"),
])
def test_values_out_of_range_raise_value_error(kw, match):
    with pytest.raises(ValueError, match=match):
        yr.InvokeOptions(**kw).check()


@pytest.mark.parametrize("kw", [
    dict(cpu_limit=1000), dict(mem_limit=1000), dict(pod_labels={"k": "v"}), dict(affinity={"k": "v"}),
    dict(device=object()), dict(max_invoke_latency=100), dict(is_data_affinity=True),
    dict(function_group_options=object()), dict(alias_params={"a": "b"}),
    dict(debug=object()), dict(is_delete_remote_tensor=True), dict(bypass_datasystem=True),
    dict(skip_serialize=True), dict(port_forwardings=[object()]), dict(runtime_env={"conda": "env"}),
])
def test_fields_yr_does_not_act_on_are_refused_not_ignored(kw):
    with pytest.raises(ValueError, match="not supported"):
        yr.InvokeOptions(**kw).check()


def test_fields_that_apply_to_one_kind_are_refused_on_the_other():
    with pytest.raises(ValueError, match="min_instances applies to stateless functions"):
        Probe.options(min_instances=1)
    with pytest.raises(ValueError, match="max_instances applies to stateless functions"):
        Probe.options(yr.InvokeOptions(max_instances=2))
    with pytest.raises(ValueError, match="idle_timeout applies to instances"):
        yr.invoke(invoke_options=yr.InvokeOptions(idle_timeout=5))(lambda: 1)
    with pytest.raises(ValueError, match="group_name applies to instances"):
        env_of.options(yr.InvokeOptions(group_name="g"))
    for key in ("GRACEFUL_SHUTDOWN_TIME", "RECOVER_RETRY_TIMEOUT"):
        with pytest.raises(ValueError, match=f"{key}.*applies to instances"):
            env_of.options(yr.InvokeOptions(custom_extensions={key: "5"}))


def test_trace_id_and_runtime_env_reach_the_worker(driver):
    opts = yr.InvokeOptions(trace_id="trace-42", runtime_env={"env_vars": {"FROM_RUNTIME_ENV": "yes"}})
    f = yr.invoke(invoke_options=opts)(env_of.get_original_func())
    assert yr.get([f.invoke("YR_TRACE_ID"), f.invoke("FROM_RUNTIME_ENV")]) == ["trace-42", "yes"]
    p = Probe.options(opts).invoke()
    assert yr.get([p.env.invoke("YR_TRACE_ID"), p.env.invoke("FROM_RUNTIME_ENV")]) == ["trace-42", "yes"]
    both = yr.InvokeOptions(env_vars={"X": "env_vars wins"}, runtime_env={"env_vars": {"X": "runtime_env"}})
    assert yr.get(Probe.options(both).invoke().env.invoke("X")) == "env_vars wins"   # as openYuanrong says
    assert yr.get(env_of.invoke("YR_TRACE_ID")) is None
    p.terminate()


def test_instance_priority_and_preempted_allowed_are_refused_unless_default(driver):
    # yr never preempts: a priority or a preemptible instance would be accepted and ignored
    for opts in (yr.InvokeOptions(instance_priority=3), yr.InvokeOptions(preempted_allowed=True)):
        with pytest.raises(yr.exceptions.YRValueError, match="is not supported: yr never preempts"):
            Probe.options(opts).invoke()
    opts = yr.InvokeOptions(instance_priority=0, preempted_allowed=False)
    assert yr.get(Probe.options(opts).invoke().ping.invoke()) == "pong"


def pool_of(opts):
    found = [p for p in _context.current().instances.pools.values()
             if p.opts.min_instances == opts.min_instances and p.opts.max_instances == opts.max_instances]
    assert len(found) == 1
    return found[0]


def test_max_instances_caps_the_executors_of_a_function(driver):
    opts = yr.InvokeOptions(max_instances=1, cpu=300)
    f = pid_after.options(opts)
    pids = yr.get([f.invoke(0.3) for _ in range(4)], timeout=120)
    assert len(set(pids)) == 1   # without the cap, slow calls each get an executor
    unlimited = yr.InvokeOptions(max_instances=-1, cpu=300)
    assert len(set(yr.get([pid_after.options(unlimited).invoke(0.3) for _ in range(4)], timeout=120))) > 1


def test_min_instances_are_made_at_once_and_kept_when_idle(daemon):
    yr.init(daemon.config(recycle_time=1))
    try:
        opts = yr.InvokeOptions(min_instances=2, cpu=300)
        assert yr.get(pid_after.options(opts).invoke(0)) > 0
        pool = pool_of(opts)
        deadline = time.monotonic() + 60
        while len(pool.executors) < 2:
            assert time.monotonic() < deadline, "min_instances executors were not made"
            time.sleep(0.05)
        time.sleep(2.5)   # past recycle_time: idle executors beyond min_instances would be ended
        assert len(pool.executors) == 2
        assert all(not e.target.terminated for e in pool.executors)
    finally:
        yr.finalize()


def test_idle_timeout_ends_an_idle_instance(driver):
    p = Probe.options(idle_timeout=1).invoke()
    assert yr.get(p.ping.invoke(), timeout=30) == "pong"
    deadline = time.monotonic() + 60
    while True:
        time.sleep(1.5)   # idle for longer than its idle_timeout
        try:
            yr.get(p.ping.invoke(), timeout=30)
        except (yr.InstanceDiedError, yr.InstanceTerminatedError):
            break
        assert time.monotonic() < deadline, "the instance outlived its idle_timeout"


def test_graceful_shutdown_time_delays_sigterm(driver, tmp_path):
    path = str(tmp_path / "sigterm")
    p = Probe.options(custom_extensions={"GRACEFUL_SHUTDOWN_TIME": "4"}).invoke()
    assert yr.get(p.ping.invoke()) == "pong"
    p.block_until_sigterm.invoke(path)
    deadline = time.monotonic() + 60
    while not os.path.exists(path + ".started"):   # once it runs, the terminate message waits unread
        assert time.monotonic() < deadline, "the call never started"
        time.sleep(0.05)
    t0 = time.time()
    p.terminate()
    deadline = time.monotonic() + 60
    while not os.path.exists(path):
        assert time.monotonic() < deadline, "SIGTERM never came"
        time.sleep(0.05)
    assert float(open(path).read()) - t0 >= 3.5   # the default would send it after 1 s


def test_recover_retry_timeout_is_accepted_on_restartable_instances(driver):
    opts = yr.InvokeOptions(recover_retry_times=1, custom_extensions={"RECOVER_RETRY_TIMEOUT": "60000"})
    p = Probe.options(opts).invoke()
    assert yr.get(p.ping.invoke()) == "pong"
    assert p._target.recover_timeout == 60.0
    p.terminate()
