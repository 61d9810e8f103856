# Disputes, local-return requests, timeline, inspections and refunds arrive with the
# disputes issue; the app is registered now so migrations start from a stable set.
