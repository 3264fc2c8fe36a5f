"""Config and InvokeOptions as openYuanrong programs write them: every documented field is
accepted, wrong types raise TypeError naming the field, options yr has not built are refused
as "not supported", and the error codes and texts match openYuanrong's."""
import dataclasses
import logging
import os
import subprocess
import sys

import pytest

import yr

# openYuanrong 0.9.10's Config fields (yr/config.py), with values of their documented types.
OPENYUANRONG_CONFIG = dict(
    function_id="sn:cn:yrk:default:function:0-test-test:$latest", cpp_function_id="", cpp_auto_function_name="",
    function_name="", ds_address="127.0.0.1:31501", is_driver=True, log_level="INFO", invoke_timeout=900,
    local_mode=False, code_dir="", connection_nums=100, recycle_time=2, in_cluster=True, job_id="",
    tls_config=None, auto=False, deployment_config=None, rt_server_address="", log_dir="/tmp", env_file="",
    log_file_size_max=0, log_file_num_max=0, log_flush_interval=5, logger=logging.getLogger("app"),
    runtime_id="driver", max_task_instance_num=-1, load_paths=[], rpc_timeout=1800, enable_mtls=False,
    enable_tls=False, private_key_path="", certificate_file_path="", verify_file_path="", private_key_paaswd="",
    http_ioc_threads_num=400, server_name="", ns="", tenant_id="", enable_metrics=True, bypass_datasystem=None,
    custom_envs={"LD_LIBRARY_PATH": "/opt/lib"}, master_addr_list=["127.0.0.1:31222"], working_dir="",
    enable_ds_encrypt=False, ds_public_key_path="", runtime_public_key_path="", runtime_private_key_path="",
    num_cpus=None, runtime_env=None, log_to_driver=False, dedup_logs=True, auth_token="secret")


def test_every_openyuanrong_config_field_is_accepted_and_init_works(daemon):
    conf = daemon.config(**{k: v for k, v in OPENYUANRONG_CONFIG.items() if k != "server_address"})
    assert {f.name for f in dataclasses.fields(yr.Config)} >= set(OPENYUANRONG_CONFIG) | {"server_address"}
    assert "secret" not in repr(conf)               # credentials stay out of logs
    yr.init(conf)
    try:
        assert yr.get(yr.put(5)) == 5
    finally:
        yr.finalize()


def test_config_defaults_follow_openyuanrong():
    c = yr.Config()
    assert (c.recycle_time, c.connection_nums, c.invoke_timeout, c.rpc_timeout) == (2, 100, 900, 1800)
    assert (c.is_driver, c.auto, c.in_cluster, c.enable_tls, c.max_task_instance_num) == (True, False, None, None, -1)
    assert c.custom_envs == {} and c.master_addr_list == [] and c.log_dir == "./"


@pytest.mark.parametrize("field,value", [
    ("function_id", 5), ("ds_address", None), ("log_dir", 1), ("master_addr_list", "a:1"), ("is_driver", "yes"),
    ("auto", 1), ("in_cluster", "true"), ("enable_tls", 0), ("auth_token", b"t"), ("recycle_time", "2"),
    ("recycle_time", 2.5), ("custom_envs", ["A=1"]), ("custom_envs", {"A": 1}), ("connection_nums", "100"),
    ("num_cpus", "2"), ("log_level", 1.5), ("server_address", 1), ("logger", "app"), ("load_paths", [1]),
])
def test_config_wrong_types_are_typeerrors_naming_the_field(field, value):
    with pytest.raises(TypeError, match=rf"Config\.{field}\b") as info:
        yr.Config(**{field: value})
    assert isinstance(info.value, yr.YRError) and info.value.code == 1001


@pytest.mark.parametrize("field,value", [
    ("recycle_time", 0), ("recycle_time", 301), ("connection_nums", 0), ("num_cpus", 0), ("log_level", "loud"),
    ("custom_envs", {"A=B": "1"}), ("custom_envs", {"": "1"}), ("warm_workers", -1),
])
def test_config_wrong_values_are_valueerrors_naming_the_field(field, value):
    with pytest.raises(ValueError, match=rf"Config\.{field}\b"):
        yr.Config(**{field: value})


def test_fields_set_after_construction_are_checked_at_init(daemon):
    conf = daemon.config()
    conf.recycle_time = "soon"
    with pytest.raises(TypeError, match="recycle_time"):
        yr.init(conf)
    assert not yr.is_initialized()


@yr.instance
class Probe:
    def env(self, name):
        return os.environ.get(name)

    def save(self, timeout):
        yr.save_state(timeout)

    def load(self):
        yr.load_state()


