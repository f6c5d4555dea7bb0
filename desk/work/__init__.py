"""Working on items: who may see what (`access`), the lifecycle verbs (`lifecycle`), who gets
the next item (`assignment`), the lists and numbers people work from (`worklist`, `situation`),
finding an item (`search`) and who has one open (`presence`).
"""
