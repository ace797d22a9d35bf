"""The one check for text a client sends: in bodies, queries, paths and headers alike."""
import re

# C0 controls but tab, newline and carriage return; DEL; and UTF-16 surrogates, which only appear
# in a Python str when a client sent a lone one (`"\ud800"`): no UTF-8 encoder, PostgreSQL's
# included, takes them. NUL can't be stored in PostgreSQL text at all.
_UNSAFE_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
TEXT_PROBLEM = "must not contain control characters, NUL or unpaired UTF-16 surrogates"


def has_unsafe_text(value):
    """True when `value` holds a character no text of this platform may hold (see above)."""
    return bool(_UNSAFE_TEXT.search(value))


def check_text(value):
    """`value` when it is text we store and send back as is. :raise ValueError: otherwise."""
    if has_unsafe_text(value):
        raise ValueError(TEXT_PROBLEM)
    return value
