"""The platform's database-specific statements: API token authentication and the connection's own URL.

`prepared` holds PostgreSQL's prepared-statement cursor and row loading, which the apps' PostgreSQL modules use.
"""
