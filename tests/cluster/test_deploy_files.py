"""The deployment files (compose.yaml, the Dockerfile and its entrypoint, the systemd units,
deploy/stadspuls.toml) are checked against the code they run, since neither Docker nor systemd
runs here: every command is a real `stadspuls` subcommand whose options parse, every
STADSPULS_ variable is a setting, secrets come from files, and the units pass
`systemd-analyze verify` where it is installed."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner
from pydantic import BaseModel

from stadspuls.cli.main import main
from stadspuls.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[2]
SYSTEMD = REPO / "deploy" / "systemd"
UNITS = sorted([*SYSTEMD.glob("*.service"), *SYSTEMD.glob("*.target")])
CONFIG_IN_CONTAINER = "/etc/stadspuls/stadspuls.toml"
# Environment variables that are not Stadspuls settings: uvicorn's trusted proxies.
NOT_SETTINGS = {"FORWARDED_ALLOW_IPS"}
# What each kind of worker is, by the command that runs it.
STAGES = {"collector": 1, "door": 4, "writer": 2, "consumers": 2, "web": 2}


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "compose.yaml").read_text())
    return loaded


def stadspuls_services() -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose()["services"].items()
        if service.get("image", "").startswith("stadspuls")
    }


def resolve(args: list[str]) -> click.Command:
    """The click command `stadspuls ARGS` runs, its options parsed (not invoked): raises
    click's UsageError for an unknown subcommand or option, or a bad value."""
    assert args[0] == "stadspuls", args
    command: click.Command = main
    ctx = click.Context(main, info_name="stadspuls")
    words = list(args[1:])
    while isinstance(command, click.Group):
        name = words.pop(0)
        found = command.get_command(ctx, name)
        if found is None:
            raise click.UsageError(f"no subcommand {name!r} in {' '.join(args)}")
        command = found
        ctx = click.Context(command, info_name=name, parent=ctx)
    command.make_context(ctx.info_name, words, parent=ctx.parent)
    return command


def subcommand(args: list[str]) -> list[str]:
    """The words naming the subcommand (up to the first option)."""
    words = []
    for word in args:
        if word.startswith("-"):
            break
        words.append(word)
    return words


def unit_values(path: Path, key: str) -> list[str]:
    return [
        line.split("=", 1)[1]
        for line in path.read_text().splitlines()
        if line.startswith(f"{key}=")
    ]


def expand_specifiers(text: str) -> str:
    return text.replace("%H", "host1").replace("%i", "8001").replace("%d", "/run/credentials/x")


def exec_starts() -> Iterator[tuple[str, list[str]]]:
    for unit in UNITS:
        for line in unit_values(unit, "ExecStart"):
            words = shlex.split(expand_specifiers(line))
            assert words[0] == "/opt/stadspuls/bin/stadspuls-entrypoint", unit.name
            assert words[1] == "/opt/stadspuls/bin/stadspuls", unit.name
            yield unit.name, ["stadspuls", *words[2:]]


def health_commands() -> Iterator[tuple[str, list[str]]]:
    for name, service in stadspuls_services().items():
        check = service.get("healthcheck")
        if check is None:
            continue
        test = check["test"]
        assert test[0] == "CMD-SHELL", name
        # `$$` is compose's escape of `$`: the container's shell expands $HOSTNAME.
        yield name, shlex.split(test[1].replace("$$HOSTNAME", "c0ffee"))


def setting_exists(variable: str) -> bool:
    """Whether STADSPULS_A__B names the setting a.b (nested with `__`, as pydantic-settings
    reads it); STADSPULS_X_FROM_FILE is X, read from a file by the entrypoint."""
    name = variable.removeprefix("STADSPULS_").removesuffix("_FROM_FILE").lower()
    model: type[BaseModel] = Settings
    parts = name.split("__")
    for n, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        if n < len(parts) - 1:
            annotation = field.annotation
            if annotation is None:
                return False
            inner = [a for a in getattr(annotation, "__args__", (annotation,)) if a is not None]
            models = [a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)]
            if not models:
                return False
            model = models[0]
    return True


