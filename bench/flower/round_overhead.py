"""Flower baseline for Fedledger's round overhead (`npx fedledger simulate --trainer noop ... --json`).

Run it through round_overhead.sh (which creates bench/.venv on first use):

    bash bench/flower/round_overhead.sh --centres 20 --params 100000 --rounds 5

Flower's deployment engine, on 127.0.0.1 only: one `flower-superlink --insecure` (its Fleet, Control and Runtime
APIs share one HTTP port in flwr 1.42; it runs the ServerApp through its own SuperExec), N `flower-supernode
--insecure` (each with its own Runtime API port, `--node-config "partition-id=i num-partitions=N"` and its own
FLWR_HOME, as on separate machines; each runs one ClientApp process per message through its SuperExec), then the
Flower App in ./round-overhead submitted with `flwr run <app> bench --stream`, `bench` being a SuperLink
connection to the local SuperLink written into a private $FLWR_HOME/config.toml. Flower's own defaults
everywhere (isolation `subprocess`, polling intervals); telemetry and update checks off, proxies ignored.

Prints ONE JSON line on stdout:
    {"bench":"flower-rounds","centres":N,"params":P,"rounds":R,"roundMs":[...],"meanRoundMs":...,
     "totalMs":...,"flwr":"1.42.0"}
roundMs are measured in the ServerApp (configure_train start -> aggregate_train end), totalMs is the
strategy's whole run (all rounds, including the empty evaluate phases). Progress, load averages and
where the logs are go to stderr. Every process started here (and every process they started) is stopped,
by pid, on exit, failure or signal.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
APP_DIR = HERE / "round-overhead"
VENV_BIN = Path(sys.executable).parent
CONNECTION = "bench"


def eprint(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def loadavg() -> str:
    with open("/proc/loadavg", encoding="ascii") as f:
        return " ".join(f.read().split()[:3])


def free_ports(n: int) -> list[int]:
    """n distinct free TCP ports on 127.0.0.1 (held open together while choosing, so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def child_map() -> dict[int, list[int]]:
    """ppid -> [pid] for every process visible in /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        # comm may contain spaces/parentheses: the fields after the last ')' are fixed
        fields = stat[stat.rfind(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def descendants(roots: list[int]) -> list[int]:
    children = child_map()
    out: list[int] = []
    todo = list(roots)
    while todo:
        pid = todo.pop()
        for c in children.get(pid, []):
            if c not in out:
                out.append(c)
                todo.append(c)
    return out


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] != "Z"


class Processes:
    """The processes this run starts; stop() ends them and all their descendants, by pid."""

    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen[bytes], Path]] = []
        self.seen: set[int] = set()  # descendants noticed while running (in case they get re-parented)

    def start(self, name: str, argv: list[str], log: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
        with open(log, "wb") as out:
            proc = subprocess.Popen(  # pylint: disable=consider-using-with
                argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                start_new_session=True,
            )
        self.procs.append((name, proc, log))
        return proc

    def note_descendants(self) -> None:
        self.seen.update(descendants([p.pid for _, p, _ in self.procs]))

    def dead(self) -> list[tuple[str, int | None, Path]]:
        return [(n, p.returncode, log) for n, p, log in self.procs if p.poll() is not None]

    def stop(self, grace_s: float = 10.0) -> None:
        roots = [p.pid for _, p, _ in self.procs]
        pids = [pid for pid in set(descendants(roots)) | self.seen if pid not in roots] + roots
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            for _, p, _ in self.procs:
                p.poll()
            if not any(alive(pid) for pid in pids):
                break
            time.sleep(0.1)
        for pid in pids + [pid for pid in descendants(roots) if pid not in pids]:
            if alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for _, p, _ in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as err:
        return f"<{err}>"


def http_ok(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2) as res:
            return 200 <= res.status < 300
    except OSError:
        return False


def base_env(flwr_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(VENV_BIN.parent),
        FLWR_HOME=str(flwr_home),
        FLWR_TELEMETRY_ENABLED="0",
        FLWR_DISABLE_UPDATE_CHECK="1",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
    )
    return env


def run(args: argparse.Namespace, tmp: Path, procs: Processes) -> dict[str, object]:
    t_begin = time.monotonic()
    deadline = t_begin + args.timeout

    def remaining() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"overall timeout of {args.timeout} s exceeded")
        return left

    def check_alive() -> None:
        for name, code, log in procs.dead():
            raise RuntimeError(f"{name} exited with code {code}; last lines of {log}:\n{tail(log)}")

    link_port, *node_ports = free_ports(1 + args.centres)
    link = f"127.0.0.1:{link_port}"

    # SuperLink
    link_home = tmp / "superlink"
    link_home.mkdir()
    procs.start(
        "flower-superlink",
        [str(VENV_BIN / "flower-superlink"), "--insecure", "--host", "127.0.0.1", "--port", str(link_port),
         "--disable-runtime-dependency-installation"],
        tmp / "superlink.log", base_env(link_home / "flwr-home"), link_home,
    )
    while not http_ok(f"http://{link}/health"):
        check_alive()
        remaining()  # raises once the overall timeout is exceeded
        if time.monotonic() - t_begin > args.start_timeout:
            raise TimeoutError(f"SuperLink not healthy after {args.start_timeout} s")
        time.sleep(0.2)
    eprint(f"superlink up on {link} after {time.monotonic() - t_begin:.1f} s")

    # SuperNodes
    for i, port in enumerate(node_ports):
        home = tmp / f"supernode-{i}"
        home.mkdir()
        procs.start(
            f"flower-supernode[{i}]",
            [str(VENV_BIN / "flower-supernode"), "--insecure", "--superlink", link,
             "--host", "127.0.0.1", "--port", str(port),
             "--node-config", f"partition-id={i} num-partitions={args.centres}",
             "--max-wait-time", str(args.start_timeout)],
            tmp / f"supernode-{i}.log", base_env(home / "flwr-home"), home,
        )
    t_nodes = time.monotonic()
    pending = set(range(args.centres))
    while pending:
        check_alive()
        for i in list(pending):
            try:
                if "SuperNode ID:" in (tmp / f"supernode-{i}.log").read_text(errors="replace"):
                    pending.discard(i)
            except OSError:
                pass
        if pending:
            remaining()
            if time.monotonic() - t_nodes > args.start_timeout:
                raise TimeoutError(f"{len(pending)} SuperNodes not registered after {args.start_timeout} s")
            time.sleep(0.5)
    eprint(f"{args.centres} supernodes registered after {time.monotonic() - t_nodes:.1f} s")
    # Let the start-up burst (40+ Python processes importing flwr on this box) settle before round 1.
    time.sleep(args.settle)
    procs.note_descendants()
    check_alive()

    # The CLI: its own FLWR_HOME with a SuperLink connection `bench` to the local SuperLink.
    cli_home = tmp / "cli"
    (cli_home / "flwr-home").mkdir(parents=True)
    (cli_home / "flwr-home" / "config.toml").write_text(
        f'[superlink]\ndefault = "{CONNECTION}"\n\n[superlink.{CONNECTION}]\naddress = "{link}"\ninsecure = true\n',
        encoding="utf-8",
    )
    app = cli_home / APP_DIR.name  # a copy, so that nothing is ever written into the repository
    shutil.copytree(APP_DIR, app, ignore=shutil.ignore_patterns("__pycache__"))
    timings = tmp / "timings.json"
    run_config = (
        f"num-server-rounds={args.rounds} num-params={args.params} num-nodes={args.centres} "
        f'timings-file="{timings}" round-timeout-s={args.round_timeout}'
    )
    eprint(f"load before run: {loadavg()}")
    t_run = time.monotonic()
    proc = procs.start(
        "flwr run",
        [str(VENV_BIN / "flwr"), "run", str(app), CONNECTION, "--stream", "--run-config", run_config],
        tmp / "flwr-run.log", base_env(cli_home / "flwr-home"), cli_home,
    )
    while proc.poll() is None and not timings.exists():
        for name, code, log in procs.dead():
            if name != "flwr run":
                raise RuntimeError(f"{name} exited with code {code}; last lines of {log}:\n{tail(log)}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"overall timeout of {args.timeout} s exceeded during the run")
        procs.note_descendants()
        time.sleep(0.5)
    # give `flwr run --stream` a moment to finish streaming the final logs
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    if not timings.exists():
        raise RuntimeError(f"the ServerApp wrote no timings; last lines of flwr-run.log:\n{tail(tmp / 'flwr-run.log', 40)}")
    eprint(f"load after run: {loadavg()}; run submitted -> timings written: {time.monotonic() - t_run:.1f} s")

    data = json.loads(timings.read_text(encoding="utf-8"))
    for r, created in enumerate(data.get("replyCreatedS", []), start=1):
        if created:
            eprint(
                f"round {r}: {data['roundMs'][r - 1] / 1000:.2f} s; ClientApp replies created "
                f"{created[0]:.2f} .. {created[len(created) // 2]:.2f} (median) .. {created[-1]:.2f} s after its start"
            )
    rounds_ms = data["roundMs"]
    if None in rounds_ms or any(r != args.centres for r in data["replies"]) or any(data["errors"]):
        raise RuntimeError(f"incomplete rounds: {json.dumps(data)}")
    if data["finalParams"] != args.params:
        raise RuntimeError(f"final model has {data['finalParams']} parameters, expected {args.params}")
    return {
        "bench": "flower-rounds",
        "centres": args.centres,
        "params": args.params,
        "rounds": args.rounds,
        "roundMs": [round(x) for x in rounds_ms],
        "meanRoundMs": round(sum(rounds_ms) / len(rounds_ms), 1),
        "totalMs": round(data["totalMs"]),
        "flwr": version("flwr"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--centres", type=int, default=20, help="SuperNodes (default 20)")
    parser.add_argument("--params", type=int, default=100_000, help="float32 parameters (default 100000)")
    parser.add_argument("--rounds", type=int, default=5, help="FedAvg rounds (default 5)")
    parser.add_argument("--timeout", type=float, default=1800, help="overall time limit, s (default 1800)")
    parser.add_argument("--start-timeout", type=float, default=300, help="SuperLink/SuperNode start-up limit, s")
    parser.add_argument("--round-timeout", type=float, default=900, help="ServerApp's per-round reply timeout, s")
    parser.add_argument("--settle", type=float, default=5, help="pause after start-up before the run, s")
    parser.add_argument("--keep-logs", action="store_true", help="keep the temporary log directory")
    args = parser.parse_args()
    if args.centres < 1 or args.params < 2 or args.rounds < 1:
        parser.error("--centres >= 1, --params >= 2, --rounds >= 1")

    tmp = Path(tempfile.mkdtemp(prefix="flower-rounds-"))
    eprint(f"logs in {tmp}; load at start: {loadavg()}")
    procs = Processes()

    def on_signal(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    ok = False
    try:
        result = run(args, tmp, procs)
        print(json.dumps(result, separators=(",", ":")), flush=True)
        ok = True
    except Exception as err:  # pylint: disable=broad-except
        eprint(f"round_overhead: FAILED: {err}")
    except SystemExit:
        eprint("round_overhead: interrupted, stopping every process it started")
        raise
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        procs.stop()
        if ok and not args.keep_logs:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            eprint(f"logs kept in {tmp}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
