"""The way in: what source systems deliver becomes routed work items with legal deadlines.

`receive` stores a delivery once, `intake` turns it into an item, `routing` picks its queue,
`deadlines` computes when it is due, `tokens` are the source systems' keys and `openapi`
describes the API to them.
"""
