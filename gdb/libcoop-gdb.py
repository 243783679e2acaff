# libcoop-gdb.py: gdb commands for programs that use coop (libcoop.so.1).
#
# Installed as <datadir>/gdb/auto-load/<libdir>/libcoop.so.<version>-gdb.py,
# so gdb loads it with the library; or load it by hand: `source <path>`.
#
#   coop tasks [CONTEXT]     list the tasks of the context the selected
#   info coop-tasks [CONTEXT]   thread is running (or of CONTEXT, an
#                               expression of type struct coop_context *):
#                               for a blocked task, the call it is blocked
#                               in, what it waits for and until when
#   coop bt ID [BT-ARGS...]  the backtrace of task ID of that context, as
#                            it stands suspended (BT-ARGS go to `backtrace`,
#                            e.g. `coop bt 2 full`)
#
# Outside coop_run() a thread runs no context; then set the convenience
# variable $coop_context to the context to look at (`set $coop_context =
# ctx`) or give it to `coop tasks`.
#
# What it reads: the thread-local coop__running and coop__self and the
# structures of src/coop-private.h and src/timer.h.  These are private to
# the library (hidden symbols), so gdb finds them only in its DWARF debug
# information: a build with -g, or the libcoop1-dbgsym package on Debian.
#
# A blocked task (COOP__BLOCKED: suspended in coop__wait, the one wait path
# of src/wait.c) is described by its wait_kind (enum coop_wait), wait_obj
# (the task or group waited on), timer (1 + its index in the context's
# timer heap, whose entry holds the wait's effective deadline) and its
# cancel bits.  The time left until a deadline needs the inferior's
# CLOCK_MONOTONIC: for a local process it is gdb's own (corrected by the
# two processes' time-namespace offsets), for a remote one a call of
# coop_now() in the inferior; a core file has no clock, so there the
# listing gives the absolute deadline instead.
#
# `coop bt` works on a live process and on a core file alike: it never
# changes a register.  While it runs, a frame unwinder claims the innermost
# frame of the selected thread and says its caller is the suspended task:
# the registers the task's last switch saved on its own stack.  gdb then
# unwinds the task's stack as usual, with its debug information.  The
# saved frame is the one the assembly switch of the x86-64 backend builds
# (src/arch/x86_64_sysv_elf.S); on other targets, and with the ucontext
# backend, `coop tasks` works (without the place a ready task resumes at)
# and `coop bt` says it is not supported.
#
# Every error is a gdb.GdbError with one line saying what is wrong.

import contextlib
import os
import re
import time

import gdb

try:
    from gdb.unwinder import Unwinder, register_unwinder
except ImportError:  # a gdb without Python unwinders (< 7.10)
    Unwinder = object
    register_unwinder = None

# The states of src/coop-private.h, enum coop__state, as coop_context_tasks()
# and the man pages name them.
STATE_NAMES = {
    "COOP__READY": "READY",
    "COOP__RUNNING": "RUNNING",
    "COOP__BLOCKED": "BLOCKED",
    "COOP__DONE": "DONE",
    "COOP__FREE": "FREE",
    "COOP__NEW": "READY",
}

# What a blocked task waits in (task->wait_kind: enum coop_wait of
# include/coop/coop.h), as the public call it is blocked in.
WAIT_JOIN = 1   # COOP_WAIT_JOIN: coop_join, coop_join_until; wait_obj the task
WAIT_SLEEP = 2  # COOP_WAIT_SLEEP: coop_sleep_until; no wait_obj
WAIT_FD = 3     # COOP_WAIT_FD: coop_fd_wait (also inside coop_read...); wait_fd the fd
WAIT_CHAN = 4   # COOP_WAIT_CHAN: coop_chan_send or coop_chan_recv; wait_obj the channel
WAIT_SELECT = 5  # COOP_WAIT_SELECT: coop_chan_select; nwaits channel ops
WAIT_MUTEX = 6  # COOP_WAIT_MUTEX: coop_mutex_lock (or a signalled coop_cond_wait); the mutex
WAIT_COND = 7   # COOP_WAIT_COND: coop_cond_wait; the condition variable
WAIT_SEM = 8    # COOP_WAIT_SEM: coop_sem_acquire; the semaphore
WAIT_GROUP = 9  # COOP_WAIT_GROUP: coop_group_wait; wait_obj the group
WAIT_NOTIFY = 10  # COOP_WAIT_NOTIFY: coop_notify_wait; wait_obj the notifier
WAIT_OFFLOAD = 11  # COOP_WAIT_OFFLOAD: coop_offload; no wait_obj
WAIT_CALLS = {WAIT_JOIN: "coop_join", WAIT_SLEEP: "coop_sleep_until", WAIT_FD: "coop_fd_wait",
              WAIT_CHAN: "coop_chan_send/recv", WAIT_SELECT: "coop_chan_select",
              WAIT_MUTEX: "coop_mutex_lock", WAIT_COND: "coop_cond_wait",
              WAIT_SEM: "coop_sem_acquire", WAIT_GROUP: "coop_group_wait",
              WAIT_NOTIFY: "coop_notify_wait", WAIT_OFFLOAD: "coop_offload"}
