"""The audit trail's database-specific statements (PostgreSQL's in-statement record of a judgment)."""
