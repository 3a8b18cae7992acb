"""Which operations answered with a 2xx, from the requests schemathesis made (its HAR
report): prints each operation's answers by status and exits non-zero when one never
answered with a 2xx.

    python coverage.py openapi.json requests.har
"""

import json
import re
import sys
from collections import Counter, defaultdict
from urllib.parse import urlsplit

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
# schemathesis reads the document itself (it could not have run otherwise) and leaves its
# operation out of the tests.
THE_DOCUMENT = "getOpenApiDocument"


def operations(document):
    """(method, compiled path pattern, operation id) for every operation of the document."""
    found = []
    for path, item in document["paths"].items():
        segments = ("[^/]+" if s.startswith("{") else re.escape(s) for s in path.split("/"))
        pattern = re.compile("^" + "/".join(segments) + "$")
        for method, operation in item.items():
            if method in METHODS:
                found.append((method.upper(), pattern, operation["operationId"]))
    return found


def statuses(known, har):
    """Each operation's answers: operation id -> Counter of status codes."""
    seen = defaultdict(Counter)
    for entry in har["log"]["entries"]:
        method = entry["request"]["method"]
        path = urlsplit(entry["request"]["url"]).path
        for candidate, pattern, operation in known:
            if candidate == method and pattern.match(path):
                seen[operation][entry["response"]["status"]] += 1
                break
    return seen


def main(document_path, har_path):
    with open(document_path) as file:
        document = json.load(file)
    with open(har_path) as file:
        har = json.load(file)
    known = operations(document)
    seen = statuses(known, har)
    missing = []
    print(f"{'operation':<20} {'requests':>8} {'2xx':>5}  statuses")
    for _, _, operation in sorted(known, key=lambda o: o[2]):
        answers = seen.get(operation, Counter())
        if operation == THE_DOCUMENT:
            print(f"{operation:<20} {'':>8} {'':>5}  read by schemathesis to start")
            continue
        ok = sum(n for status, n in answers.items() if 200 <= status < 300)
        shown = " ".join(f"{status}x{n}" for status, n in sorted(answers.items()))
        print(f"{operation:<20} {sum(answers.values()):>8} {ok:>5}  {shown}")
        if ok == 0:
            missing.append(operation)
    if missing:
        print(f"never answered with a 2xx: {', '.join(missing)}", file=sys.stderr)
        return 1
    print("every operation answered with a 2xx")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
