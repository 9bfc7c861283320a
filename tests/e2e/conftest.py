"""One local runtime (embedded AWS, app, pollers, simulators) on free ports for every e2e module."""
from tests.live_runtime import console, runtime  # noqa: F401 - the package's fixtures
