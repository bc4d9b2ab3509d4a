"""Browser tests: every test here is marked `browser`; the Playwright fixtures live in tests/conftest.py."""

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
