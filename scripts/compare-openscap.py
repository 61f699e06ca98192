#!/usr/bin/env python3
"""Compares `vigil scan baseline` with OpenSCAP rule by rule, on this machine.

For every baseline check that names an SCAP Security Guide rule (refs "ssg:RULE") present in the
OVAL content, runs the rule's OVAL definition with `oscap oval eval --id` and puts the two
verdicts side by side. Prints one line per rule, then the agreement over the rules both judged
(passed/failed on our side, true/false on OpenSCAP's). Differences are listed for explaining;
nothing here decides who is right.

Usage: scripts/compare-openscap.py [--vigil BIN] [--oval FILE] [--json]
"""
import argparse
import json
import os
import re
import tempfile
import subprocess
import sys

CONTENT = "/usr/share/xml/scap/ssg/content/"
# Debian's own content first (ssg-debian: Debian 11's, with few rules), then the Debian-family
# content with most of them (ssg-debderived: Ubuntu 22.04's).
DEFAULT_OVAL = [CONTENT + "ssg-debian11-oval.xml", CONTENT + "ssg-ubuntu2204-oval.xml"]


# The values of SSG's external variables, set to what the baseline's checks require (what an
# XCCDF profile would pass to the OVAL definitions).
VARIABLES = {
    "var_accounts_maximum_age_login_defs": ("int", "365"),
    "var_accounts_minimum_age_login_defs": ("int", "1"),
    "var_accounts_password_warn_age_login_defs": ("int", "7"),
    "var_password_hashing_algorithm": ("string", "YESCRYPT"),
    "var_accounts_user_umask": ("string", "027"),
}


def variables_file(path):
    vs = "".join(
        f'<variable id="oval:ssg-{name}:var:1" datatype="{kind}" comment="{name}"><value>{value}</value></variable>'
        for name, (kind, value) in VARIABLES.items())
    with open(path, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>'
                '<oval_variables xmlns="http://oval.mitre.org/XMLSchema/oval-variables-5" '
                'xmlns:oval="http://oval.mitre.org/XMLSchema/oval-common-5">'
                '<generator><oval:schema_version>5.11.2</oval:schema_version>'
                '<oval:timestamp>2026-01-01T00:00:00</oval:timestamp></generator>'
                f'<variables>{vs}</variables></oval_variables>')


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vigil", default="target/release/vigil")
    ap.add_argument("--oval", action="append",
                    help="SSG OVAL definitions, repeatable; the first file holding a rule judges it "
                         "(default: ssg-debian's Debian 11 content, then ssg-debderived's Ubuntu 22.04)")
    ap.add_argument("--json", action="store_true", help="one JSON object per rule")
    args = ap.parse_args()

    out = subprocess.run([args.vigil, "scan", "baseline", "--json"], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"vigil scan baseline failed: {out.stderr}")
    ours = [json.loads(l) for l in out.stdout.splitlines() if l.strip()]
    ours = [r for r in ours if r.get("record") == "check"]
    ovals = [(path, open(path, encoding="utf-8").read()) for path in (args.oval or DEFAULT_OVAL)]
    tmp = tempfile.mkdtemp(prefix="vigil-oscap-")
    variables = os.path.join(tmp, "variables.xml")
    variables_file(variables)

    rows = []
    for r in ours:
        for ref in r["refs"]:
            if not ref.startswith("ssg:"):
                continue
            rule = ref[4:]
            def_id = f"oval:ssg-{rule}:def:1"
            source = next((p for p, text in ovals if f'id="{def_id}"' in text), None)
            if source is None:
                rows.append((r, rule, "not in content"))
                continue
            ev = subprocess.run(["oscap", "oval", "eval", "--variables", variables, "--id", def_id, source],
                                capture_output=True, text=True)
            m = re.search(rf"Definition {re.escape(def_id)}: (\S+(?: \S+)?)", ev.stdout)
            verdict = m.group(1) if m else f"error ({ev.stderr.strip().splitlines()[-1] if ev.stderr.strip() else 'no verdict'})"
            rows.append((r, rule, verdict))

    both = agree = 0
    differ = []
    for r, rule, verdict in rows:
        mine = r["status"]
        judged = mine in ("passed", "failed") and verdict in ("true", "false")
        same = judged and ((mine == "passed") == (verdict == "true"))
        if judged:
            both += 1
            agree += same
            if not same:
                differ.append((r, rule, verdict))
        if args.json:
            print(json.dumps({"id": r["id"], "ssg": rule, "vigil": mine, "openscap": verdict,
                              "agree": same if judged else None, "evidence": r["evidence"]}))
        else:
            mark = "same" if same else ("DIFF" if judged else "    ")
            print(f"{mark}  {r['id']:<46} {rule:<52} vigil {mine:<15} oscap {verdict}")
    pct = 100.0 * agree / both if both else 0.0
    summary = {"record": "summary", "rules": len(rows), "judged_by_both": both, "agree": agree,
               "agreement_pct": round(pct, 1), "differ": [d[0]["id"] for d in differ]}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"\n{len(rows)} rules; {both} judged by both; {agree} agree ({pct:.1f} %)")
        for r, rule, verdict in differ:
            print(f"  differ: {r['id']} ({rule}): vigil {r['status']} ({r['evidence']}), oscap {verdict}")


if __name__ == "__main__":
    main()
