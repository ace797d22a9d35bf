"""The zygote's code stamp (shared/zygote_protocol.py): what it covers changes it, so a zygote
holding old code or old compiled templates is retired instead of forking servers from them."""
import os
import sys

from shared import zygote_protocol as protocol

TEMPLATE = protocol.ROOT / "tournament_service" / "templates" / "tournament.html"


def test_an_edited_template_changes_the_stamp():
    before = protocol.code_stamp(sys.executable, {})
    stat = TEMPLATE.stat()
    os.utime(TEMPLATE, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    try:
        assert protocol.code_stamp(sys.executable, {}) != before
    finally:
        os.utime(TEMPLATE, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert protocol.code_stamp(sys.executable, {}) == before
