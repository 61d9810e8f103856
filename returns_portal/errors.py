"""The one error type for expected domain failures.

Services raise ``DomainError``; views turn it into a form error or a 4xx response,
never a 500. Codes are stable (tests and API clients rely on them); messages are
translated, plain-language sentences for the person who tried.
"""
from enum import StrEnum


class ErrorCode(StrEnum):
    NOT_A_BUYER = "not_a_buyer"
    PRODUCT_UNAVAILABLE = "product_unavailable"
    INVALID_QUANTITY = "invalid_quantity"
    NO_DELIVERY_COUNTRY = "no_delivery_country"
    INVALID_TRANSITION = "invalid_transition"
    NOT_ALLOWED = "not_allowed"
    NOT_ELIGIBLE = "not_eligible"
    ALREADY_OPEN = "already_open"
    INVALID_CHOICE = "invalid_choice"
    INVALID_UPLOAD = "invalid_upload"
    EMPTY_MESSAGE = "empty_message"
    INVALID_AMOUNT = "invalid_amount"
    INVALID_WAREHOUSE = "invalid_warehouse"
    INVALID_TRACKING = "invalid_tracking"
    REASON_REQUIRED = "reason_required"
    INVALID_DEADLINE = "invalid_deadline"
    # bandit: an error code, not a password.
    INVALID_TOKEN = "invalid_token"  # nosec B105
    INVALID_NAME = "invalid_name"
    NAME_TAKEN = "name_taken"
    INVALID_URL = "invalid_url"
    INVALID_EMAIL = "invalid_email"
    INVALID_PASSWORD = "invalid_password"  # nosec B105
    ALREADY_MEMBER = "already_member"
    ALREADY_INVITED = "already_invited"
    ADDRESS_TAKEN = "address_taken"
    INVITATION_CLOSED = "invitation_closed"


class DomainError(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return str(self.message)
