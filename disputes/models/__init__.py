from .core import (
    OPEN_STATES,
    TRANSITIONS,
    Dispute,
    DisputeAttachment,
    DisputeEvent,
    DisputeMessage,
    Transition,
)
from .refunds import Refund
from .returns import CategoryCondition, InstructionTemplate, Inspection, ReturnInstructions, ReturnShipment

__all__ = [
    "OPEN_STATES",
    "TRANSITIONS",
    "CategoryCondition",
    "Dispute",
    "DisputeAttachment",
    "DisputeEvent",
    "DisputeMessage",
    "InstructionTemplate",
    "Inspection",
    "Refund",
    "ReturnInstructions",
    "ReturnShipment",
    "Transition",
]
