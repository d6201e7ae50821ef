#!/usr/bin/env python3
"""Docs check: every key of the shipped policy and every rule id is
documented in policies/README.md.  Closing line: "docs: N passed, M failed"."""
import re
import sys

policy = open("policies/default.yaml", encoding="utf-8").read()
readme = open("policies/README.md", encoding="utf-8").read()
rules_h = open("include/rules.h", encoding="utf-8").read()

keys = set()
for line in policy.splitlines():
    if line.lstrip().startswith("#"):
        continue
    m = re.match(r"^\s*([a-z][a-z0-9-]*):(\s|$)", line)
    if m:
        keys.add(m.group(1))
enum = rules_h[rules_h.index("enum rule_id {") : rules_h.index("RULE_COUNT")]
rules = {n.lower().replace("_", "-") for n in re.findall(r"\bRULE_([A-Z_]+),", enum)}

passed = failed = 0
for word in sorted(keys | rules):
    if re.search(r"`[^`]*\b" + re.escape(word) + r"\b[^`]*`", readme) or re.search(
        r"\b" + re.escape(word) + r":", readme
    ):
        passed += 1
    else:
        failed += 1
        print(f"FAIL policies/README.md does not document `{word}`")
if len(rules) != 13:
    failed += 1
    print(f"FAIL expected 13 rules in include/rules.h, found {len(rules)}")
print(f"docs: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
