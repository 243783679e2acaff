#!/usr/bin/env python3
"""check.py: run a sanitized application and judge its exit and stderr.

    check.py pass|fail [--want TEXT]... [--never TEXT]... -- PROGRAM [ARGS...]

`pass`: the program must exit 0; `fail`: it must exit non-zero (a
sanitizer's report).  Every --want text must appear in its stderr, no
--never text may.  Sanitizer reports ("ERROR: AddressSanitizer",
"WARNING: ThreadSanitizer", "runtime error:") and ASan's "ignoring
requested __asan_handle_no_return" warning are --never texts of every
`pass` run.  The output is echoed for the test log.
"""
import subprocess
import sys

ALWAYS_NEVER = [
    'ERROR: AddressSanitizer',
    'ERROR: LeakSanitizer',
    'WARNING: ThreadSanitizer',
    'ThreadSanitizer: ',
    'runtime error:',
    'ignoring requested __asan_handle_no_return',
    'AddressSanitizer: ',
]


def main():
    args = sys.argv[1:]
    mode, args = args[0], args[1:]
    want, never = [], []
    while args and args[0] != '--':
        opt, text, args = args[0], args[1], args[2:]
        (want if opt == '--want' else never).append(text)
    cmd = args[1:]
    if mode == 'pass':
        never += ALWAYS_NEVER
    p = subprocess.run(cmd, capture_output=True, text=True, errors='replace')
    sys.stdout.write(p.stdout)
    sys.stdout.write(p.stderr)
    problems = []
    if mode == 'pass' and p.returncode != 0:
        problems.append(f'exit status {p.returncode}, expected 0')
    if mode == 'fail' and p.returncode == 0:
        problems.append('exit status 0, expected a failure (a sanitizer report)')
    for t in want:
        if t not in p.stderr:
            problems.append(f'stderr lacks {t!r}')
    for t in never:
        if t in p.stderr:
            problems.append(f'stderr has {t!r}')
    for line in problems:
        print(f'check.py: {" ".join(cmd)}: {line}')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
