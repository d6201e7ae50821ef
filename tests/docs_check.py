#!/usr/bin/env python3
"""Docs check: every key of the shipped policy and every rule id is
documented in policies/README.md, and every review setting (the table in
milter/holds/review_config.c) is in packaging/review.yaml with its default.
Closing line: "docs: N passed, M failed"."""
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
# {"name", KEY_TYPE, FIELD(field), DEFAULT, ...: a quoted DEFAULT must be the value
# review.yaml shows (those built from a macro, such as the helper's path, are not).
review_keys = re.findall(r'^\s*\{"([a-z][a-z0-9-]*)", KEY_[A-Z_]+, FIELD\(\w+\), ([^,]+),',
                         open("milter/holds/review_config.c", encoding="utf-8").read(), re.M)
review_yaml = open("packaging/review.yaml", encoding="utf-8").read()
for key, default in review_keys:
    m = re.search(r"^(#?)" + re.escape(key) + r":(.*)$", review_yaml, re.M)
    literal = re.fullmatch(r'"(.*)"', default.strip())
    shown = m.group(2).strip().strip('"') if m else None
    if m is None:
        failed += 1
        print(f"FAIL packaging/review.yaml does not list the setting `{key}`")
    elif literal and not m.group(1) and shown != literal.group(1):
        failed += 1
        print(f"FAIL packaging/review.yaml: `{key}: {shown}`, but its default is {default.strip()}")
    else:
        passed += 1
if len(review_keys) < 27:
    failed += 1
    print(f"FAIL expected the review settings in milter/holds/review_config.c, found {len(review_keys)}")
if len(rules) != 13:
    failed += 1
    print(f"FAIL expected 13 rules in include/rules.h, found {len(rules)}")
print(f"docs: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
