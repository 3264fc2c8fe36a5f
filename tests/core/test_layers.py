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
    store holds data only."""
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint) if lint.exists() else "lint-imports"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Contracts: 8 kept, 0 broken" in out.stdout


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
        "OperatorType"])
    for name in yr.__all__:
        assert hasattr(yr, name), name


def test_errors_subclass_the_builtins_users_catch():
    assert issubclass(yr.GetTimeoutError, TimeoutError) and issubclass(yr.GetTimeoutError, yr.YRError)
    assert issubclass(yr.YRValueError, ValueError) and issubclass(yr.YRTypeError, TypeError)
    assert issubclass(yr.InstanceDiedError, RuntimeError)
