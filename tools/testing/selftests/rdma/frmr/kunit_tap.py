#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
# kunit_tap.py - one line per KUnit case, "ok|not_ok|skip suite.case", from the JSON that the
# kernel tree's KTAP parser wrote (tools/testing/kunit/kunit.py parse --json=FILE).
#
# Usage: kunit_tap.py SUITE_REGEX FILE.json...
# A case the parser saw crash or go missing has status ERROR (and often no name): not_ok.
import json
import re
import sys

STATUS = {'PASS': 'ok', 'SKIP': 'skip'}


def cases(group, prefix):
    for case in group['test_cases']:
        yield STATUS.get(case['status'], 'not_ok'), prefix + (case['name'] or '(unnamed)')
    for sub in group['sub_groups']:
        yield from cases(sub, prefix + sub['name'] + '.')


pat = re.compile(sys.argv[1])
for path in sys.argv[2:]:
    with open(path, encoding='utf-8') as f:
        top = json.load(f)
    for suite in top['sub_groups']:
        if pat.search(suite['name']):
            for status, name in cases(suite, suite['name'] + '.'):
                print(status, name)
