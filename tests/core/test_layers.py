"""Architecture checks that fail the suite when code reaches across a layer or a contract."""
import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

import yr

ROOT = Path(__file__).resolve().parents[2]


def test_import_layers_hold():
    """The contracts in pyproject.toml: the daemon never imports the SDK, the SDK uses only
    the wire layer of the runtime, the core is pure, the master reaches nodes only through
    NodeLink and nodes know nothing of the master, the wire layer stands alone, the metadata
    store holds data only, the SDK's modules import only the layers below them, `import yr`
    loads no worker and no bridge."""
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint) if lint.exists() else "lint-imports"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Contracts: 10 kept, 0 broken" in out.stdout


def test_sdk_has_no_import_circle():
    """No module of the SDK reaches itself through imports, lazy ones (inside functions)
    included: a lower layer that needs a higher one gets a hook registered, not an import.
    Checks every module, also those the layers contract does not name."""
    import grimp
    graph = grimp.build_graph("yr")
    circles = [(m, d) for m in graph.modules for d in graph.find_modules_directly_imported_by(m)
               if d != m and graph.chain_exists(importer=d, imported=m)]
    assert not circles, f"import circles through: {sorted(circles)}"


def test_import_yr_loads_no_worker_and_no_bridge():
    code = ("import sys, yr\n"
            "print(sorted(m for m in sys.modules if m in {'yr._worker', 'yr._hosts', 'yr._zygote', 'yr._bridge',"
            " 'yr._bridge_py4j', 'yr._java_host', 'yr._control', 'grpc'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", out.stdout


def test_protobuf_stubs_are_generated_from_proto(tmp_path):
    out = subprocess.run(["bash", str(ROOT / "scripts" / "gen_proto.sh"), str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for name in ("control_pb2.py", "control_pb2_grpc.py"):
        assert filecmp.cmp(tmp_path / name, ROOT / "runtime" / "yr_runtime" / "proto" / name, shallow=False), \
            f"runtime/yr_runtime/proto/{name} is stale: run scripts/gen_proto.sh"


def test_public_api_is_pinned():
    assert sorted(yr.__all__) == sorted([
        "init", "finalize", "is_initialized", "instance", "invoke", "put", "get", "wait", "get_instance",
        "kill_instance", "resources", "save_state", "load_state", "Config", "InvokeOptions", "ObjectRef",
        "ClientInfo", "InstanceCreator", "InstanceProxy", "FunctionProxy", "StatefulInstance",
        "StatelessFunction", "YRError", "YRRuntimeError", "YRValueError", "YRTypeError", "YRTimeoutError",
        "GetTimeoutError", "YRInvokeError", "InitError", "InstanceDiedError", "InstanceTerminatedError",
        "InstanceNotFoundError", "ResourceUnavailableError", "RuntimeUnavailableError", "SerializationError",
        "CancelError", "Affinity", "AffinityKind", "AffinityType", "AffinityScope", "LabelOperator",
        "OperatorType",
        "kv_write", "kv_read", "kv_set", "kv_get", "kv_get_with_param", "kv_del", "kv_m_write_tx",
        "kv_write_with_param", "SetParam", "MSetParam", "GetParam", "GetParams", "CreateParam", "ExistenceOpt",
        "WriteMode", "CacheType", "ConsistencyType", "create_stream_producer", "create_stream_consumer",
        "delete_stream", "ProducerConfig", "SubscriptionConfig", "Element", "query_global_producers_num",
        "query_global_consumers_num",
        "Gauge", "UInt64Counter", "DoubleCounter", "Histogram", "Alarm", "AlarmInfo",
        "AlarmSeverity", "cpp_function", "cpp_instance_class", "java_function",
        "java_instance_class",
        "cancel", "method", "exit", "list_named_instances", "get_node_ip_address", "MethodProxy",
        "StatefulInstanceCreator", "ObjectRefGenerator",
        "create_resource_group", "remove_resource_group", "ResourceGroup", "ResourceGroupOptions",
        "create_function_group", "get_function_group_context", "FunctionGroupOptions", "FunctionGroupContext",
        "FunctionGroupHandler", "FunctionGroupMethodProxy", "SchedulingAffinityType",
        "restore_from_checkpoint", "list_checkpoints", "delete_checkpoint", "CustomGauge", "CustomCounter",
        "Group", "GroupOptions", "DeviceInfo", "ServerInfo"])
    for name in yr.__all__:
        assert hasattr(yr, name), name


def test_errors_subclass_the_builtins_users_catch():
    assert issubclass(yr.GetTimeoutError, TimeoutError) and issubclass(yr.GetTimeoutError, yr.YRError)
    assert issubclass(yr.YRValueError, ValueError) and issubclass(yr.YRTypeError, TypeError)
    assert issubclass(yr.InstanceDiedError, RuntimeError)
