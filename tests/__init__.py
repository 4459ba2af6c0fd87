"""The msatrace test suite, a package so that ``tests.integration.servers`` is importable."""