# What the Wait column calls the object of each kind.
WAIT_OBJECTS = {WAIT_GROUP: "group", WAIT_CHAN: "chan", WAIT_MUTEX: "mutex", WAIT_COND: "cond",
                WAIT_SEM: "sem", WAIT_NOTIFY: "notify"}

# task->cancel (src/wait.h)
CANCEL_PENDING = 0x1
CANCEL_SHIELD = 0x2

COOP_FOREVER = -1  # a deadline: none

# The x86-64 frame of a suspended context, from its saved sp (see the table
# at the top of src/arch/x86_64_sysv_elf.S): 8-byte slots.
X86_64_SAVED = [("r15", 8), ("r14", 16), ("r13", 24), ("r12", 32), ("rbx", 40), ("rbp", 48)]
X86_64_RETURN = 56  # the return address
X86_64_FRAME = 64   # rsp after the switch's ret

NO_DEBUG_INFO = ("libcoop's debug information is not loaded (coop__running and struct "
                 "coop_task are private to the library): install its debug symbols "
                 "(libcoop1-dbgsym on Debian) or use a build with -g")


def _lookup_type(name):
    try:
        t = gdb.lookup_type(name)
        t.fields()  # an incomplete type (the public headers') has none
        return t
    except (gdb.error, TypeError):
        raise gdb.GdbError(NO_DEBUG_INFO)


def _fields(type_name):
    """The names of the fields of a struct (an empty set if unknown)."""
    try:
        return {f.name for f in gdb.lookup_type(type_name).fields()}
    except (gdb.error, TypeError):
        return set()


# The library's thread-local state: one block, struct coop__thread
# (src/coop-private.h), whose members the code names coop__self,
# coop__running, ... through macros.
_TLS_FIELDS = {"coop__self": "self", "coop__running": "running"}


def _tls(name):
    """The value of the library's thread-local variable `name` (or member
    of its thread block) in the selected thread."""
    if gdb.selected_thread() is None:
        raise gdb.GdbError("no process or core file: run the program or load a core file first")
    field = _TLS_FIELDS.get(name)
    var = "coop__thread" if field else name
    sym = gdb.lookup_global_symbol(var) or gdb.lookup_static_symbol(var)
    if sym is None:
        raise gdb.GdbError(NO_DEBUG_INFO)
    try:
        value = sym.value(gdb.selected_frame())
        return value[field] if field else value
    except gdb.error as e:
        raise gdb.GdbError("cannot read %s of this thread: %s" % (name, e))


def _context(arg):
    """The struct coop_context * to look at: the argument, else
    $coop_context, else the context the selected thread is running."""
    ctx_ptr = _lookup_type("struct coop_context").pointer()
    _lookup_type("struct coop_task")
    if arg and arg.strip():
        try:
            ctx = gdb.parse_and_eval(arg)
        except gdb.error as e:
            raise gdb.GdbError("cannot evaluate %r: %s" % (arg, e))
        source = arg.strip()
    else:
        ctx = gdb.convenience_variable("coop_context")
        source = "$coop_context"
        if ctx is None:
            ctx = _tls("coop__running")
            if int(ctx) == 0:
                raise gdb.GdbError(
                    "this thread is not running a coop context (it is not inside coop_run); "
                    "name one: `coop tasks CONTEXT` or `set $coop_context = CONTEXT`")
            return ctx.cast(ctx_ptr)
    try:
        ctx = ctx.cast(ctx_ptr)
    except gdb.error as e:
        raise gdb.GdbError("%s is not a struct coop_context *: %s" % (source, e))
    if int(ctx) == 0:
        raise gdb.GdbError("%s is a null context" % source)
    return ctx


