"""Reading an id from a query string or a form: ASCII digits within a database integer, else None.

`str.isdigit` alone accepts "²" and "٣", which int() refuses (a ValueError, so a 500), and a 30-digit id passed the
check and overflowed SQLite's 64-bit INTEGER inside the query (OverflowError, a 500 too).
"""

MAX_ID = 2**63 - 1  # a BigAutoField on SQLite and PostgreSQL


def parse_id(value: object) -> int | None:
    """The id `value` spells in ASCII digits, or None when it spells none (or one no row can have)."""
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if number <= MAX_ID else None


FLAGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def parse_flag(name: str, value: str) -> bool:
    """A yes/no query parameter (true/false, 1/0, yes/no); a ValidationError (400) naming it otherwise."""
    from rest_framework.exceptions import ValidationError

    try:
        return FLAGS[value.strip().lower()]
    except KeyError:
        raise ValidationError({name: ["Use true or false."]}) from None
