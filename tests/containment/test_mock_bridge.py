"""The script's Python hands the run's mock its listener on 127.0.0.1:4566 (engine/mock_bridge.py):
no relay process per connection (issue 7, throughput). The handoff socket is the script's way
into the mock's process, so it takes one listening TCP socket, the first, and nothing else."""

import os
import socket
import threading

import pytest

from engine import mock_bridge, sandbox
from engine.errors import InfrastructureError
from engine.moto_zygote import receive_listener

BOTO3_CALL = """
import boto3
boto3.client("s3").create_bucket(Bucket="bridge-check-bucket")
"""


def test_a_script_reaches_its_mock_with_no_relay_process_in_the_sandbox(run_script):
    record = run_script(
        BOTO3_CALL
        + """
import os
names = []
for pid in sorted(p for p in os.listdir("/proc") if p.isdigit()):
    names.append(open(f"/proc/{pid}/cmdline", "rb").read().split(b"\\0")[0].decode())
print(names)
"""
    )
    assert record.exit_code == 0, record.stderr
    assert [c.operation for c in record.calls] == ["CreateBucket"]
    processes = eval(record.stdout)  # noqa: S307 - our own script's list of names
    # bwrap's init, the placeholder that keeps the sandbox for the script, and the script: nothing relays.
    assert processes == ["bwrap", "/bin/bash", sandbox.runtime_python()], processes
    assert not any("socat" in name for name in processes)


def test_after_the_handoff_the_mocks_unix_socket_refuses_the_script(run_script):
    record = run_script(
        BOTO3_CALL  # served: so the mock has taken the listener by now
        + """
import socket
other = socket.create_server(("127.0.0.1", 5000))
try:
    with socket.socket(socket.AF_UNIX) as mock:
        mock.connect("/run/lab/moto.sock")
        socket.send_fds(mock, [b"listener"], [other.fileno()])
    print("handed over")
except OSError as error:
    print("refused", error.strerror)
"""
    )
    assert record.exit_code == 0, record.stderr
    assert record.stdout.startswith("refused"), record.stdout


def test_a_python_the_script_starts_reaches_the_same_mock(run_script):
    record = run_script(
        BOTO3_CALL
        + """
import subprocess, sys
child = 'import boto3; print(len(boto3.client("s3").list_buckets()["Buckets"]))'
print(subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=30).stdout.strip())
"""
    )
    assert record.exit_code == 0, record.stderr
    assert record.stdout.strip() == "1"
    assert [c.operation for c in record.calls] == ["CreateBucket", "ListBuckets"]


# -- the two ends, without a sandbox ---------------------------------------------------


@pytest.fixture
def handoff(tmp_path):
    path = str(tmp_path / "moto.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(8)
    return path, server


def send(path: str, *fds: int, data: bytes = b"listener") -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(path)
        if fds:
            socket.send_fds(conn, [data], list(fds))
        else:
            conn.sendall(data)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_the_mock_drops_everything_but_a_listening_tcp_socket(handoff):
    path, server = handoff
    read_end, write_end = os.pipe()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    unconnected = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    unix_listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix_listener.bind("\0labgrader-test-bridge-" + str(os.getpid()))
    unix_listener.listen(1)
    tcp_listener = socket.create_server(("127.0.0.1", 0))
    before = open_fds()
    for fd in (read_end, udp.fileno(), unconnected.fileno(), unix_listener.fileno()):
        send(path, fd)
    send(path)  # data, no descriptor
    send(path, tcp_listener.fileno())
    received = receive_listener(server)
    try:
        assert received.getsockname() == tcp_listener.getsockname()
        # What was dropped was closed, and the handoff socket with it: one descriptor more, the listener.
        assert open_fds() == before
    finally:
        received.close()
    for closeable in (udp, unconnected, unix_listener, tcp_listener):
        closeable.close()
    os.close(read_end)
    os.close(write_end)
    with pytest.raises(OSError):
        send(path)  # nobody takes a second listener


def test_a_handoff_connection_that_says_nothing_does_not_stall_the_mock(handoff):
    path, server = handoff
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.connect(path)
    tcp_listener = socket.create_server(("127.0.0.1", 0))
    threading.Timer(0.1, send, args=(path, tcp_listener.fileno())).start()
    received = receive_listener(server)  # after the silent one's timeout
    try:
        assert received.getsockname() == tcp_listener.getsockname()
    finally:
        received.close()
        silent.close()
        tcp_listener.close()


def test_the_bridge_hands_over_one_listener_and_a_second_python_finds_the_port_taken(handoff):
    path, server = handoff
    assert mock_bridge.hand_over(path, ("127.0.0.1", 0))
    received = receive_listener(server)
    try:
        address = received.getsockname()
        assert received.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
        assert not mock_bridge.hand_over(path, address)
    finally:
        received.close()


def test_the_bridge_does_nothing_outside_a_sandbox(tmp_path):
    assert not mock_bridge.hand_over(str(tmp_path / "no-such.sock"))


def test_a_runtime_without_the_mock_bridge_is_an_infrastructure_error_not_a_lost_score(tmp_path, monkeypatch):
    runtime = tmp_path / "runtime"
    (runtime / "bin").mkdir(parents=True)
    (runtime / "bin" / "python").write_text("")
    (runtime / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    monkeypatch.setenv("LABGRADER_SANDBOX_RUNTIME", str(runtime))
    with pytest.raises(InfrastructureError, match="python -m engine.runtime"):
        sandbox.runtime_python()
    from engine import runtime as runtime_module

    runtime_module.install_bridge(runtime)
    assert sandbox.runtime_python() == str(runtime / "bin" / "python")
    pth = runtime / "lib" / "python3.11" / "site-packages" / runtime_module.BRIDGE_PTH[0]
    assert "labgrader_mock_bridge.hand_over()" in pth.read_text()
