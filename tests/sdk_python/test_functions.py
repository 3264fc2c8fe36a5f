"""Stateless functions, nested calls and handles passed around."""
import os

import pytest

import yr


@yr.invoke
def square(x):
    return x * x


@yr.invoke
def add(a, b=0):
    return a + b


@yr.invoke
def sum_of_squares(n):
    return sum(yr.get([square.invoke(i) for i in range(n)]))


@yr.invoke
def read_counter(counter):
    return yr.get(counter.get.invoke())


@yr.invoke
def bump(counter, n):
    return yr.get(counter.add.invoke(n))


@yr.invoke
def whoami():
    return os.getpid()


@yr.instance
class Counter:
    def __init__(self):
        self.count = 0

    def add(self, n):
        self.count += n
        return self.count

    def get(self):
        return self.count

    def add_via(self, other, n):
        return yr.get(other.add.invoke(n))

    def spawn_and_use(self):
        inner = Counter.invoke()
        value = yr.get(inner.add.invoke(41)) + 1
        inner.terminate()
        return value


def test_function_invoke(driver):
    assert yr.get(square.invoke(7)) == 49
    assert yr.get(add.invoke(1, b=2)) == 3
    assert yr.get([square.invoke(i) for i in range(50)]) == [i * i for i in range(50)]


def test_functions_run_in_other_processes(driver):
    assert yr.get(whoami.invoke()) != os.getpid()


def test_nested_invokes_from_a_function(driver):
    assert yr.get(sum_of_squares.invoke(10), timeout=60) == sum(i * i for i in range(10))


def test_calling_a_function_directly_is_an_error():
    with pytest.raises(RuntimeError, match="cannot be called directly"):
        square(3)


def test_decorating_a_class_with_invoke_is_an_error():
    with pytest.raises(RuntimeError):
        yr.invoke(Counter.__yr_wrapped__)


def test_handles_pass_to_functions_and_methods(driver):
    c = Counter.invoke()
    yr.get(c.add.invoke(3))
    assert yr.get(read_counter.invoke(c)) == 3
    assert yr.get(bump.invoke(c, 2)) == 5
    other = Counter.invoke()
    assert yr.get(other.add_via.invoke(c, 10)) == 15
    assert yr.get(c.get.invoke()) == 15


def test_handle_passed_before_the_instance_is_ready(driver):
    c = Counter.invoke()
    assert yr.get(read_counter.invoke(c), timeout=60) == 0


def test_instances_created_inside_instances(driver):
    c = Counter.invoke()
    assert yr.get(c.spawn_and_use.invoke(), timeout=60) == 42


def test_refs_chain_from_one_call_into_another(driver):
    r = square.invoke(3)
    r2 = add.invoke(r, 1)
    c = Counter.invoke()
    r3 = c.add.invoke(r2)
    assert yr.get(r3) == 10
    assert yr.get(square.invoke(c.add.invoke(0))) == 100


def test_failed_dependency_fails_the_call_with_its_error(driver):
    @yr.invoke
    def boom():
        raise KeyError("missing")
    with pytest.raises(KeyError):
        yr.get(add.invoke(boom.invoke(), 1))


def test_function_options_mutate_and_return_self(driver):
    @yr.invoke
    def one():
        return 1
    assert one.options(yr.InvokeOptions(cpu=600)) is one
    assert yr.get(one.invoke()) == 1
