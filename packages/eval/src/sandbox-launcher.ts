// The python3 launcher that runs one untrusted program: namespace set-up, privilege drop, rlimits,
// then human-eval's exec of the program with its reliability guard and result strings.
//
// Invoked as `[unshare --net --mount --pid --ipc --uts --fork --kill-child --mount-proc] python3 -c LAUNCHER_SOURCE <json>`.
// The program arrives on stdin; fd 3 receives "ok:" as soon as the launcher runs, then the verdict ("passed",
// "timed out", "failed: ..."); stdout and stderr are the program's own. Exit status 70 with
// "ok:sandbox-error: ..." on fd 3 means the set-up failed (an evaluator problem, not a verdict). Reference: openai/human-eval human_eval/execution.py
// (unsafe_execute, time_limit, reliability_guard).

/** Settings the launcher reads from its JSON argument. */
export interface LauncherSettings {
  /** Set up mounts and drop privileges (only when started by unshare in new namespaces). */
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
  /** Size of each fresh tmpfs (working directory, /tmp, /var/tmp, /dev/shm, /run/lock) in bytes. */
  tmpfs_bytes: number;
  /** uid and gid to run as when the launcher is real root (init user namespace); -1 keeps the caller's. */
  uid: number;
  /** Apply human-eval's reliability_guard() before exec. */
  reliability_guard: boolean;
}

/** Exit status of the launcher when its own set-up failed. */
export const LAUNCHER_SETUP_FAILED = 70;

export const LAUNCHER_SOURCE = String.raw`
import os, sys, json, resource, re, signal, ctypes

cfg = json.loads(sys.argv[1])
RESULT_FD = 3

def report(text, _write=os.write):
    data = text.encode('utf-8', 'backslashreplace')
    while data:
        try:
            n = _write(RESULT_FD, data)
        except OSError:
            return
        data = data[n:]

def setup_failed(what, err):
    report('sandbox-error: %s: %s' % (what, err))
    os._exit(70)

report('ok:')  # the launcher is running (anything else on fd 3 means it never started)
src = sys.stdin.buffer.read().decode('utf-8', 'surrogateescape')
try:
    fd = os.open('/dev/null', os.O_RDONLY)
    os.dup2(fd, 0)
    os.close(fd)
except OSError as e:
    setup_failed('stdin', e)

work = os.getcwd()
if cfg['namespaces']:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
    MS_REMOUNT, MS_BIND = 32, 4096
    KEEP = {'ro': MS_RDONLY, 'nosuid': MS_NOSUID, 'nodev': MS_NODEV, 'noexec': MS_NOEXEC,
            'noatime': 1024, 'nodiratime': 2048, 'relatime': 1 << 21}

    def mount(source, target, fstype, flags, data):
        enc = lambda s: None if s is None else s.encode()
        if libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)) != 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e), target)

    try:
        points = []
        with open('/proc/self/mountinfo') as f:
            for line in f:
                parts = line.split()
                point = re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), parts[4])
                points.append((point, parts[5]))
        # Every mount read-only and nosuid in this (private) mount namespace; the host is untouched.
        for point, opts in points:
            flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID
            for o in opts.split(','):
                flags |= KEEP.get(o, 0)
            try:
                mount(None, point, None, flags, None)
            except OSError:
                if point == '/':
                    raise
        uid = cfg['uid']
        with open('/proc/self/uid_map') as f:
            init_ns_root = os.getuid() == 0 and f.read().split() == ['0', '0', '4294967295']
        owner = uid if (init_ns_root and uid >= 0) else os.getuid()
        # Fresh, size-limited tmpfs for the places a program may write; they vanish with the namespace.
        size = cfg['tmpfs_bytes']
        for d in ('/tmp', '/var/tmp', '/dev/shm', '/run/lock'):
            if os.path.isdir(d) and not os.path.islink(d):
                mount('tmpfs', d, 'tmpfs', MS_NOSUID | MS_NODEV, 'size=%d,mode=1777' % size)
        work = '/tmp/work'
        os.mkdir(work, 0o700)
        os.chown(work, owner, owner)
        if init_ns_root and uid >= 0:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS: no setuid binary can regain privileges
    except OSError as e:
        setup_failed('namespace set-up', e)
else:
    # No network namespace: at least refuse socket creation from Python (ctypes can still get round it).
    import socket, _socket
    def _no_network(*args, **kwargs):
        raise PermissionError('network access is disabled in the sandbox')
    socket.socket = _no_network
    _socket.socket = _no_network
    socket.create_connection = _no_network
    socket.socketpair = _no_network
    socket.fromfd = _no_network

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
except (OSError, ValueError) as e:
    setup_failed('resource limits', e)

os.environ.clear()
os.environ.update({'PATH': '/usr/bin:/bin', 'LANG': 'C.UTF-8', 'HOME': work, 'TMPDIR': work})
if 'socket' in sys.modules:
    del socket, _socket

class TimeoutException(Exception):
    pass

def _on_alarm(signum, frame):
    raise TimeoutException('Timed out!')

if cfg['reliability_guard']:
    import faulthandler, builtins, shutil, subprocess
    faulthandler.disable()
    builtins.exit = None
    builtins.quit = None
    os.environ['OMP_NUM_THREADS'] = '1'
    for name in ('kill', 'system', 'putenv', 'remove', 'removedirs', 'rmdir', 'fchdir', 'setuid', 'fork',
                 'forkpty', 'killpg', 'rename', 'renames', 'truncate', 'replace', 'unlink', 'fchmod',
                 'fchown', 'chmod', 'chown', 'chroot', 'lchflags', 'lchmod', 'lchown', 'getcwd', 'chdir'):
        setattr(os, name, None)
    shutil.rmtree = None
    shutil.move = None
    shutil.chown = None
    subprocess.Popen = None
    builtins.help = None
    for name in ('ipdb', 'joblib', 'resource', 'psutil', 'tkinter'):
        sys.modules[name] = None

_exit = os._exit
signal.signal(signal.SIGALRM, _on_alarm)
signal.setitimer(signal.ITIMER_REAL, cfg['timeout_s'])
_reserve = bytearray(4 << 20)  # freed on failure, so that reporting works after a MemoryError
failure = None
try:
    exec(src, {})
    signal.setitimer(signal.ITIMER_REAL, 0)
    verdict = 'passed'
except TimeoutException:
    verdict = 'timed out'
except BaseException as e:
    signal.setitimer(signal.ITIMER_REAL, 0)
    failure = e
signal.setitimer(signal.ITIMER_REAL, 0)
if failure is not None:
    del _reserve
    # Drop the traceback (and with it the program's frames and their memory) before formatting.
    failure.__traceback__ = failure.__context__ = failure.__cause__ = None
    try:
        verdict = 'failed: %s' % (failure,)
    except BaseException:
        verdict = 'failed: <exception could not be printed>'
try:
    sys.stdout.flush()
    sys.stderr.flush()
except BaseException:
    pass
report(verdict)
_exit(0)
`;