def test_custom_envs_reach_workers_and_options_env_vars_win(daemon):
    yr.init(daemon.config(custom_envs={"YR_T_A": "from-config", "YR_T_B": "from-config"}))
    try:
        p = Probe.options(yr.InvokeOptions(env_vars={"YR_T_B": "from-options"})).invoke()
        assert yr.get([p.env.invoke("YR_T_A"), p.env.invoke("YR_T_B")]) == ["from-config", "from-options"]
        fn = yr.invoke(lambda_env)
        assert yr.get(fn.invoke("YR_T_A")) == "from-config"
    finally:
        yr.finalize()


def lambda_env(name):
    return os.environ.get(name)


def test_workers_have_their_instance_id_in_the_environment(driver):
    p = Probe.invoke()
    assert yr.get(p.env.invoke("INSTANCE_ID")) == p.instance_id == p.real_id
    q = Probe.invoke()
    assert yr.get(q.env.invoke("INSTANCE_ID")) == q.instance_id != p.instance_id


def test_env_file_and_log_level_take_effect_in_the_driver(daemon, tmp_path):
    env_file = tmp_path / "app.env"
    env_file.write_text("# comment\n\nYR_T_FILE=one=two\n YR_T_SPACED = x \n")
    yr.init(daemon.config(env_file=str(env_file), log_level="debug"))
    try:
        assert os.environ["YR_T_FILE"] == "one=two" and os.environ["YR_T_SPACED"] == "x"
        assert logging.getLogger("yr").level == logging.DEBUG
    finally:
        yr.finalize()
        logging.getLogger("yr").setLevel(logging.WARNING)
    with pytest.raises(ValueError, match="env_file"):
        yr.init(daemon.config(env_file=str(tmp_path / "missing.env")))
    assert not yr.is_initialized()


def test_openyuanrong_module_paths():
    from yr.decorator.function_proxy import FunctionProxy
    from yr.decorator.instance_proxy import InstanceCreator, InstanceProxy, MethodProxy
    assert (InstanceProxy, FunctionProxy, InstanceCreator) == (yr.InstanceProxy, yr.FunctionProxy, yr.InstanceCreator)
    assert isinstance(Probe, InstanceCreator) and MethodProxy.__name__ == "MethodProxy"


# ---- InvokeOptions -------------------------------------------------------------------------
BAD_TYPES = [
    ("name", 999), ("namespace", 1), ("custom_extensions", []), ("env_vars", []), ("env_vars", {"A": 1}),
    ("env_vars", {1: "a"}), ("cpu", "x"), ("cpu", True), ("memory", None), ("labels", 5), ("labels", [1]),
    ("schedule_timeout_ms", "x"), ("concurrency", "2"), ("recover_retry_times", "1"), ("retry_times", 1.5),
    ("need_order", 1), ("get_if_exists", "yes"), ("custom_resources", {"ssd": "1"}), ("custom_resources", []),
    ("labels", "gpu"), ("schedule_affinities", "x"), ("schedule_affinities", [{"kind": "RESOURCE"}]),
    ("preferred_priority", 1), ("required_priority", "no"), ("preferred_anti_other_labels", None),
]


@pytest.mark.parametrize("field,value", BAD_TYPES)
def test_invoke_options_wrong_types_are_typeerrors_naming_the_field(field, value):
    opt = yr.InvokeOptions(**{field: value})
    for use in (lambda: yr.instance(invoke_options=opt)(_Plain), lambda: Probe.options(opt),
                lambda: yr.invoke(invoke_options=opt)(lambda_env), lambda: yr.invoke(lambda_env).options(opt),
                lambda: Probe.options(**{field: value})):
        with pytest.raises(TypeError, match=rf"InvokeOptions\.{field}\b") as info:
            use()
        assert isinstance(info.value, yr.YRTypeError)


class _Plain:
    def f(self):
        return 1


@pytest.mark.parametrize("env,word", [
    ({"A=B": "1"}, "'A=B'"), ({"": "1"}, "''"), ({"A\0": "1"}, "NUL"), ({"A": "x\0y"}, "NUL"),
])
def test_bad_env_vars_are_refused_where_given(env, word):
    with pytest.raises(ValueError, match=word):
        Probe.options(yr.InvokeOptions(env_vars=env))
    with pytest.raises(ValueError, match="env_vars"):
        Probe.options(runtime_env={"env_vars": env})


def test_refused_env_vars_never_reach_a_worker(driver):
    with pytest.raises(TypeError, match="env_vars"):
        Probe.options(yr.InvokeOptions(env_vars={"A": 1}))
    p = Probe.options(yr.InvokeOptions(env_vars={"YR_T_OK": "1"})).invoke()
    assert yr.get(p.env.invoke("YR_T_OK"), timeout=30) == "1"


