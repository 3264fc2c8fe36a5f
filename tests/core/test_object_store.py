"""The node object store's lifetime rules, without sockets: an owner's free, borrows held
by other processes (ObjHold / ObjRelease), and a job's end."""
from yr_runtime.node.agent import ObjectStore


def _store_with(*oids: str) -> ObjectStore:
    store = ObjectStore()
    for oid in oids:
        store.put(oid, b"\x00value-" + oid.encode(), False, "job-1")
    return store


def test_an_owners_free_drops_an_unheld_object_and_tells_later_readers_why():
    store = _store_with("a")
    store.free(["a"], by_owner=True)
    assert "a" not in store.objects
    assert "was freed" in store.refused["a"]
    assert store.bytes == 0


def test_a_held_object_outlives_its_owners_free_until_the_last_release():
    store = _store_with("a")
    store.hold(["a"])
    store.hold(["a"])   # two borrowers
    store.free(["a"], by_owner=True)
    assert "a" in store.objects and "a" not in store.refused
    store.release(["a"])
    assert "a" in store.objects   # one borrower left
    store.release(["a"])
    assert "a" not in store.objects
    assert "was freed" in store.refused["a"]
    assert not store.holds and not store.dropped


def test_releases_without_a_free_keep_the_object_for_its_owner():
    store = _store_with("a")
    store.hold(["a"])
    store.release(["a"])
    assert "a" in store.objects and not store.holds
    store.release(["a"])   # one release too many (a buggy peer) changes nothing
    assert "a" in store.objects and not store.holds


def test_a_hold_taken_before_the_value_arrives_still_counts():
    store = ObjectStore()
    store.hold(["late"])
    store.put("late", b"\x00v", False, "job-1")
    store.free(["late"], by_owner=True)
    assert "late" in store.objects
    store.release(["late"])
    assert "late" not in store.objects


def test_a_copy_dropped_because_its_remote_owner_freed_it_waits_for_local_borrowers():
    store = _store_with("copy")
    store.hold(["copy"])
    store.free(["copy"])   # not by_owner: a pulled copy (Agent.drop_copies)
    assert "copy" in store.objects
    store.release(["copy"])
    assert "copy" not in store.objects and "copy" not in store.refused


def test_a_jobs_end_frees_its_objects_even_when_held():
    store = _store_with("a", "b")
    store.put("other", b"\x00o", False, "job-2")
    store.hold(["a"])
    store.free_job("job-1")
    assert set(store.objects) == {"other"}
    assert not store.holds and not store.dropped
    store.release(["a"])   # the borrower's late release after the job ended
    assert set(store.objects) == {"other"}


def test_a_value_holds_the_refs_inside_it_while_it_is_stored():
    store = _store_with("inner")
    store.put("outer", b"\x00outer", False, "job-1", contains=["inner"])
    store.free(["inner"], by_owner=True)   # the owner let go of the inner ref
    assert "inner" in store.objects        # the stored outer value still names it
    store.free(["outer"], by_owner=True)
    assert "outer" not in store.objects and "inner" not in store.objects
    assert not store.holds and not store.contained


def test_a_transfer_hold_ends_once_by_its_token_from_anyone():
    store = _store_with("a")
    store.hold_transfers(["a", "a"], ["t1", "t2"])   # sent twice (two results)
    store.hold_transfers(["a"], ["t1"])               # a token held again: no second hold
    store.free(["a"], by_owner=True)
    store.release_transfers(["t1", "t1", "unknown"])  # a spent or unknown token: nothing
    assert "a" in store.objects
    store.release_transfers(["t2"])
    assert "a" not in store.objects and not store.transfers


def test_a_jobs_end_forgets_the_transfers_and_contents_of_its_objects():
    store = _store_with("a", "b")
    store.put("outer", b"\x00o", False, "job-1", contains=["a"])
    store.hold_transfers(["b"], ["t"])
    store.free_job("job-1")
    assert not store.objects and not store.transfers and not store.contained and not store.holds
