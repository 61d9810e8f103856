import pytest

from .receiver import Receiver


@pytest.fixture
def allow_http(settings):
    settings.WEBHOOK_ALLOW_HTTP = True
    return settings


@pytest.fixture
def receiver(allow_http):
    """A receiver answering 200 to everything; ``receiver.statuses`` may be changed."""
    with Receiver() as server:
        yield server
