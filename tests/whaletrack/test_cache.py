"""The project's Redis cache backend (whaletrack.cache) on the suite's Redis: one client per pool, reused, and
working in a forked child as gunicorn's and Celery's workers are."""

import multiprocessing

from django.core.cache import cache


def test_operations_reuse_one_client_and_behave_as_djangos():
    client = cache._cache.get_client()
    assert cache._cache.get_client(write=True) is client
    cache.set("whaletrack-test-cache:k", {"amount": "1.5"}, timeout=30)
    assert cache.get("whaletrack-test-cache:k") == {"amount": "1.5"}
    assert cache.add("whaletrack-test-cache:k", "other", timeout=30) is False
    cache.set("whaletrack-test-cache:n", 41, timeout=30)
    assert cache.incr("whaletrack-test-cache:n") == 42
    assert cache._cache.get_client() is client
    cache.delete_many(["whaletrack-test-cache:k", "whaletrack-test-cache:n"])
    assert cache.get("whaletrack-test-cache:k") is None


def _child_reads(queue) -> None:
    queue.put(cache.get("whaletrack-test-cache:fork"))


def test_a_forked_child_uses_the_inherited_client_on_its_own_connections():
    cache.set("whaletrack-test-cache:fork", "from the parent", timeout=30)
    assert cache.get("whaletrack-test-cache:fork") == "from the parent"  # the parent holds a pooled connection
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_reads, args=(queue,))
    child.start()
    child.join(30)
    assert (child.exitcode, queue.get(timeout=5)) == (0, "from the parent")
    assert cache.get("whaletrack-test-cache:fork") == "from the parent"  # the parent's connection still works
    cache.delete("whaletrack-test-cache:fork")
