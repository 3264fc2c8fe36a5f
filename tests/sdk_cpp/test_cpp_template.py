"""C++ instances are forked from a template of their executable (issue 16): isolated from
each other, with the driver's options and working directory, surviving a sibling's crash,
reporting factory errors; the template ends with its driver (run_cpp checks that no process
of the program is left once the driver is gone)."""
from __future__ import annotations

import re


def run_scenario(programs_dir, run_cpp, name: str) -> str:
    proc = run_cpp(programs_dir / "template_test", name)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}"
    assert proc.stdout.rstrip().endswith(f"PASS {name}"), proc.stdout
    return proc.stdout


def test_instances_are_isolated_children_of_one_template(programs_dir, run_cpp):
    out = run_scenario(programs_dir, run_cpp, "isolation")
    assert re.search(r"template pid \d+, workers \d+ \d+ \d+", out)


def test_a_crashing_instance_leaves_template_and_siblings_running(programs_dir, run_cpp):
    out = run_scenario(programs_dir, run_cpp, "crash")
    assert "died: code=1007" in out


def test_factory_error_reaches_get(programs_dir, run_cpp):
    out = run_scenario(programs_dir, run_cpp, "ctor_error")
    assert re.search(r"factory: code=2002 .*failed to invoke Probe::FactoryFail, exception: no probe today", out)


def test_options_reach_the_forked_worker(programs_dir, run_cpp):
    run_scenario(programs_dir, run_cpp, "concurrency")


def test_each_driver_run_gets_a_template_that_ends_with_it(programs_dir, run_cpp):
    """Two runs of the same program against one runtime: each has its own template (its job's),
    and none is left after either (run_cpp's check)."""
    templates = set()
    for _ in range(2):
        out = run_scenario(programs_dir, run_cpp, "isolation")
        templates.add(re.search(r"template pid (\d+)", out).group(1))
    assert len(templates) == 2


def test_a_program_with_threads_before_init_is_not_forked_but_works(programs_dir, run_cpp):
    proc = run_cpp(programs_dir / "thread_first_test")
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}"
    assert "parent is program: 0" in proc.stdout and proc.stdout.rstrip().endswith("PASS")