def _tasks(ctx):
    """The tasks the context holds, in spawn order (by id)."""
    tasks, seen = [], set()
    try:
        t = ctx["tasks"]["lh_first"]
        while int(t) != 0:
            if int(t) in seen or len(seen) > 10000000:
                raise gdb.GdbError("the task list of context 0x%x is corrupt (a cycle)" % int(ctx))
            seen.add(int(t))
            tasks.append(t)
            t = t["all"]["le_next"]
        tasks.sort(key=lambda t: int(t["id"]))
    except gdb.MemoryError as e:
        raise gdb.GdbError("cannot read the tasks of context 0x%x: %s" % (int(ctx), e))
    return tasks


def _state(task):
    return STATE_NAMES.get(str(task["state"]), str(task["state"]))


def _name(task):
    try:
        return task["name"].string(errors="replace")
    except gdb.error:
        return "?"


def _backend():
    """'x86-64' when suspended tasks have the x86-64 assembly frame, else
    a description of why `coop bt` cannot read them."""
    arch_ctx = _lookup_type("struct coop__arch_ctx")
    if [f.name for f in arch_ctx.fields()] != ["sp"]:
        return None, "the ucontext backend"
    try:
        arch = gdb.selected_frame().architecture().name()
    except gdb.error:
        arch = "?"
    if arch != "i386:x86-64":
        return None, "the %s assembly backend" % arch
    return "x86-64", None


def _read_u64(addr):
    data = gdb.selected_inferior().read_memory(addr, 8)
    return int.from_bytes(bytes(data), "little")


def _saved_frame(task):
    """The registers the task's last switch saved: {name: int}, with rip
    and rsp as they are once the switch returns."""
    sp = int(task["arch"]["sp"])
    try:
        regs = {name: _read_u64(sp + off) for name, off in X86_64_SAVED}
        regs["rip"] = _read_u64(sp + X86_64_RETURN)
    except gdb.MemoryError as e:
        raise gdb.GdbError("cannot read the saved frame of task %d at 0x%x: %s"
                           % (int(task["id"]), sp, e))
    regs["rsp"] = sp + X86_64_FRAME
    return regs


def _symbol_at(pc):
    """The name of the function at pc (innermost, inlined ones included),
    or None."""
    try:
        block = gdb.block_for_pc(pc)
        while block is not None and block.function is None:
            block = block.superblock
        if block is not None:
            return block.function.print_name
    except RuntimeError:
        pass
    try:
        out = gdb.execute("info symbol 0x%x" % pc, to_string=True)
    except gdb.error:
        return None
    m = re.match(r"(\S+)( \+ \d+)? in section", out)
    return m.group(1) if m else None


def _function(task):
    """The name of the task's function."""
    fn = int(task["fn"])
    return _symbol_at(fn) or "0x%x" % fn


def _fresh(task):
    """Whether a task has not run yet (its frame is not a suspended one)."""
    return str(task["state"]) == "COOP__NEW"


def _timens_monotonic(pid):
    """The CLOCK_MONOTONIC offset of process pid's time namespace, in ns
    (0 when unknown: a kernel without time namespaces)."""
    try:
        with open("/proc/%s/timens_offsets" % pid) as f:
            for line in f:
                words = line.split()
                if len(words) == 3 and words[0] in ("monotonic", "1"):
                    return int(words[1]) * 1000000000 + int(words[2])
    except (OSError, ValueError):
        pass
    return 0


def _target_kind():
    """'native' (a local process), 'core' (a core file), 'remote'..., or
    None when there is nothing to ask."""
    conn = getattr(gdb.selected_inferior(), "connection", None)  # gdb >= 12
    if conn is not None:
        return conn.type
    try:
        out = gdb.execute("info target", to_string=True)
    except gdb.error:
        return None
    if "core dump file" in out:
        return "core"
    if "child process" in out or "Native process" in out:
        return "native"
    if "emote" in out:
        return "remote"
    return None


def _now():
    """The inferior's CLOCK_MONOTONIC now (what coop_now() would return),
    in ns, and None; or None and why there is no clock to read."""
    kind = _target_kind()
    if kind == "native":
        # The same kernel clock as gdb's own: no call into the inferior.
        try:
            now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        except AttributeError:  # Python < 3.7
            now = int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1e9)
        pid = gdb.selected_inferior().pid
        return now + _timens_monotonic(pid) - _timens_monotonic("self"), None
    if kind == "core":
        return None, "no clock in a core file"
    if kind in (None, "exec"):
        return None, "no process"
    # Another machine's clock (gdbserver...): ask the inferior.
    try:
        return int(gdb.parse_and_eval("coop_now()")), None
    except (gdb.error, RuntimeError) as e:
        return None, "coop_now() failed: %s" % e


