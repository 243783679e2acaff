#!/usr/bin/env python3
"""check-exports.py: the exports, the version script and the documented API
agree.

    check-exports.py LIBRARY MAPFILE HEADER MANDIR [X1TABLE]

Fails (exit 1, one line per problem) when
  - the library exports a symbol the version script does not list (a leak),
    or at a version other than the script's node;
  - the version script lists a name the library does not export;
  - <coop/coop.h> declares a coop_ function (not a static inline one) the
    version script does not list, or the script lists one the header does
    not declare;
  - a listed name has no man page MANDIR/<name>.3;
  - (with X1TABLE, the source of the T-X-1 test) a blocking call (one that
    takes an `int64_t deadline`, and coop_join) has no row in its x1_rows
    table: every blocking call is checked against the shared rules R1-R3.
"""
import re
import subprocess
import sys


def exported(lib):
    """{name: version} of the library's defined dynamic symbols."""
    out = subprocess.run(['readelf', '--dyn-syms', '-W', lib], check=True,
                         capture_output=True, text=True).stdout
    syms = {}
    for line in out.splitlines():
        # ppc64 ELFv2 adds "[<localentry>: 8]" after Vis: drop such notes.
        f = re.sub(r'\[[^]]*\]', '', line).split()
        # Num: Value Size Type Bind Vis Ndx Name
        if len(f) < 8 or not f[0].endswith(':') or f[6] == 'UND':
            continue
        if f[4] not in ('GLOBAL', 'WEAK'):
            continue
        name, _, ver = f[7].partition('@')
        syms[name] = ver.lstrip('@').split(' ')[0]
    return syms


def version_script(path):
    """(nodes, {name: node}) of the globals of a GNU version script."""
    text = re.sub(r'/\*.*?\*/', '', open(path).read(), flags=re.S)
    names, nodes = {}, []
    for node, body in re.findall(r'([\w.]+)\s*{(.*?)}\s*[\w.\s]*;', text, flags=re.S):
        nodes.append(node)
        glob = re.search(r'global:(.*?)(local:|$)', body, flags=re.S)
        for name in re.findall(r'([A-Za-z_]\w*)\s*;', glob.group(1) if glob else ''):
            names[name] = node
    return nodes, names


def declared(header):
    """coop_ functions the public header declares (static inline ones are
    not exported: they are compiled into the caller)."""
    text = re.sub(r'/\*.*?\*/', '', open(header).read(), flags=re.S)
    inline = set(re.findall(r'\bstatic\s+inline\s+[^;{(]*?\b(coop_\w+)\s*\(', text))
    return set(re.findall(r'\b(coop_\w+)\s*\(', text)) - inline


# Calls that take a deadline without waiting for it in a task:
# coop_set_deadline sets one; coop_run_once's bounds the calling thread's
# wait for events (the host's, outside any task: R1-R3 do not apply).
NOT_BLOCKING = {'coop_set_deadline', 'coop_run_once'}


def prototypes(text):
    """(name, parameters) of each coop_ function declared in text: the
    parameters up to the matching parenthesis, so that function-pointer
    parameters (coop_offload's fn) do not end them early."""
    for m in re.finditer(r'\b(coop_\w+)\s*\(', text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {'(': 1, ')': -1}.get(text[i], 0)
            i += 1
        if re.match(r'\s*;', text[i:]):
            yield m.group(1), text[m.end():i - 1]


def blocking(header):
    """coop_ functions of the header that wait: they take a deadline."""
    text = re.sub(r'/\*.*?\*/', '', open(header).read(), flags=re.S)
    names = {'coop_join'}
    for name, params in prototypes(text):
        if re.search(r'\bint64_t\s+deadline\b', params):
            names.add(name)
    return names - NOT_BLOCKING


def x1_rows(path):
    """The calls named by the rows of the x1_rows table of the T-X-1 test."""
    text = open(path).read()
    m = re.search(r'\bx1_rows\s*\[[^]]*\]\s*=\s*{(.*?)\n};', text, flags=re.S)
    return set(re.findall(r'{\s*"(coop_\w+)"', m.group(1))) if m else set()


def main():
    lib, mapfile, header, mandir = sys.argv[1:5]
    problems = []
    syms = exported(lib)
    nodes, listed = version_script(mapfile)
    for name, ver in sorted(syms.items()):
        if name in nodes:
            continue  # the version node's own definition symbol
        if name not in listed:
            problems.append(f'{name}: exported but not in {mapfile}')
        elif ver != listed[name]:
            problems.append(f'{name}: exported at {ver!r}, the script says {listed[name]}')
    for name in sorted(listed):
        if name not in syms:
            problems.append(f'{name}: in {mapfile} but not exported')
    decl = declared(header)
    for name in sorted(decl - set(listed)):
        problems.append(f'{name}: declared in {header} but not in {mapfile}')
    for name in sorted(set(listed) - decl):
        problems.append(f'{name}: in {mapfile} but not declared in {header}')
    for name in sorted(listed):
        try:
            open(f'{mandir}/{name}.3').close()
        except OSError:
            problems.append(f'{name}: no man page {mandir}/{name}.3')
    if len(sys.argv) > 5:
        rows = x1_rows(sys.argv[5])
        for name in sorted(blocking(header) - rows):
            problems.append(f'{name}: a blocking call with no row in the T-X-1 table of {sys.argv[5]}')
    for p in problems:
        print(p)
    print(f'{len(syms)} exported, {len(listed)} in the version script, '
          f'{len(decl)} declared: {len(problems)} problems')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