@pytest.mark.parametrize("opt,word", [
    (dict(custom_extensions={"lifecycle": "weird"}), "lifecycle.*'weird'"),
    (dict(retry_times=2), "retry_times.*not supported for instances"),
    (dict(schedule_timeout_ms=-2), "schedule_timeout_ms"),
])
def test_options_not_built_are_refused_for_instances(opt, word):
    with pytest.raises(ValueError, match=word):
        Probe.options(yr.InvokeOptions(**opt))
    with pytest.raises(ValueError, match=word):
        yr.instance(invoke_options=yr.InvokeOptions(**opt))(_Plain)


def _aff(kind="RESOURCE", type_="REQUIRED", op="LABEL_IN", key="zone", values=("a",)):
    return yr.Affinity(getattr(yr.AffinityKind, kind), getattr(yr.AffinityType, type_),
                       [yr.LabelOperator(getattr(yr.OperatorType, op), key, list(values))])


def test_labels_and_affinities_are_accepted_for_instances_and_functions():
    opts = yr.InvokeOptions(labels=["gpu-node"], schedule_affinities=[
        _aff(), _aff("INSTANCE", "PREFERRED_ANTI", "LABEL_EXISTS", "db", ()),
        yr.Affinity(yr.AffinityKind.RESOURCE, yr.AffinityType.PREFERRED,
                    [yr.LabelOperator(yr.OperatorType.LABEL_NOT_EXISTS, "gpu")], yr.AffinityScope.NODE)],
        required_priority=True, preferred_anti_other_labels=False)
    Probe.options(opts)
    yr.invoke(lambda_env).options(opts)
    assert opts.check() is opts and opts.preferred_priority is True


def test_openyuanrong_affinity_names_and_values():
    assert [t.value for t in yr.AffinityType] == [1, 2, 3, 4]
    assert [k.name for k in yr.AffinityKind] == ["RESOURCE", "INSTANCE"]
    assert [o.name for o in yr.OperatorType] == ["LABEL_IN", "LABEL_NOT_IN", "LABEL_EXISTS", "LABEL_NOT_EXISTS"]
    op = yr.LabelOperator(yr.OperatorType.LABEL_EXISTS, "k")
    assert (op.operator_type, op.key, op.values) == (yr.OperatorType.LABEL_EXISTS, "k", [])
    a = yr.Affinity(yr.AffinityKind.INSTANCE, yr.AffinityType.REQUIRED, [op])
    assert (a.affinity_kind, a.affinity_type, a.label_operators, a.affinity_scope) == \
        (yr.AffinityKind.INSTANCE, yr.AffinityType.REQUIRED, [op], None)


@pytest.mark.parametrize("affinity, error, word", [
    (yr.Affinity("RESOURCE", yr.AffinityType.REQUIRED, []), TypeError, "affinity_kind.*yr.AffinityKind"),
    (yr.Affinity(yr.AffinityKind.RESOURCE, 3, []), TypeError, "affinity_type.*yr.AffinityType"),
    (yr.Affinity(yr.AffinityKind.RESOURCE, yr.AffinityType.REQUIRED, []), TypeError, "label_operators"),
    (yr.Affinity(yr.AffinityKind.RESOURCE, yr.AffinityType.REQUIRED, ["zone"]), TypeError, "yr.LabelOperator"),
    (yr.Affinity(yr.AffinityKind.RESOURCE, yr.AffinityType.REQUIRED,
                 [yr.LabelOperator("LABEL_IN", "zone", ["a"])]), TypeError, "operator_type"),
    (_aff(key=""), TypeError, r"\.key"),
    (_aff(values=(1,)), TypeError, "values"),
    (_aff(values=()), ValueError, "LABEL_IN needs at least one value"),
    (_aff(kind="INSTANCE"), ValueError, "INSTANCE affinity takes LABEL_EXISTS or LABEL_NOT_EXISTS"),
    (yr.Affinity(yr.AffinityKind.RESOURCE, yr.AffinityType.REQUIRED,
                 [yr.LabelOperator(yr.OperatorType.LABEL_EXISTS, "k")], "NODE"), TypeError, "affinity_scope"),
])
def test_malformed_affinities_are_refused_naming_the_field(affinity, error, word):
    with pytest.raises(error, match=r"schedule_affinities\[0\]"):
        yr.InvokeOptions(schedule_affinities=[affinity]).check()
    with pytest.raises(error, match=word):
        Probe.options(yr.InvokeOptions(schedule_affinities=[affinity]))


def test_empty_labels_are_refused():
    with pytest.raises(ValueError, match="labels"):
        Probe.options(yr.InvokeOptions(labels=["ok", ""]))


