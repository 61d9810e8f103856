"""Pure-Python rule chains: eligibility (when a dispute is opened) and return
conditions (when returned goods are received). No ORM in here: rules take plain
data, so they are unit-tested without a database."""
