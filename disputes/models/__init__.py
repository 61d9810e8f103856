from .core import Dispute, DisputeAttachment, DisputeEvent, DisputeMessage
from .refunds import Refund
from .returns import CategoryCondition, InstructionTemplate, Inspection, ReturnInstructions, ReturnShipment

__all__ = [
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
]