def test_options_keywords_set_only_real_fields():
    for key in ("check", "effective_concurrency", "detached", "lifecycle"):
        with pytest.raises(ValueError, match=f"unknown option '{key}'"):
            Probe.options(**{key: 5})
    assert callable(yr.InvokeOptions.check)


def test_method_options_refuse_what_has_no_effect(driver):
    p = Probe.invoke()
    assert yr.get(p.env.options(yr.InvokeOptions()).invoke("INSTANCE_ID")) == p.instance_id
    with pytest.raises(ValueError, match="not supported.*cpu, concurrency"):
        p.env.options(yr.InvokeOptions(cpu=1000, concurrency=4))
    with pytest.raises(ValueError, match="not supported.*retry_times"):
        p.env.options(retry_times=3)
    with pytest.raises(TypeError, match="InvokeOptions.name"):
        p.env.options(yr.InvokeOptions(name=5))


@yr.instance
class AsyncGate:
    def __init__(self):
        self.open = False

    async def wait_open(self):
        import asyncio
        while not self.open:
            await asyncio.sleep(0.01)
        return "passed"

    async def release(self):
        self.open = True
        return "released"


def test_async_classes_default_to_concurrency_1000(driver):
    # With concurrency 1 the second call would wait behind the first, which waits for it.
    g = AsyncGate.invoke()
    waiting = g.wait_open.invoke()
    assert yr.get(g.release.invoke(), timeout=30) == "released"
    assert yr.get(waiting, timeout=30) == "passed"


# ---- error codes and texts ------------------------------------------------------------------
def test_unknown_resource_is_1006_invalid_resource_parameter(driver):
    p = Probe.options(yr.InvokeOptions(custom_resources={"tpu": 1})).invoke()
    with pytest.raises(yr.ResourceUnavailableError, match="invalid resource parameter.*'tpu'") as info:
        yr.get(p.env.invoke("X"), timeout=30)
    assert info.value.code == 1006
    fn = yr.invoke(invoke_options=yr.InvokeOptions(custom_resources={"tpu": 1}))(lambda_env)
    with pytest.raises(yr.ResourceUnavailableError, match="invalid resource parameter.*'tpu'") as info:
        yr.get(fn.invoke("X"), timeout=30)
    assert info.value.code == 1006
    big = Probe.options(yr.InvokeOptions(custom_resources={"ssd": 5})).invoke()   # declared, too much: 1002
    with pytest.raises(yr.ResourceUnavailableError, match="'ssd'") as info:
        yr.get(big.env.invoke("X"), timeout=30)
    assert info.value.code == 1002


def test_get_instance_of_a_missing_name_says_failed_to_get_instance(driver):
    with pytest.raises(RuntimeError, match="failed to get instance: tests-nobody by name") as info:
        yr.get_instance("nobody", "tests", timeout=1)
    assert isinstance(info.value, yr.InstanceNotFoundError) and info.value.code == 1003
    with pytest.raises(TypeError, match="name"):
        yr.get_instance(5)


def test_load_state_before_any_save_says_failed_to_load_state(driver):
    p = Probe.invoke()
    with pytest.raises(RuntimeError, match="Failed to load state"):
        yr.get(p.load.invoke(), timeout=30)


def test_state_timeouts_must_be_integers(driver):
    p = Probe.invoke()
    for bad in ("x", 1.5, None):
        with pytest.raises(TypeError, match="an integer is required"):
            yr.get(p.save.invoke(bad), timeout=30)
    with pytest.raises(TypeError, match="an integer is required"):
        yr.save_state("x")
    with pytest.raises(TypeError, match="an integer is required"):
        yr.load_state(2.5)


# ---- CLI capacity ---------------------------------------------------------------------------
@pytest.mark.parametrize("args,word", [
    (["--cpu", "-5"], "--cpu"), (["--memory", "0"], "--memory"),
    (["-s", "values.cpu_num=-5"], "values.cpu_num"), (["-s", "values.warm_workers=-1"], "values.warm_workers"),
])
def test_yr_start_refuses_impossible_capacity(tmp_path, args, word):
    yr_cli = os.path.join(os.path.dirname(sys.executable), "yr")
    out = subprocess.run([yr_cli, "start", "--master", "--log-dir-prefix", str(tmp_path), *args],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and word in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and list(tmp_path.iterdir()) == []


def test_daemon_refuses_impossible_capacity(tmp_path):
    out = subprocess.run([sys.executable, "-m", "yr_runtime.daemon", "--session-root", str(tmp_path), "--cpu", "-5"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--cpu" in out.stderr and ">= 1" in out.stderr