# compose.yaml ------------------------------------------------------------------------------


def test_compose_runs_every_stage_with_its_replicas() -> None:
    services = compose()["services"]
    assert {"postgres", "redis", "migrate", "proxy", *STAGES} <= set(services)
    for stage, replicas in STAGES.items():
        command = services[stage]["command"]
        assert command[:3] == ["stadspuls", "worker", stage]
        assert services[stage].get("deploy", {}).get("replicas", 1) == replicas, stage
    assert services["migrate"]["command"][:3] == ["stadspuls", "db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    for stage in STAGES:
        after = services[stage]["depends_on"]["migrate"]
        assert after == {"condition": "service_completed_successfully"}, stage


def test_compose_images_are_pinned_and_the_broker_keeps_its_entries() -> None:
    services = compose()["services"]
    for name in ("postgres", "redis", "proxy"):
        image = services[name]["image"]
        assert re.fullmatch(r"[a-z]+:\d+(\.\d+)*(-[a-z]+)?", image), image
    redis = services["redis"]["command"]
    assert redis[redis.index("--appendonly") + 1] == "yes"
    assert redis[redis.index("--maxmemory-policy") + 1] == "noeviction"


def test_every_stadspuls_service_has_a_restart_policy_and_a_health_check() -> None:
    for name, service in stadspuls_services().items():
        assert service["restart"] in ("unless-stopped", "always", "no"), name
        if name != "migrate":
            assert service["restart"] != "no", name
            test = service["healthcheck"]["test"]
            assert test[1].startswith(f"stadspuls worker health {name} --name "), name


def test_every_command_in_compose_is_a_stadspuls_subcommand_whose_options_parse() -> None:
    for name, service in stadspuls_services().items():
        args = service["command"]
        resolve(args)
        assert args[args.index("--config") + 1] == CONFIG_IN_CONTAINER, name
    for _name, args in health_commands():
        resolve(args)


def test_a_mistyped_command_or_option_would_be_caught() -> None:
    # The check above is only worth something if it can fail.
    with pytest.raises(click.UsageError):
        resolve(["stadspuls", "worker", "consumer"])
    with pytest.raises(click.UsageError):
        resolve(["stadspuls", "worker", "web", "--prot", "8000"])
    with pytest.raises(click.BadParameter):
        resolve(["stadspuls", "worker", "consumers", "--check-every", "0"])


def test_every_subcommand_answers_help() -> None:
    commands = {tuple(subcommand(s["command"])) for s in stadspuls_services().values()}
    commands |= {tuple(subcommand(args)) for _, args in health_commands()}
    commands |= {tuple(subcommand(args)) for _, args in exec_starts()}
    runner = CliRunner()
    for words in sorted(commands):
        result = runner.invoke(main, [*words[1:], "--help"])
        assert result.exit_code == 0, (words, result.output)
        assert "--config" in result.output, words


def test_compose_environment_names_settings_and_keeps_secrets_in_files() -> None:
    services = stadspuls_services()
    secrets = compose()["secrets"]
    for name, service in services.items():
        for variable, value in service["environment"].items():
            if variable in NOT_SETTINGS:
                continue
            assert variable.startswith("STADSPULS_"), (name, variable)
            assert setting_exists(variable), (name, variable)
            if variable.endswith("_FILE"):
                # A key file, or a secret the entrypoint reads (_FROM_FILE): a file Docker
                # mounts from `secrets:`, never a literal.
                assert value.startswith("/run/secrets/"), (name, variable)
                assert value.removeprefix("/run/secrets/") in service["secrets"], variable
            else:
                assert not re.search(r"(?i)password|secret|://[^/@]+:[^/@]+@", str(value))
        for secret in service["secrets"]:
            assert secrets[secret]["file"].startswith("./deploy/secrets/"), secret
    postgres = compose()["services"]["postgres"]
    assert postgres["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"


def test_the_settings_of_the_deployment_load(monkeypatch: pytest.MonkeyPatch) -> None:
    environment = stadspuls_services()["web"]["environment"]
    for variable, value in environment.items():
        if not variable.endswith("_FROM_FILE"):  # read by the entrypoint, tested below
            monkeypatch.setenv(variable, str(value))
    settings = load_settings(REPO / "deploy" / "stadspuls.toml")
    assert settings.cluster.broker_url == "redis://redis:6379/0"
    assert settings.key_file == Path("/run/secrets/pseudonym_key")
    assert settings.volunteers.vapid_key_file == Path("/run/secrets/vapid_pem")
    assert settings.web.secure_cookies is True


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl (make-secrets.sh)")
def test_make_secrets_creates_every_secret_compose_mounts(tmp_path: Path) -> None:
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    shutil.copy(REPO / "deploy" / "make-secrets.sh", deploy)
    env = {k: v for k, v in os.environ.items() if k != "SUDO_USER"}
    subprocess.run(["bash", str(deploy / "make-secrets.sh")], check=True, env=env, timeout=60)
    for secret in compose()["secrets"].values():
        path = tmp_path / secret["file"]
        assert path.is_file(), secret
        assert path.stat().st_size > 0
    key = (deploy / "secrets" / "pseudonym.key").read_text().strip()
    assert len(bytes.fromhex(key)) == 32  # the format Stadspuls writes its own keys in
    url = (deploy / "secrets" / "db_url").read_text().strip()
    assert url.startswith("postgresql://stadspuls:")
    assert url.endswith("@postgres:5432/stadspuls")
    before = {p.name: p.read_bytes() for p in (deploy / "secrets").iterdir()}
    subprocess.run(["bash", str(deploy / "make-secrets.sh")], check=True, env=env, timeout=60)
    assert {p.name: p.read_bytes() for p in (deploy / "secrets").iterdir()} == before


# The image ---------------------------------------------------------------------------------


def test_the_dockerfile_installs_the_package_and_its_entrypoint() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert dockerfile.splitlines()[2] == "FROM python:3.11-slim"
    assert "RUN pip install ." in dockerfile
    assert "COPY deploy/docker-entrypoint.sh /usr/local/bin/stadspuls-entrypoint" in dockerfile
    assert 'ENTRYPOINT ["stadspuls-entrypoint"]' in dockerfile
    assert "USER stadspuls" in dockerfile


def test_the_entrypoint_reads_secret_settings_from_files(tmp_path: Path) -> None:
    secret = tmp_path / "db_url"
    secret.write_text("postgresql://stadspuls:s3cret@postgres:5432/stadspuls\n")
    env = {
        "PATH": os.environ["PATH"],
        "STADSPULS_DB_URL_FROM_FILE": str(secret),
        "STADSPULS_KEY_FILE": "/run/secrets/pseudonym_key",
    }
    done = subprocess.run(
        ["sh", str(REPO / "deploy" / "docker-entrypoint.sh"), "env"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "STADSPULS_DB_URL=postgresql://stadspuls:s3cret@postgres:5432/stadspuls" in lines
    assert not any(line.startswith("STADSPULS_DB_URL_FROM_FILE=") for line in lines)
    # A setting that is a path stays a path.
    assert "STADSPULS_KEY_FILE=/run/secrets/pseudonym_key" in lines
    env["STADSPULS_DB_URL_FROM_FILE"] = str(tmp_path / "missing")
    done = subprocess.run(
        ["sh", str(REPO / "deploy" / "docker-entrypoint.sh"), "env"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 78
    assert "cannot be read" in done.stderr


# systemd -----------------------------------------------------------------------------------


def test_the_units_run_every_stage_with_hardening() -> None:
    names = {unit.name for unit in UNITS}
    assert {
        "stadspuls-collector.service",
        "stadspuls-door@.service",
        "stadspuls-writer.service",
        "stadspuls-consumers.service",
        "stadspuls-web@.service",
        "stadspuls-migrate.service",
        "stadspuls.target",
    } <= names
    for unit in UNITS:
        if unit.suffix != ".service":
            continue
        text = unit.read_text()
        for line in (
            "ProtectSystem=strict",
            "NoNewPrivileges=yes",
            "StateDirectory=stadspuls",
            "User=stadspuls",
            "EnvironmentFile=/etc/stadspuls/stadspuls.env",
        ):
            assert line in text.splitlines(), (unit.name, line)
        if unit.name != "stadspuls-migrate.service":
            assert "Restart=always" in text.splitlines(), unit.name
        # Everything that opens the database starts after the migrations; the door opens none.
        if unit.name not in ("stadspuls-migrate.service", "stadspuls-door@.service"):
            assert "Requires=stadspuls-migrate.service" in text.splitlines(), unit.name
        # No watchdog: the processes do not call sd_notify.
        assert "WatchdogSec" not in text, unit.name


def test_a_door_worker_gets_no_database_password() -> None:
    door = (SYSTEMD / "stadspuls-door@.service").read_text()
    assert "db_url" not in door
    assert "LoadCredential=pseudonym.key:/etc/stadspuls/secrets/pseudonym.key" in door


def test_every_exec_start_is_a_stadspuls_subcommand_whose_options_parse() -> None:
    seen = set()
    for unit, args in exec_starts():
        resolve(args)
        seen.add(" ".join(subcommand(args)))
        assert args[args.index("--config") + 1] == CONFIG_IN_CONTAINER, unit
    assert {f"stadspuls worker {stage}" for stage in STAGES} | {"stadspuls db upgrade"} == seen


def test_the_units_environment_names_settings() -> None:
    example = SYSTEMD / "stadspuls.env.example"
    variables = [
        line.split("=", 1)[0]
        for line in example.read_text().splitlines()
        if line and not line.startswith("#")
    ]
    for unit in UNITS:
        variables += [value.split("=", 1)[0] for value in unit_values(unit, "Environment")]
    assert variables
    for variable in variables:
        assert variable in NOT_SETTINGS or setting_exists(variable), variable
    assert not setting_exists("STADSPULS_CLUSTER__BROKER_URI")  # the check can fail


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    # The units name /opt/stadspuls, where a real installation puts the virtual environment;
    # verified here with this checkout's programs in its place (verify checks they exist).
    stadspuls = shutil.which("stadspuls") or str(REPO / ".venv" / "bin" / "stadspuls")
    files = []
    for unit in UNITS:
        text = unit.read_text()
        text = text.replace(
            "/opt/stadspuls/bin/stadspuls-entrypoint", str(REPO / "deploy" / "docker-entrypoint.sh")
        )
        text = text.replace("/opt/stadspuls/bin/stadspuls", stadspuls)
        # A template is verified as one of its instances.
        name = unit.name.replace("@.", "@8001.")
        (tmp_path / name).write_text(text)
        files.append(name)
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *files],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Lines about this machine (no systemd running here) are not about the units.
    complaints = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if "stadspuls" in line and "Failed to" not in line
    ]
    assert done.returncode == 0, done.stdout + done.stderr
    assert not complaints, done.stdout + done.stderr


# The proxy -----------------------------------------------------------------------------------


def test_the_proxy_sends_to_the_web_service() -> None:
    proxy = compose()["services"]["proxy"]
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    caddyfile = (REPO / "deploy" / "Caddyfile").read_text()
    assert re.search(r"dynamic a \{\s+name web\s+port 8000", caddyfile)
    web = compose()["services"]["web"]["command"]
    assert web[web.index("--port") + 1] == "8000"
    assert "ports" not in compose()["services"]["web"]  # only the proxy reaches the replicas


@pytest.mark.skipif(shutil.which("caddy") is None, reason="needs caddy (Debian's package)")
def test_caddy_accepts_the_caddyfile(tmp_path: Path) -> None:
    done = subprocess.run(
        ["caddy", "validate", "--config", "deploy/Caddyfile", "--adapter", "caddyfile"],
        cwd=REPO,
        env={**os.environ, "STADSPULS_SITE": ":8080", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Valid configuration" in done.stdout + done.stderr
