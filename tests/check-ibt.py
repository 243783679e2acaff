#!/usr/bin/env python3
"""check-ibt.py: libcoop.so is marked IBT-compatible, and rightly so.

    check-ibt.py LIBRARY

Fails (exit 1, one line per problem) when
  - `readelf -n` shows no "x86 feature: IBT" property, or claims SHSTK
    (a switch returns on another stack: no shadow-stack support);
  - an exported function, an .init_array/.fini_array entry or a known
    indirect-branch target inside the library (task_entry, the SIGSEGV
    handler, pthread_once and key callbacks) does not start with endbr64;
  - the library lost its constructor (.init_array is empty).
"""
import re
import subprocess
import sys

INDIRECT = ['task_entry', 'on_segv', 'install', 'make_key', 'altstack_free',
            'detect_checkers', 'uninstall']


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def main():
    lib = sys.argv[1]
    problems = []
    notes = run('readelf', '-nW', lib)
    feat = re.findall(r'x86 feature: (.*)', notes)
    if not feat or 'IBT' not in feat[0]:
        problems.append(f'no IBT property in readelf -n (x86 feature: {feat})')
    if feat and 'SHSTK' in feat[0]:
        problems.append('SHSTK claimed: coop has no shadow-stack support')

    # Function symbols: name -> address (.symtab when not stripped, else .dynsym).
    funcs, exported = {}, set()
    for line in run('readelf', '-sW', lib).splitlines():
        f = line.split()
        if len(f) >= 8 and f[3] == 'FUNC' and f[6] != 'UND':
            name = f[7].split('@')[0]
            funcs.setdefault(name, int(f[1], 16))
            if f[4] in ('GLOBAL', 'WEAK') and f[5] == 'DEFAULT':
                exported.add(name)

    # The first instruction at every address of interest.
    first = {}
    cur = None
    for line in run('objdump', '-d', '--no-show-raw-insn', lib).splitlines():
        m = re.match(r'^([0-9a-f]+) <([^>]+)>:$', line)
        if m:
            cur = int(m.group(1), 16)
            continue
        m = re.match(r'^\s+([0-9a-f]+):\s+(\S+)', line)
        if m and cur is not None and int(m.group(1), 16) == cur:
            first[cur] = m.group(2)
            cur = None

    def check(what, addr):
        if first.get(addr) != 'endbr64':
            problems.append(f'{what} at {addr:#x} starts with {first.get(addr)!r}, not endbr64')

    for name in sorted(exported):
        check(f'exported {name}', funcs[name])
    for name in INDIRECT:
        if name in funcs:
            check(f'indirect target {name}', funcs[name])

    # .init_array / .fini_array entries (relocated: R_X86_64_RELATIVE addends).
    dyn = run('readelf', '-dW', lib)
    arrays = {}
    for tag in ('INIT_ARRAY', 'FINI_ARRAY'):
        a = re.search(r'\(' + tag + r'\)\s+0x([0-9a-f]+)', dyn)
        n = re.search(r'\(' + tag + r'SZ\)\s+(\d+)', dyn)
        arrays[tag] = (int(a.group(1), 16), int(n.group(1))) if a and n else (0, 0)
    if arrays['INIT_ARRAY'][1] == 0:
        problems.append('no .init_array: the constructor is gone')
    relocs = {}
    for line in run('readelf', '-rW', lib).splitlines():
        f = line.split()
        if len(f) >= 4 and f[2] == 'R_X86_64_RELATIVE':
            relocs[int(f[0], 16)] = int(f[3], 16)
    for tag, (addr, size) in arrays.items():
        for off in range(0, size, 8):
            target = relocs.get(addr + off)
            if target is None:
                problems.append(f'{tag}[{off // 8}]: no relocation found')
            else:
                check(f'{tag}[{off // 8}]', target)

    for p in problems:
        print(f'check-ibt: {lib}: {p}')
    print(f'check-ibt: {len(exported)} exported functions, '
          f'{arrays["INIT_ARRAY"][1] // 8} constructors, {arrays["FINI_ARRAY"][1] // 8} destructors: '
          f'{"FAILED" if problems else "ok"}')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
