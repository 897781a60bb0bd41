"""Static checks of the production deployment: docker-compose.yml, the Dockerfile,
the image's entrypoint. No Docker engine is needed (none runs where these tests run)."""

from __future__ import annotations

import ast
import fnmatch
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import pytest
import yaml

from engine import slots

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
ENTRYPOINT = REPO / "deploy" / "docker-entrypoint.sh"

APP_SERVICES = ("web", "worker", "worker-admin", "beat", "migrate")
WORKERS = {"worker": "grading", "worker-admin": "admin"}
REFERENCE = re.compile(r"^\$\{[A-Z][A-Z0-9_]*(:?[-?][^}]*)?\}$")


# -- helpers ------------------------------------------------------------------
def load_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def services() -> dict:
    return load_compose()["services"]


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return env


def command(service: dict) -> list[str]:
    value = service.get("command") or []
    return shlex.split(value) if isinstance(value, str) else [str(part) for part in value]


def option(argv: list[str], *names: str) -> str | None:
    """The value of --name=value / --name value / -n value in argv."""
    for index, arg in enumerate(argv):
        for name in names:
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
            if arg == name and index + 1 < len(argv):
                return argv[index + 1]
    return None


def default_of(value: str) -> str:
    """The default of a ${NAME:-default} reference, or the value itself."""
    match = re.fullmatch(r"\$\{[A-Z0-9_]+:-([^}]*)\}", value)
    return match.group(1) if match else value


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    lines = [line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [
        (match.group(1).upper(), match.group(2).strip())
        for match in re.finditer(r"^\s*([A-Za-z]+)\s+(.*)$", joined, re.MULTILINE)
    ]


def env_names_read_by_python(path: Path) -> set[str]:
    """Environment variable names a module reads: os.environ.get/[...]/setdefault,
    os.getenv, and settings.py's envbool/envint/envsecret (which also reads NAME_FILE)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and node.args:
            first = node.args[0]
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue
            func = ast.unparse(node.func)
            if func in ("os.environ.get", "os.environ.setdefault", "os.getenv", "envbool", "envint"):
                names.add(first.value)
            elif func == "envsecret":
                names |= {first.value, first.value + "_FILE"}
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
                names.add(node.slice.value)
    return names


def env_names_read_by_entrypoint() -> set[str]:
    text = ENTRYPOINT.read_text()
    shell = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", text))
    python = set(re.findall(r"environ(?:\.get\(|\[)\"([A-Z][A-Z0-9_]*)\"", text))
    return shell | python


def env_names_the_code_reads() -> set[str]:
    modules = [REPO / "grader" / "settings.py", *sorted((REPO / "grader").glob("*.py"))]
    modules += sorted((REPO / "engine").glob("*.py"))
    names: set[str] = set()
    for module in modules:
        names |= env_names_read_by_python(module)
    return names | env_names_read_by_entrypoint()


def git_ignores(path: str) -> bool:
    result = subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO)
    return result.returncode == 0


# -- the compose file -----------------------------------------------------------
def test_the_compose_file_parses_and_defines_the_whole_topology():
    defined = set(services())
    assert {"web", "worker", "worker-admin", "beat", "redis", "postgres", "migrate"} <= defined


def test_web_serves_grader_wsgi_with_gunicorn():
    argv = command(services()["web"])
    assert argv[0] == "gunicorn"
    assert "grader.wsgi" in argv or "grader.wsgi:application" in argv
    assert option(argv, "--bind", "-b").endswith(":8000")


def test_web_runs_threads_so_that_a_page_never_waits_behind_a_login():
    threads = option(command(services()["web"]), "--threads")
    assert threads is not None and int(default_of(threads)) >= 2


def test_web_sends_hsts_for_a_year_and_counts_the_address_the_proxy_saw():
    env = environment(services()["web"])
    assert int(default_of(env["SECURE_HSTS_SECONDS"])) >= 365 * 24 * 3600
    assert default_of(env["TRUSTED_PROXY_COUNT"]) == "1"


@pytest.mark.parametrize("name, queue", sorted(WORKERS.items()))
def test_each_worker_runs_celery_for_the_grader_app_on_its_own_queue(name, queue):
    argv = command(services()[name])
    assert argv[0] == "celery"
    assert option(argv, "--app", "-A") == "grader"
    assert "worker" in argv
    assert option(argv, "--queues", "-Q") == queue


def test_beat_runs_the_grader_schedule_exactly_once():
    beat = services()["beat"]
    argv = command(beat)
    assert argv[0] == "celery" and option(argv, "--app", "-A") == "grader" and "beat" in argv
    assert (beat.get("deploy") or {}).get("replicas", 1) == 1


def test_migrate_runs_once_before_the_services_that_need_the_schema():
    migrate = services()["migrate"]
    assert command(migrate)[-3:] == ["manage.py", "migrate", "--noinput"]
    assert migrate.get("restart") in (None, "no")
    for name in ("web", "worker", "worker-admin", "beat"):
        assert services()[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_debug_is_the_string_false_wherever_it_is_set():
    for name in APP_SERVICES:
        assert environment(services()[name]).get("DEBUG") == "False", name
    for name, service in services().items():
        if "DEBUG" in environment(service):
            assert environment(service)["DEBUG"] == "False", name


def test_the_app_refuses_to_start_without_a_secret_key_file():
    for name in APP_SERVICES:
        env = environment(services()[name])
        assert env.get("LABGRADER_REQUIRE_SECRET") == "True", name
        assert env.get("SECRET_KEY_FILE", "").startswith("/run/secrets/"), name
        assert "SECRET_KEY" not in env, name


def test_no_service_sets_a_secret_or_password_literally():
    secretive = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|_KEY$")
    for name, service in services().items():
        for key, value in environment(service).items():
            if not secretive.search(key) or key.endswith("_FILE") or value in ("True", "False"):
                continue  # a path to a secret, or a flag such as LABGRADER_REQUIRE_SECRET
            assert value is None or REFERENCE.match(str(value)), f"{name}: {key} is set literally"


def test_no_url_in_the_environment_carries_a_password():
    for name, service in services().items():
        for key, value in environment(service).items():
            if isinstance(value, str) and "://" in value:
                assert urlsplit(value).password is None, f"{name}: {key} holds a password"


def test_postgres_reads_its_password_from_a_docker_secret():
    env = environment(services()["postgres"])
    assert "POSTGRES_PASSWORD" not in env
    assert env["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    assert "postgres_password" in services()["postgres"]["secrets"]


def test_secrets_are_files_that_git_ignores():
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    for name, secret in load_compose()["secrets"].items():
        assert set(secret) == {"file"}, f"secret {name} must come from a file"
        assert git_ignores(secret["file"]), f"{secret['file']} would be committed"


def test_workers_run_under_an_init_and_have_no_container_name():
    for name in WORKERS:
        worker = services()[name]
        assert worker.get("init") is True, name
        assert "container_name" not in worker, name


def test_the_grading_worker_scales_with_deploy_replicas():
    replicas = services()["worker"]["deploy"]["replicas"]
    assert isinstance(replicas, int) or REFERENCE.match(replicas)


def test_app_services_start_only_after_postgres_and_redis_are_healthy():
    for name in APP_SERVICES:
        depends = services()[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        if name != "migrate":
            assert depends["redis"]["condition"] == "service_healthy", name


def test_postgres_and_redis_are_healthchecked_and_keep_their_data_in_volumes():
    postgres, redis = services()["postgres"], services()["redis"]
    assert postgres["image"].startswith("postgres:15")
    assert redis["image"].startswith("redis:7")
    for service, data_dir in ((postgres, "/var/lib/postgresql/data"), (redis, "/data")):
        assert service["healthcheck"]["test"]
        volumes = [volume.split(":") for volume in service["volumes"]]
        assert any(target == data_dir and source in load_compose()["volumes"] for source, target, *_ in volumes)
    assert option(command(redis), "--appendonly") == "yes"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_variable_a_service_sets_is_one_the_code_reads(name):
    unknown = set(environment(services()[name])) - env_names_the_code_reads()
    assert not unknown, f"{name} sets variables nothing reads (a typo?): {sorted(unknown)}"


def test_the_variable_finder_sees_what_settings_read_and_nothing_made_up():
    names = env_names_the_code_reads()
    expected = {"DEBUG", "SECRET_KEY", "SECRET_KEY_FILE", "LABGRADER_REQUIRE_SECRET", "ALLOWED_HOSTS"}
    expected |= {"DATABASE_URL", "REDIS_URL", "TIME_ZONE", "GRADING_TIME_LIMIT", "GRADING_SOFT_TIME_LIMIT"}
    expected |= {"LABGRADER_SLOTS", "LABGRADER_SLOT_UID_BASE", "POSTGRES_PASSWORD_FILE"}
    assert expected <= names
    assert not {"REDIS_ULR", "SECRET", "DEBUGG"} & names


def test_only_the_workers_run_as_root():
    for name in APP_SERVICES:
        user = str(services()[name].get("user", "labgrader"))
        if name in WORKERS:
            assert user in ("root", "0", "0:0"), name
        else:
            assert user not in ("root", "0", "0:0"), name
    instructions = dockerfile_instructions()
    users = [args for instruction, args in instructions if instruction == "USER"]
    assert users and users[-1] not in ("root", "0"), "the image's default user must not be root"


def test_the_workers_loosen_only_what_bubblewrap_needs():
    for name in WORKERS:
        worker = services()[name]
        assert not worker.get("privileged"), name
        assert worker["cap_drop"] == ["ALL"], name
        assert set(worker["cap_add"]) <= {"SETUID", "SETGID", "KILL"}, name
        options = set(worker["security_opt"])
        assert "seccomp=./deploy/seccomp/worker.json" in options, name
        assert {"apparmor=unconfined", "systempaths=unconfined"} <= options, name
        assert "seccomp=unconfined" not in options and "seccomp:unconfined" not in options, name
        assert "no-new-privileges:true" in options, name
        assert not {"pid", "ipc", "network_mode", "userns_mode"} & set(worker), name


def test_no_other_service_loosens_container_confinement():
    for name, service in services().items():
        if name in WORKERS:
            continue
        assert not service.get("privileged"), name
        assert not service.get("cap_add"), name
        for opt in service.get("security_opt") or []:
            assert "unconfined" not in opt and not opt.startswith("seccomp"), f"{name}: {opt}"


def test_the_workers_of_a_host_share_the_sandbox_slot_locks():
    lock_dir = "/tmp/" + os.path.basename(slots._LOCK_DIR)
    volumes = load_compose()["volumes"]
    mounts = [tuple(services()[name]["volumes"]) for name in WORKERS]
    assert mounts[0] == mounts[1]
    (mount,) = mounts[0]
    source, target = mount.split(":")[:2]
    assert target == lock_dir and source in volumes


def test_only_web_is_published_and_the_backend_network_is_internal():
    compose = load_compose()
    assert compose["networks"]["backend"]["internal"] is True
    for name, service in services().items():
        if name == "web":
            assert service["ports"]
        else:
            assert "ports" not in service, name
            assert service["networks"] == ["backend"], name


def test_the_web_healthcheck_fetches_a_page_through_django_with_an_allowed_host():
    test = services()["web"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    script = test[-1]
    assert "127.0.0.1:8000/login/" in script and "ALLOWED_HOSTS" in script
    ast.parse(script)


def test_the_worker_seccomp_profile_is_generated_and_not_committed():
    assert (REPO / "deploy" / "seccomp" / "make_worker_profile.py").exists()
    if shutil.which("git") and (REPO / ".git").exists():
        assert git_ignores("deploy/seccomp/worker.json")


# -- the image ------------------------------------------------------------------
def test_the_image_is_debian_bookworm_with_the_sandbox_packages():
    instructions = dockerfile_instructions()
    base = [args for instruction, args in instructions if instruction == "FROM"]
    assert base and re.match(r"(debian:bookworm-slim|python:3\.11-slim-bookworm)\b", base[-1])
    apt = " ".join(args for instruction, args in instructions if instruction == "RUN" and "apt-get install" in args)
    for package in ("bubblewrap", "util-linux", "python3-venv"):
        assert re.search(rf"(?<![\w-]){re.escape(package)}(?![\w-])", apt), package


def test_the_image_installs_the_pinned_requirements_and_builds_the_sandbox_runtime():
    runs = [args for instruction, args in dockerfile_instructions() if instruction == "RUN"]
    assert any(re.search(r"pip install .*-r \S*requirements\.txt", run) for run in runs)
    assert any(re.search(r"python3? -m engine\.runtime", run) for run in runs)
    assert any("collectstatic --noinput" in run for run in runs)
    assert (REPO / "engine" / "runtime.py").exists()


def test_the_commands_reference_modules_that_exist():
    def assigned_names(path: Path) -> set[str]:
        tree = ast.parse(path.read_text())
        return {
            target.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        }

    argvs = [command(services()[name]) for name in APP_SERVICES]
    cmd = [args for instruction, args in dockerfile_instructions() if instruction == "CMD"]
    argvs.append(yaml.safe_load(cmd[-1]))
    for argv in argvs:
        if argv[0] == "gunicorn":
            module, _, attribute = argv[1].partition(":")
            path = REPO / (module.replace(".", "/") + ".py")
            assert path.exists() and (attribute or "application") in assigned_names(path), argv
        elif argv[0] == "celery":
            app = option(argv, "--app", "-A")
            assert "app" in assigned_names(REPO / app / "celery.py")
            assert "celery_app" in (REPO / app / "__init__.py").read_text()
        elif argv[:2] == ["python", "manage.py"]:
            assert (REPO / "manage.py").exists()
        else:
            pytest.fail(f"unexpected command {argv}")


def test_the_entrypoint_is_in_the_image_executable_and_hands_over_with_exec():
    entrypoints = [args for instruction, args in dockerfile_instructions() if instruction == "ENTRYPOINT"]
    assert yaml.safe_load(entrypoints[-1]) == ["/app/deploy/docker-entrypoint.sh"]
    assert os.access(ENTRYPOINT, os.X_OK)
    assert ENTRYPOINT.read_text().rstrip().endswith('exec "$@"')


def test_the_build_context_keeps_what_the_services_need():
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    needed = ["grader/settings.py", "engine/launch.sh", "submissions/tasks.py", "checks", "assignments", "templates"]
    needed += ["manage.py", "requirements.txt", "requirements-sandbox.txt", "deploy/docker-entrypoint.sh"]
    for path in needed:
        parts = Path(path).parts
        prefixes = ["/".join(parts[: index + 1]) for index in range(len(parts))]
        excluded = [p for p in patterns if any(fnmatch.fnmatch(prefix, p) for prefix in prefixes)]
        assert not excluded, f"{path} is excluded from the image by {excluded}"


# -- the entrypoint, run -------------------------------------------------------
def run_entrypoint(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    path = f"{Path(sys.executable).parent}:/usr/bin:/bin"
    return subprocess.run(
        ["sh", str(ENTRYPOINT), "sh", "-c", 'printf %s "$DATABASE_URL"'],
        env={"PATH": path, **env},
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )


def test_the_entrypoint_puts_the_password_file_into_database_url(tmp_path):
    password = "p@ss:w/rd%#?x y"
    secret = tmp_path / "postgres_password"
    secret.write_text(password + "\n")
    url = services()["web"]["environment"]["DATABASE_URL"]
    result = run_entrypoint(tmp_path, DATABASE_URL=url, POSTGRES_PASSWORD_FILE=str(secret))
    assert result.returncode == 0, result.stderr
    parsed = dj_database_url.parse(result.stdout)
    assert (parsed["USER"], parsed["PASSWORD"], parsed["HOST"], parsed["PORT"], parsed["NAME"]) == (
        "labgrader",
        password,
        "postgres",
        5432,
        "labgrader",
    )


def test_the_entrypoint_leaves_database_url_alone_without_a_password_file(tmp_path):
    result = run_entrypoint(tmp_path, DATABASE_URL="postgres://u:p@db/x")
    assert (result.returncode, result.stdout) == (0, "postgres://u:p@db/x")


def test_the_entrypoint_refuses_a_database_url_without_a_user(tmp_path):
    secret = tmp_path / "postgres_password"
    secret.write_text("pw")
    result = run_entrypoint(tmp_path, DATABASE_URL="postgres://postgres/x", POSTGRES_PASSWORD_FILE=str(secret))
    assert result.returncode != 0
    assert "DATABASE_URL must name a user" in result.stderr
