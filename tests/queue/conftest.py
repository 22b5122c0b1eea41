"""Queue-mode tests share one real redis-server per test module."""

from tests.helpers.redis import redis_server  # noqa: F401 - a fixture for these modules
