#!/usr/bin/env python3
"""Compares `vigil scan baseline` with OpenSCAP rule by rule, on this machine.

For every baseline check that names an SCAP Security Guide rule (refs "ssg:RULE") present in the
OVAL content, runs the rule's OVAL definition with `oscap oval eval --id` and puts the two
verdicts side by side. Prints one line per rule, then the agreement over the rules both judged
(passed/failed on our side, true/false on OpenSCAP's). Differences are listed for explaining;
nothing here decides who is right.

With --fixtures, does the same on every check's own fixture trees (content/baseline/*.toml):
each fixture's files are laid over / in a private mount namespace (tmpfs, overlay, chroot;
the machine's files stay untouched) and the rule is judged there; a passing fixture should
make OpenSCAP say true and a failing one false. Fixtures that stand for a running host
(packages, kernel settings, sockets, modules) and the checks OpenSCAP judges from the running
machine whatever the files say (kernel settings, mounts, services, packages) are left out.

Usage: scripts/compare-openscap.py [--vigil BIN] [--oval FILE] [--fixtures] [--json]
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
    "var_password_pam_minlen": ("int", "14"),
    "var_password_pam_minclass": ("int", "3"),
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
    ap.add_argument("--fixtures", action="store_true",
                    help="judge the checks' fixture trees instead of this machine")
    args = ap.parse_args()
    if args.fixtures:
        return fixtures(args)

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


OVERLAY = r"""
set -e
W=$(mktemp -d)
mount -t tmpfs tmpfs "$W"
mkdir -p "$W/upper" "$W/work" "$W/merged" "$W/fx"
cp -a "$FIXTURE/." "$W/fx/"
mount -t overlay overlay -o "lowerdir=$W/fx:/,upperdir=$W/upper,workdir=$W/work" "$W/merged"
mount --bind /proc "$W/merged/proc"
chroot "$W/merged" oscap oval eval --variables "$VARIABLES" --id "$DEF" "$OVAL"
"""

HOST_ONLY = ("packages", "sysctl", "listening", "modules")


def write_fixture(root, fixture):
    for path, f in fixture.get("files", {}).items():
        target = os.path.join(root, path.lstrip("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if isinstance(f, str):
            text, mode, uid, gid = f, "0644", 0, 0
        else:
            text, mode, uid, gid = f.get("text", ""), f.get("mode", "0644"), f.get("uid", 0), f.get("gid", 0)
        with open(target, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(target, int(mode, 8))
        os.chown(target, uid, gid)
    for path, mode in fixture.get("dirs", {}).items():
        target = os.path.join(root, path.lstrip("/"))
        os.makedirs(target, exist_ok=True)
        os.chmod(target, int(mode, 8))


def fixtures(args):
    import glob
    import shutil
    import tomllib
    ovals = [(path, open(path, encoding="utf-8").read()) for path in (args.oval or DEFAULT_OVAL)]
    tmp = tempfile.mkdtemp(prefix="vigil-oscap-")
    variables = os.path.join(tmp, "variables.xml")
    variables_file(variables)
    judged = agree = skipped = 0
    differ = []
    for pack in sorted(glob.glob("content/baseline/*.toml")):
        for check in tomllib.load(open(pack, "rb")).get("check", []):
            # OpenSCAP reads these from the running machine whatever the files say: kernel
            # settings (/proc/sys), mounts (/proc/mounts), services (systemd's unit state),
            # packages (the apt cache). Only vigil can judge them on a tree.
            if check["test"]["type"] in ("sysctl", "mount", "service", "package"):
                continue
            for ref in check.get("refs", []):
                if not ref.startswith("ssg:"):
                    continue
                def_id = f"oval:ssg-{ref[4:]}:def:1"
                source = next((p for p, text in ovals if f'id="{def_id}"' in text), None)
                if source is None:
                    continue
                for want, items in (("true", check.get("pass", [])), ("false", check.get("fail", []))):
                    for i, fx in enumerate(items):
                        if any(k in fx for k in HOST_ONLY):
                            skipped += 1
                            continue
                        root = os.path.join(tmp, "fixture")
                        shutil.rmtree(root, ignore_errors=True)
                        os.makedirs(root)
                        write_fixture(root, fx)
                        env = dict(os.environ, FIXTURE=root, VARIABLES=variables, DEF=def_id, OVAL=source)
                        ev = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", OVERLAY],
                                            capture_output=True, text=True, env=env)
                        m = re.search(rf"Definition {re.escape(def_id)}: (\S+)", ev.stdout)
                        verdict = m.group(1) if m else "error"
                        line = f"{check['id']} {'pass' if want == 'true' else 'fail'} fixture {i}: oscap {verdict}"
                        if verdict in ("true", "false"):
                            judged += 1
                            if verdict == want:
                                agree += 1
                                mark = "same"
                            else:
                                differ.append(line)
                                mark = "DIFF"
                        else:
                            mark = "    "
                        if args.json:
                            print(json.dumps({"id": check["id"], "ssg": ref[4:], "fixture": i, "vigil": "passed" if want == "true" else "failed", "openscap": verdict}))
                        else:
                            print(f"{mark}  {line}")
    pct = 100.0 * agree / judged if judged else 0.0
    print(f"\nfixtures: {judged} judged by both, {agree} agree ({pct:.1f} %), {skipped} host-only fixtures left out")
    for d in differ:
        print(f"  differ: {d}")


if __name__ == "__main__":
    main()
