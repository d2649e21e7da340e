"""Byte generators for the upload's declared file types (loaded through SCHEMATHESIS_HOOKS).

JSON Schema can say which Content-Types a multipart part may declare (the upload form's
`encoding` in /openapi.json) but not that the bytes must be of that type, which the server
checks: UTF-8 text for text/*, `%PDF-` first for application/pdf. Without these strategies
schemathesis sends random bytes under a text type and takes the server's 400 content_mismatch for
a refused valid request. application/json is left out on purpose: a strategy registered for it
would also replace the generator of every JSON request body. schemathesis then declares only the
four types below for the file part; JSON uploads are covered by the server's own tests.
"""

import re
from datetime import datetime, timezone

import schemathesis
from hypothesis import strategies as st

utf8_text = st.text(st.characters(codec="utf-8"), min_size=1).map(lambda s: s.encode("utf-8"))
pdf = st.binary(max_size=256).map(lambda tail: b"%PDF-1.4\n" + tail)

for media_type in ("text/plain", "text/markdown", "text/csv"):
    schemathesis.openapi.media_type(media_type, utf8_text)
schemathesis.openapi.media_type("application/pdf", pdf)


# The spec's `expires_at` is any RFC 3339 date-time: JSON Schema has no "later than now". The
# server refuses a past one (400 validation_failed: such a memory would never be returned), as
# createMemory's description says. Generated values in the past, or too close to now to outlive
# the stateful phase's follow-up GET, are moved to a leap year at least two years ahead (so
# February 29 stays a date) keeping their month, day, time and offset.
_DATE_TIME = re.compile(r"^(\d{4})(-\d{2}-\d{2}[Tt].*)$", re.DOTALL)


def _future_year() -> int:
    year = datetime.now(timezone.utc).year + 2
    return year + (-year % 4)


@schemathesis.hook
def before_call(ctx, case, kwargs):
    if case.operation.method.upper() != "POST" or case.operation.path != "/api/v1/memory":
        return
    if not isinstance(case.body, dict) or not isinstance(case.body.get("expires_at"), str):
        return
    found = _DATE_TIME.match(case.body["expires_at"])
    if found and int(found.group(1)) < _future_year():
        case.body["expires_at"] = f"{_future_year()}{found.group(2)}"
