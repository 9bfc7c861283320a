"""Never deployed: the embedded local runtime and the platform simulators."""
