import pytest

from notifications import messages


@pytest.fixture
def register_messages(monkeypatch):
    """``messages.register`` for this test only: what it registers is gone afterwards."""
    monkeypatch.setattr(messages, "_MESSAGES", dict(messages._MESSAGES))
    monkeypatch.setattr(messages, "_FORMATTERS", dict(messages._FORMATTERS))
    return messages.register
