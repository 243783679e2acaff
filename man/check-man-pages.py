#!/usr/bin/env python3
"""Check coop's man pages (section 3, and section 7 for coop(7)); run by
`meson test man-pages`.

usage: check-man-pages.py MANDIR MAPFILE

Fails (exit 1) when:
  - a global symbol of the version script MAPFILE has no MANDIR/<symbol>.3;
  - a page is not installed by MANDIR/meson.build;
  - a `.so` alias is not the single line `.so man3/<page>.3`, its target
    is missing or is itself an alias, or the target's NAME line does not
    list the alias's name;
  - a page lacks a required section (ERRORS and the rest for the pages that
    document functions), or its NAME line is not `name, ... \\- text`;
  - rendering a page with `man --warnings -l` (as lintian does) or with
    `groff -man -ww -z` prints anything on stderr, or fails;
  - lexgrog (man-db's whatis parser, used by lintian) cannot parse a page;
  - coop(3)'s SEE ALSO does not name every other page, with its section.
Exits 77 (skipped) when man or groff is missing.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

FUNCTION_SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "RETURN VALUE", "ERRORS",
                     "NOTES", "EXAMPLE", "SEE ALSO"]
OVERVIEW_SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"]
SO_RE = re.compile(r"^\.so man3/([A-Za-z0-9_.-]+\.3)$")

errors = []


def fail(msg):
    errors.append(msg)


def map_symbols(path):
    """The global symbols of every version node of a GNU ld version script."""
    text = re.sub(r"/\*.*?\*/", "", open(path, encoding="utf-8").read(), flags=re.S)
    text = re.sub(r"#[^\n]*", "", text)
    syms, scope = [], None
    for tok in re.findall(r"[A-Za-z0-9_.*]+:|[A-Za-z0-9_.*]+|[{};]", text):
        if tok in ("global:", "local:"):
            scope = tok[:-1]
        elif tok in ("{", ";"):
            continue
        elif tok == "}":
            scope = None
        elif scope == "global":
            syms.append(tok)
    return syms


def sections(lines):
    out = []
    for line in lines:
        m = re.match(r'^\.SH\s+"?([^"]*?)"?\s*$', line)
        if m:
            out.append(m.group(1))
    return out


def name_line(lines):
    """The text of the NAME section, joined."""
    text, inside = [], False
    for line in lines:
        if line.startswith(".SH"):
            if inside:
                break
            inside = line.split(None, 1)[1].strip().strip('"') == "NAME"
            continue
        if inside and not line.startswith('.\\"'):
            text.append(line)
    return " ".join(text)


def run(cmd, cwd, env):
    p = subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return p.returncode, p.stderr.decode("utf-8", "replace").strip()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    mandir, mapfile = (os.path.abspath(a) for a in sys.argv[1:])
    man, groff, lexgrog = (shutil.which(p) for p in ("man", "groff", "lexgrog"))
    if not man or not groff:
        print("man or groff not found: skipped")
        return 77

    pages = sorted(f for f in os.listdir(mandir) if f.endswith((".3", ".7")))
    content = {p: open(os.path.join(mandir, p), encoding="utf-8").read().splitlines()
               for p in pages}
    aliases = {}
    for p, lines in content.items():
        if lines and lines[0].startswith(".so"):
            m = SO_RE.match(lines[0])
            if len(lines) != 1 or not m:
                fail(f"{p}: an alias must be the one line `.so man3/<page>.3`")
            else:
                aliases[p] = m.group(1)
    full = [p for p in pages if p not in aliases]
    names = {p: name_line(content[p]) for p in full}

    # (a) every exported symbol has a page.
    symbols = map_symbols(mapfile)
    if not symbols:
        fail(f"{mapfile}: no global symbol found")
    for s in symbols:
        if f"{s}.3" not in pages:
            fail(f"{s}: exported by {os.path.basename(mapfile)} but man/{s}.3 is missing")

    # Every page is installed.
    build = open(os.path.join(mandir, "meson.build"), encoding="utf-8").read()
    for p in pages:
        if f"'{p}'" not in build:
            fail(f"{p}: not listed in man/meson.build")

    # (c) aliases point at full pages that name them.
    for p, target in aliases.items():
        if target not in content:
            fail(f"{p}: .so target man3/{target} does not exist")
        elif target in aliases:
            fail(f"{p}: .so target man3/{target} is itself an alias")
        else:
            listed = names[target].split("\\-")[0]
            if p[:-2] not in re.findall(r"[A-Za-z0-9_]+", listed):
                fail(f"{p}: not listed in the NAME section of {target}")

    # (d) sections and the whatis line.
    symset = set(symbols)
    for p in full:
        have = sections(content[p])
        listed = re.findall(r"[A-Za-z0-9_]+", names[p].split("\\-")[0])
        documents_function = any(n in symset for n in listed)
        for sec in FUNCTION_SECTIONS if documents_function else OVERVIEW_SECTIONS:
            if sec not in have:
                fail(f"{p}: no {sec} section")
        if have[:1] != ["NAME"]:
            fail(f"{p}: NAME is not the first section")
        if not re.fullmatch(r"[A-Za-z0-9_]+(, [A-Za-z0-9_]+)* \\- \S.*", names[p]):
            fail(f"{p}: NAME must read `name, name \\- description`, not {names[p]!r}")
        if p[:-2] not in listed:
            fail(f"{p}: NAME does not list {p[:-2]}")
        sec = p[-1]
        if not any(re.match(r"^\.TH\s+" + re.escape(p[:-2]) + r"\s+" + sec + r"\s", l, re.I)
                   for l in content[p]):
            fail(f"{p}: no `.TH {p[:-2].upper()} {sec} ...` line")
        if any("\\'" in l for l in content[p] if not l.startswith(".ds")):
            fail(f"{p}: acute accent \\' (write \\(aq for a quote)")

    # coop(3) refers to every other page.
    if "coop.3" in content:
        refs = set(re.findall(r"^\.BR\s+(\S+)\s+\(([37])\)", "\n".join(content["coop.3"]), re.M))
        for p in pages:
            if p != "coop.3" and (p[:-2], p[-1]) not in refs:
                fail(f"coop.3: SEE ALSO does not name {p[:-2]}({p[-1]})")

    # (b) render every page as lintian does, from a tree where man3/ is
    # this directory, so that .so requests resolve.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8",
           "MANROFFSEQ": "", "MANWIDTH": "80"}
    with tempfile.TemporaryDirectory() as tmp:
        os.symlink(mandir, os.path.join(tmp, "man3"))
        for p in pages:
            rel = f"man3/{p}"
            rc, err = run([man, "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", rel], tmp, env)
            if rc != 0 or err:
                fail(f"{p}: man --warnings -l: exit {rc}\n{err}")
            if p in aliases:
                continue
            rc, err = run([groff, "-man", "-ww", "-z", "-Tutf8", rel], tmp, env)
            if rc != 0 or err:
                fail(f"{p}: groff -man -ww -z: exit {rc}\n{err}")
            if lexgrog:
                rc, err = run([lexgrog, rel], tmp, env)
                if rc != 0:
                    fail(f"{p}: lexgrog cannot parse the NAME section (exit {rc}) {err}")

    for e in errors:
        print("FAIL:", e)
    print(f"{len(pages)} pages ({len(full)} full, {len(aliases)} aliases), "
          f"{len(symbols)} exported symbols: {'FAILED' if errors else 'ok'}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
