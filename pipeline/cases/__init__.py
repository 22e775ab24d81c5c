"""The case tracker: a flagged item's path from early warning to closure (CU824, NOS).

Domain rules live in modules named for what they own (`lifecycle`, `authority`, `clocks`,
`audit`); `tables` maps them to the database and `service` runs each operation as one
transaction. Nothing here knows about models or the stream.
"""