def _span(ns):
    """A duration for people: 999.998s, 12.500ms, 3.000us, 40ns."""
    if ns >= 1000000000:
        return "%.3fs" % (ns / 1e9)
    if ns >= 1000000:
        return "%.3fms" % (ns / 1e6)
    if ns >= 1000:
        return "%.3fus" % (ns / 1e3)
    return "%dns" % ns


def _when(deadline, now):
    """A deadline: the time left (or past it) when now is known, else the
    absolute CLOCK_MONOTONIC time in seconds."""
    if now is None:
        sec, ns = divmod(deadline, 1000000000)
        return "until %d.%03ds" % (sec, ns // 1000000)
    if deadline > now:
        return "in " + _span(deadline - now)
    # Passed, and the task not woken yet (the inferior stopped meanwhile).
    return "overdue " + _span(now - deadline)


def _wait_deadline(task):
    """The effective deadline of a blocked task's wait (the call's own or
    its ambient one, whichever is earlier) from its timer-heap entry;
    COOP_FOREVER when it has none, None when the entry is unreadable."""
    index = int(task["timer"])
    if index == 0:
        return COOP_FOREVER
    try:
        ctx = task["ctx"]
        if index > int(ctx["ntimers"]):
            return None
        entry = ctx["timers"][index - 1]
        if int(entry["task"]) != int(task):
            return None
        return int(entry["deadline"])
    except gdb.MemoryError:
        return None


def _blocked(task):
    """Whether a task is BLOCKED in a wait this script can describe."""
    return _state(task) == "BLOCKED" and "wait_kind" in _fields("struct coop_task")


def _wait_call(task):
    """The public call a BLOCKED task is blocked in."""
    kind = int(task["wait_kind"])
    if kind == WAIT_CHAN:
        return _chan_call(task)
    if kind in WAIT_CALLS:
        return WAIT_CALLS[kind]
    try:  # a kind newer than this script: its enumerator
        for f in gdb.lookup_type("enum coop_wait").fields():
            if f.enumval == kind:
                return "(%s)" % f.name
    except (gdb.error, TypeError):
        pass
    return "(wait kind %d)" % kind


def _chan_call(task):
    """coop_chan_send or coop_chan_recv: which queue of the channel the
    task's wait record is in (src/chan.c)."""
    try:
        chan = task["wait_obj"].cast(_lookup_type("struct coop_chan").pointer())
        q = int(task["waits"]["q"])
        if q == int(chan["senders"].address):
            return "coop_chan_send"
        if q == int(chan["receivers"].address):
            return "coop_chan_recv"
    except (gdb.error, gdb.MemoryError):
        pass
    return WAIT_CALLS[WAIT_CHAN]


def _wait(task, now):
    """The Wait column: what a BLOCKED task waits for (the task or group),
    when its wait ends at the latest, and the cancellation flags of a
    task that has not ended."""
    parts = []
    if _blocked(task):
        kind, obj = int(task["wait_kind"]), int(task["wait_obj"])
        if kind == WAIT_JOIN and obj:
            try:
                ptr = _lookup_type("struct coop_task").pointer()
                parts.append("task %d" % int(task["wait_obj"].cast(ptr)["id"]))
            except gdb.MemoryError:
                parts.append("task 0x%x" % obj)
        elif kind in WAIT_OBJECTS and obj:
            parts.append("%s 0x%x" % (WAIT_OBJECTS[kind], obj))
        elif kind == WAIT_SELECT:
            parts.append("select of %d" % int(task["nwaits"]))
        elif kind == WAIT_FD and "wait_fd" in _fields("struct coop_task"):
            events = int(task["wait_events"])
            what = "+".join(n for bit, n in ((1, "read"), (2, "write")) if events & bit)
            parts.append("fd %d %s" % (int(task["wait_fd"]), what))
        elif obj:
            parts.append("0x%x" % obj)
        deadline = _wait_deadline(task)
        if deadline is None:
            parts.append("until ?")
        elif deadline != COOP_FOREVER:
            parts.append(_when(deadline, now))
        elif kind == WAIT_SLEEP:
            parts.append("forever")
    if _state(task) != "DONE" and "cancel" in _fields("struct coop_task"):
        cancel = int(task["cancel"])
        if cancel & CANCEL_PENDING:
            parts.append("cancelled")
        if cancel & CANCEL_SHIELD:
            parts.append("shielded")
    return ", ".join(parts)


@contextlib.contextmanager
def _task_frames(regs):
    """With gdb's frames made the suspended task's: yields the number of
    frames of the thread to skip (the task's innermost frame is the next
    one).  The selected frame is kept."""
    try:
        level = gdb.selected_frame().level()
    except gdb.error:
        level = 0
    _unwinder.regs = regs
    _unwinder.claimed_level = None
    gdb.invalidate_cached_frames()
    try:
        gdb.newest_frame()  # unwinds (and lets the unwinder claim) frame 0
        yield lambda: _unwinder.claimed_level
    finally:
        _unwinder.regs = None
        _unwinder.claimed_level = None
        gdb.invalidate_cached_frames()
        try:
            _select_level(level)
        except gdb.error:
            pass


def _coop_source_dir():
    """The directory of libcoop's sources, from its debug information
    (for a program linked with it statically), or None."""
    sym = gdb.lookup_global_symbol("coop_yield") or gdb.lookup_static_symbol("coop_yield")
    try:
        return os.path.dirname(sym.symtab.fullname()) + os.sep
    except (AttributeError, RuntimeError, gdb.error):
        return None


def _in_coop(pc, srcdir):
    """Whether pc is in libcoop."""
    lib = gdb.solib_name(pc)
    if lib is not None:
        return os.path.basename(lib).startswith("libcoop.")
    try:
        symtab = gdb.find_pc_line(pc).symtab
        return bool(srcdir and symtab and symtab.fullname().startswith(srcdir))
    except (RuntimeError, gdb.error):
        return False


def _resumes_in(regs):
    """The innermost function outside libcoop among a suspended task's
    frames (a yield that took the library's longer path, or one spent
    in a blocking call, resumes inside it), or None."""
    if _unwinder is None:
        return None
    srcdir = _coop_source_dir()
    try:
        with _task_frames(regs) as claimed:
            frame = gdb.newest_frame()
            while frame is not None and (claimed() is None or frame.level() <= claimed()):
                frame = frame.older()
            for _ in range(64):
                if frame is None:
                    return None
                if not _in_coop(frame.pc(), srcdir):
                    return frame.name() or "0x%x" % frame.pc()
                frame = frame.older()
    except gdb.error:
        return None
    return None


def _where(task, backend):
    """Where a task is, for the listing: the call a blocked task is
    blocked in, else the function a suspended task resumes in."""
    state = _state(task)
    if state == "DONE":
        return "(ended)"
    if state == "RUNNING":
        return "(running)"
    if _blocked(task):
        return _wait_call(task)
    if backend is None:
        return ""
    if _fresh(task):
        return "(not started) %s" % _function(task)
    try:
        regs = _saved_frame(task)
    except gdb.GdbError:
        return "?"
    rip = regs["rip"]
    if _in_coop(rip, _coop_source_dir()):
        name = _resumes_in(regs)
        if name:
            return name
    return _symbol_at(rip - 1) or "0x%x" % rip


class CoopPrefix(gdb.Command):
    """Commands for programs that use coop (libcoop): coop tasks, coop bt."""

    def __init__(self):
        super().__init__("coop", gdb.COMMAND_STACK, gdb.COMPLETE_NONE, True)


class CoopTasks(gdb.Command):
    """List the tasks of a coop context.

Usage: coop tasks [CONTEXT]

Lists the tasks of the context the selected thread is running (inside
coop_run), or of CONTEXT (an expression of type struct coop_context *), or
of $coop_context when that is set, one line each:

  Id     the task's id (`coop bt ID` prints its backtrace); `*' marks the
         task the selected thread is running
  State  READY (runnable: not started yet, suspended in coop_yield, or
         woken from a blocking call and not yet resumed), RUNNING,
         BLOCKED (suspended in a blocking call) or DONE (not yet joined)
  Stack  its usable stack size
  Name   its name
  Wait   for a BLOCKED task, what it waits for: `task ID' (coop_join),
         `group ADDRESS' (coop_group_wait), `fd N read', `fd N write',
         `fd N read+write' (coop_fd_wait, also inside coop_read and the
         other I/O calls), `chan ADDRESS' (coop_chan_send or
         coop_chan_recv), `select of N' (coop_chan_select over N
         channels), `mutex ADDRESS' (coop_mutex_lock, or a signalled
         coop_cond_wait owning its mutex again), `cond ADDRESS'
         (coop_cond_wait), `sem ADDRESS' (coop_sem_acquire); then when its wait ends at the
         latest (the call's own deadline or the task's ambient one,
         whichever is earlier): `in 1.500s', `overdue 2.000ms' (passed,
         the task not yet woken), `forever' (a sleep with no deadline;
         nothing for a join or group wait with none); from a core file,
         which has no clock, `until 1234.500s', the deadline itself (a
         CLOCK_MONOTONIC time: coop_now() / 1e9, to the millisecond).
         For any task not ended: `cancelled' (a cancellation was
         requested) and `shielded' (its shield is up).
  Where  for a BLOCKED task, the call it is blocked in (coop_join, which
         coop_join_until is too, coop_sleep_until, coop_group_wait,
         coop_fd_wait, coop_chan_send, coop_chan_recv, coop_chan_select,
         coop_mutex_lock, coop_cond_wait, coop_sem_acquire); for
         a suspended READY one, the innermost function outside libcoop it
         resumes in (the caller of coop_yield or of the call it was woken
         from; not with the ucontext backend); `(not started) FUNCTION',
         `(running)', `(ended)'.

The time left is computed from the inferior's CLOCK_MONOTONIC: gdb's own
clock for a local process, a call of coop_now() for a remote one.  Needs
libcoop's debug information."""

    def __init__(self, name="coop tasks"):
        super().__init__(name, gdb.COMMAND_STACK, gdb.COMPLETE_EXPRESSION)

    def invoke(self, arg, from_tty):
        ctx = _context(arg)
        tasks = _tasks(ctx)
        backend, _ = _backend()
        try:
            self_ptr = int(_tls("coop__self"))
        except gdb.GdbError:
            self_ptr = 0
        now, no_clock = _now()
        rows = []
        for t in tasks:
            rows.append(("*" if int(t) == self_ptr else " ", int(t["id"]), _state(t),
                         int(t["stack_size"]), '"%s"' % _name(t), _wait(t, now),
                         _where(t, backend)))
        note = ""
        if now is None and any("until " in r[5] for r in rows):
            note = " (%s: `until' gives CLOCK_MONOTONIC deadlines)" % no_clock
        gdb.write("context 0x%x: %d task%s%s\n" % (
            int(ctx), len(tasks), "" if len(tasks) == 1 else "s", note))
        if not rows:
            return
        id_w = max([len("Id")] + [len(str(r[1])) for r in rows])
        stack_w = max([len("Stack")] + [len(str(r[3])) for r in rows])
        name_w = max([len("Name")] + [len(r[4]) for r in rows])
        wait_w = max(len(r[5]) for r in rows)
        if wait_w:  # a Wait column only when some task has something to show
            wait_w = max(wait_w, len("Wait"))

        def line(mark, tid, state, stack, name, wait, where):
            text = "%s %*s  %-7s  %*s  %-*s  " % (mark, id_w, tid, state, stack_w, stack,
                                                  name_w, name)
            if wait_w:
                text += "%-*s  " % (wait_w, wait)
            return (text + where).rstrip() + "\n"

        gdb.write(line(" ", "Id", "State", "Stack", "Name", "Wait", "Where"))
        for r in rows:
            gdb.write(line(*r))


class _FrameId:
    """A frame id for gdb's unwinder API (gdb 13 has no class of its own)."""

    def __init__(self, sp, pc):
        self.sp = sp
        self.pc = pc


class _TaskUnwinder(Unwinder):
    """Armed by `coop bt` only: claims the first frame gdb unwinds (the
    innermost real frame of the selected thread) and gives it the
    suspended task's registers as its caller's."""

    def __init__(self):
        super().__init__("coop-task")
        self.regs = None
        self.claimed_level = None

    def __call__(self, pending_frame):
        if self.regs is None or self.claimed_level is not None:
            return None
        self.claimed_level = pending_frame.level()
        pc = pending_frame.read_register("rip")
        # Stack address 0: the task's frames live on another stack, above
        # or below this one, and gdb must not take them for a stack that
        # unwinds backwards ("previous frame inner to this frame").
        sp = gdb.Value(0).cast(pending_frame.read_register("rsp").type)
        info = pending_frame.create_unwind_info(_FrameId(sp, pc))
        for name, value in self.regs.items():
            regtype = pending_frame.read_register(name).type
            info.add_saved_register(name, gdb.Value(value).cast(regtype))
        return info


_unwinder = _TaskUnwinder() if register_unwinder else None
if _unwinder is not None:
    register_unwinder(None, _unwinder, replace=True)


def _select_level(level):
    frame = gdb.newest_frame()
    for _ in range(level):
        older = frame.older()
        if older is None:
            break
        frame = older
    frame.select()


class CoopBacktrace(gdb.Command):
    """Print the backtrace of a suspended coop task.

Usage: coop bt ID [BT-ARGS...]

Prints the backtrace of task ID (see `coop tasks`) of the context the
selected thread is running (or of $coop_context), from where it
suspended itself: in coop_yield, in a blocking call (coop_join,
coop_join_until, coop_sleep_until, coop_group_wait, coop_fd_wait and the
I/O calls, the channel and lock calls: its innermost frames are the
library's wait path), or before its first run.
BT-ARGS are passed on to `backtrace` (e.g. `full`, `-5`).  Works on a live
process and on a core file; needs libcoop's debug information and the
x86-64 assembly backend."""

    def __init__(self):
        super().__init__("coop bt", gdb.COMMAND_STACK, gdb.COMPLETE_NONE)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        if not argv:
            raise gdb.GdbError("usage: coop bt ID [BT-ARGS...]  (the ids are in `coop tasks`)")
        try:
            want = int(argv[0], 0)
        except ValueError:
            raise gdb.GdbError("coop bt: %r is not a task id (see `coop tasks`)" % argv[0])
        ctx = _context(None)
        task = next((t for t in _tasks(ctx) if int(t["id"]) == want), None)
        if task is None:
            raise gdb.GdbError("context 0x%x has no task %d (see `coop tasks`)" % (int(ctx), want))
        label = 'task %d "%s"' % (want, _name(task))
        state = _state(task)
        if state == "DONE":
            raise gdb.GdbError("%s has ended: it has no frames left to show" % label)
        if state == "RUNNING":
            if int(task) == int(_tls("coop__self")):
                gdb.write("%s is the one this thread is running: its backtrace is `bt`'s\n" % label)
                gdb.execute(" ".join(["backtrace"] + argv[1:]))
                return
            raise gdb.GdbError("%s is running on another thread: select that thread and use `bt`"
                               % label)
        backend, why = _backend()
        if backend is None:
            raise gdb.GdbError("coop bt is not supported on this backend (%s): only the x86-64 "
                               "assembly switch is" % why)
        if _unwinder is None:
            raise gdb.GdbError("coop bt needs a gdb with Python frame unwinders (gdb >= 7.10)")
        if _fresh(task):
            gdb.write("%s has not started yet: it will run %s(0x%x)\n"
                      % (label, _function(task), int(task["arg"])))
            return
        regs = _saved_frame(task)
        gdb.write("%s, %s, stack 0x%x-0x%x:\n" % (
            label, state, int(task["stack_lo"]), int(task["stack_lo"]) + int(task["stack_size"])))
        self._backtrace(regs, argv[1:])

    @staticmethod
    def _backtrace(regs, bt_args):
        with _task_frames(regs) as claimed:
            out = gdb.execute(" ".join(["backtrace"] + bt_args), to_string=True)
            skip = claimed()
        if skip is None:
            raise gdb.GdbError("coop bt: gdb did not consult the task unwinder; "
                               "is another Python unwinder in the way?")
        gdb.write(_renumber(out, skip + 1))


def _renumber(text, drop):
    """A backtrace without its first `drop` frames (the thread's own, which
    the task's frames were hung under), renumbered from #0."""
    out, keep = [], False
    for line in text.splitlines(True):
        m = re.match(r"#(\d+)(\s+)(.*)", line, re.S)
        if m:
            n = int(m.group(1))
            keep = n >= drop
            if keep:
                num = "#%d" % (n - drop)
                line = num + " " * max(1, len(m.group(1)) + 1 + len(m.group(2)) - len(num)) + m.group(3)
        elif line.startswith(("(More stack frames", "Backtrace stopped")):
            keep = True
        if keep:
            out.append(line)
    return "".join(out)


CoopPrefix()
CoopTasks()
CoopTasks("info coop-tasks")
CoopBacktrace()
