"""Reads a schemathesis NDJSON report: did the stateful phase reach real resources?

For each operation on an id (GET/DELETE of a file or a memory, a file's content), counts the
stateful-phase calls made through the spec's own OpenAPI link (`links` of the creating
operation's 201, not one schemathesis inferred from `Location`), and those that answered 2xx.
Exits 1 unless each got a 2xx through its link at least once, i.e. the link carried a real id
from a 201 to it. Usage: stateful_reach.py REPORT.ndjson
"""

import json
import sys
from collections import Counter

# operation → the transition through the spec's link to it (link names are the operation ids)
TARGETS = {
    "GET /api/v1/knowledge/files/{id}": "POST /api/v1/knowledge/files -> [201] getFile ->",
    "GET /api/v1/knowledge/files/{id}/content": "POST /api/v1/knowledge/files -> [201] getFileContent ->",
    "DELETE /api/v1/knowledge/files/{id}": "POST /api/v1/knowledge/files -> [201] deleteFile ->",
    "GET /api/v1/memory/{id}": "POST /api/v1/memory -> [201] getMemory ->",
    "DELETE /api/v1/memory/{id}": "POST /api/v1/memory -> [201] deleteMemory ->",
}


def main(path: str) -> int:
    linked, reached = Counter(), Counter()
    with open(path, encoding="utf-8") as events:
        for line in events:
            event = json.loads(line).get("ScenarioFinished")
            if not event or event.get("phase") != "stateful":
                continue
            recorder = event["recorder"]
            for case_id, case in recorder.get("cases", {}).items():
                value = case["value"]
                label = f"{value['method']} {value['path']}"
                transition = case.get("transition") or {}
                link = TARGETS.get(label)
                # e.g. "POST /api/v1/memory -> [201] getMemory -> GET /api/v1/memory/{id}"
                if link is None or not transition.get("id", "").startswith(link):
                    continue
                linked[label] += 1
                response = (recorder.get("interactions", {}).get(case_id) or {}).get("response") or {}
                if 200 <= response.get("status_code", 0) < 300:
                    reached[label] += 1
    print("stateful phase, calls through the spec's link from the creating operation's 201:")
    for label in TARGETS:
        print(f"  {label:42} {linked[label]:5} calls, {reached[label]:5} answered 2xx")
    missing = [label for label in TARGETS if reached[label] == 0]
    if missing:
        print("never reached a real resource: " + ", ".join(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
