"""Settings: precedence, profiles, file discovery, validation and secrets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from tui.config.settings import (
    ENV_VARS,
    ConfigError,
    KubernetesSettings,
    PostgresSettings,
    PrometheusSettings,
    RedactSettings,
    Secret,
    Settings,
    load_settings,
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def load(tmp_path: Path, toml: str | None = None, **kwargs: object) -> Settings:
    """load_settings isolated from the real user: explicit env, cwd and user config dir."""
    if toml is not None:
        kwargs.setdefault("config_path", write(tmp_path / "oncall-test.toml", toml))
    kwargs.setdefault("env", {})
    kwargs.setdefault("cwd", tmp_path)
    kwargs.setdefault("user_config_dir", tmp_path / "user-config")
    return load_settings(**kwargs)  # type: ignore[arg-type]


def config_error(tmp_path: Path, toml: str | None = None, **kwargs: object) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, toml, **kwargs)
    return caught.value


# --- defaults and discovery -------------------------------------------------------------------


def test_no_file_no_env_no_flags_gives_the_defaults(tmp_path: Path) -> None:
    settings = load(tmp_path)
    assert settings == Settings()
    assert settings.prometheus == PrometheusSettings()
    assert settings.config_file is None


def test_oncall_toml_in_the_working_directory_is_read(tmp_path: Path) -> None:
    write(tmp_path / "oncall.toml", '[prometheus]\nurl = "http://cwd:9090"\n')
    write(tmp_path / "user-config" / "config.toml", '[prometheus]\nurl = "http://user:9090"\n')
    settings = load(tmp_path)
    assert settings.prometheus.url == "http://cwd:9090"
    assert settings.config_file == tmp_path / "oncall.toml"


def test_the_user_config_dir_file_is_read_when_there_is_none_in_cwd(tmp_path: Path) -> None:
    user_file = write(tmp_path / "user-config" / "config.toml", '[prometheus]\nurl = "http://user:9090"\n')
    settings = load(tmp_path)
    assert settings.prometheus.url == "http://user:9090"
    assert settings.config_file == user_file


def test_the_user_config_dir_defaults_to_platformdirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    write(tmp_path / "xdg" / "oncall" / "config.toml", 'user = "from-xdg"\n')
    settings = load_settings(env={}, cwd=tmp_path)
    assert settings.user == "from-xdg"


def test_an_explicit_config_path_wins_over_discovery(tmp_path: Path) -> None:
    write(tmp_path / "oncall.toml", 'user = "cwd"\n')
    settings = load(tmp_path, 'user = "explicit"\n')
    assert settings.user == "explicit"


def test_an_explicit_config_path_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    error = config_error(tmp_path, config_path=tmp_path / "missing.toml")
    assert error.file == str(tmp_path / "missing.toml")
    assert error.key == "--config"
    assert "no such file" in str(error)


# --- precedence -------------------------------------------------------------------------------

FILE = """
runbook = "file-runbook.md"
store = "file.db"
user = "file-user"
[prometheus]
url = "http://file:9090"
token = "file-token"
refresh = 7
"""


def test_the_file_beats_the_defaults(tmp_path: Path) -> None:
    settings = load(tmp_path, FILE)
    assert settings.prometheus.url == "http://file:9090"
    assert settings.prometheus.token == Secret("file-token")
    assert settings.prometheus.refresh == 7.0
    assert settings.prometheus.timeout == 5.0  # untouched default
    assert settings.user == "file-user"


def test_the_environment_beats_the_file(tmp_path: Path) -> None:
    env = {
        "PROMETHEUS_URL": "http://env:9090",
        "PROMETHEUS_TOKEN": "env-token",
        "ONCALL_RUNBOOK": "/abs/env-runbook.md",
        "ONCALL_STORE": "env.db",
        "ONCALL_USER": "env-user",
    }
    settings = load(tmp_path, FILE, env=env)
    assert settings.prometheus.url == "http://env:9090"
    assert settings.prometheus.token == Secret("env-token")
    assert settings.runbook == Path("/abs/env-runbook.md")
    assert settings.store.path == tmp_path / "env.db"  # relative to where the user typed it
    assert settings.user == "env-user"
    assert settings.prometheus.refresh == 7.0  # not set by env: the file's


def test_flags_beat_the_environment(tmp_path: Path) -> None:
    env = {"PROMETHEUS_URL": "http://env:9090", "ONCALL_USER": "env-user", "ONCALL_STORE": "/env.db"}
    flags = {
        "prometheus_url": "http://flag:9090",
        "runbook": "flag.md",
        "store": "/flag.db",
        "user": "flag-user",
        "refresh": 2.5,
    }
    settings = load(tmp_path, FILE, env=env, flags=flags)
    assert settings.prometheus.url == "http://flag:9090"
    assert settings.runbook == tmp_path / "flag.md"
    assert settings.store.path == Path("/flag.db")
    assert settings.user == "flag-user"
    assert settings.prometheus.refresh == 2.5


def test_flags_left_as_none_do_not_override(tmp_path: Path) -> None:
    flags = {"prometheus_url": None, "runbook": None, "store": None, "user": None, "refresh": None}
    settings = load(tmp_path, FILE, env={"ONCALL_USER": "env-user"}, flags=flags)
    assert settings.user == "env-user"
    assert settings.prometheus.url == "http://file:9090"


def test_empty_environment_variables_count_as_unset(tmp_path: Path) -> None:
    settings = load(tmp_path, FILE, env={"PROMETHEUS_URL": "", "ONCALL_USER": "  "})
    assert settings.prometheus.url == "http://file:9090"
    assert settings.user == "file-user"


def test_every_environment_variable_is_documented() -> None:
    assert set(ENV_VARS) == {
        "PROMETHEUS_URL",
        "PROMETHEUS_TOKEN",
        "ONCALL_PROFILE",
        "ONCALL_RUNBOOK",
        "ONCALL_STORE",
        "ONCALL_USER",
        "ONCALL_KUBE_CONTEXT",
        "ONCALL_POSTGRES",
        "REDIS_URL",
        "REDISCLI_AUTH",
        "ALERTMANAGER_URL",
        "ALERTMANAGER_TOKEN",
    }
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for name in ENV_VARS:
        assert f"| `{name}` |" in readme, f"{name} is missing from the README's environment table"
    assert all(description for description in ENV_VARS.values())


# --- paths ------------------------------------------------------------------------------------


def test_relative_paths_in_the_file_resolve_against_the_files_folder(tmp_path: Path) -> None:
    conf = write(tmp_path / "etc" / "oncall.toml", 'runbook = "docs/RUNBOOK.md"\nstore = "../state/s.db"\n')
    settings = load(tmp_path, config_path=conf, cwd=tmp_path / "elsewhere")
    assert settings.runbook == tmp_path / "etc" / "docs" / "RUNBOOK.md"
    assert settings.store.path == tmp_path / "etc" / "../state/s.db"


def test_home_is_expanded_in_paths(tmp_path: Path) -> None:
    settings = load(tmp_path, 'runbook = "~/RUNBOOK.md"\n')
    assert settings.runbook == Path(os.path.expanduser("~/RUNBOOK.md"))


# --- profiles ---------------------------------------------------------------------------------

PROFILES = """
runbook = "top.md"
user = "top-user"
[prometheus]
url = "http://staging:9090"
token = "staging-token"
timeout = 3
[profiles.production]
runbook = "prod.md"
[profiles.production.prometheus]
url = "https://prod:9090"
token_env = "PROD_TOKEN"
[profiles.lab]
user = "lab-user"
"""


def test_without_a_profile_the_top_level_is_used(tmp_path: Path) -> None:
    settings = load(tmp_path, PROFILES)
    assert settings.profile == "default"
    assert settings.prometheus.url == "http://staging:9090"
    assert settings.runbook == tmp_path / "top.md"


def test_a_profile_overlays_the_top_level(tmp_path: Path) -> None:
    settings = load(tmp_path, PROFILES, profile="production", env={"PROD_TOKEN": "prod-token"})
    assert settings.profile == "production"
    assert settings.prometheus.url == "https://prod:9090"
    assert settings.prometheus.token == Secret("prod-token")  # its own token form replaces the top one
    assert settings.prometheus.timeout == 3.0  # kept from the top level
    assert settings.runbook == tmp_path / "prod.md"
    assert settings.user == "top-user"


def test_oncall_profile_selects_a_profile_and_the_flag_beats_it(tmp_path: Path) -> None:
    assert load(tmp_path, PROFILES, env={"ONCALL_PROFILE": "lab"}).user == "lab-user"
    env = {"ONCALL_PROFILE": "lab", "PROD_TOKEN": "p"}
    assert load(tmp_path, PROFILES, env=env, profile="production").profile == "production"


def test_a_missing_profile_lists_the_profiles_that_exist(tmp_path: Path) -> None:
    error = config_error(tmp_path, PROFILES, profile="prod")
    assert error.key == "--profile"
    assert "no profile 'prod'" in error.problem
    assert "lab, production" in error.problem


def test_a_missing_profile_from_the_environment_names_the_variable(tmp_path: Path) -> None:
    error = config_error(tmp_path, PROFILES, env={"ONCALL_PROFILE": "nope"})
    assert error.key == "ONCALL_PROFILE"


def test_a_profile_without_any_config_file_is_an_error(tmp_path: Path) -> None:
    error = config_error(tmp_path, profile="production")
    assert "no profile 'production'" in str(error)


# --- validation -------------------------------------------------------------------------------


def test_a_wrong_type_names_file_key_and_value(tmp_path: Path) -> None:
    error = config_error(tmp_path, '[prometheus]\nurl = "http://p:9090"\ntimeout = "fast"\n')
    assert error.file == str(tmp_path / "oncall-test.toml")
    assert error.key == "prometheus.timeout"
    assert error.problem == "must be a number of seconds, got 'fast'"
    assert (
        str(error)
        == f"{tmp_path / 'oncall-test.toml'}: prometheus.timeout: must be a number of seconds, got 'fast'"
    )


@pytest.mark.parametrize(
    ("toml", "key", "problem"),
    [
        ("[prometheus]\nverify = 'yes'\n", "prometheus.verify", "must be true or false, got 'yes'"),
        ("[prometheus]\nrefresh = true\n", "prometheus.refresh", "must be a number of seconds, got true"),
        ("[prometheus]\nurl = 9090\n", "prometheus.url", "must be a string, got 9090"),
        ("user = 42\n", "user", "must be a name in quotes, got 42"),
        ("runbook = ['a']\n", "runbook", "must be a path in quotes, got a list"),
        ("prometheus = 'x'\n", "prometheus", "must be a table [prometheus], got 'x'"),
        (
            "[profiles.prod.prometheus]\ntimeout = 'slow'\n",
            "profiles.prod.prometheus.timeout",
            "must be a number of seconds, got 'slow'",
        ),
    ],
)
def test_wrong_types_are_errors(tmp_path: Path, toml: str, key: str, problem: str) -> None:
    error = config_error(tmp_path, toml)
    assert (error.key, error.problem) == (key, problem)


@pytest.mark.parametrize("key", ["timeout", "refresh"])
@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_timeout_and_refresh_must_be_more_than_zero(tmp_path: Path, key: str, value: str) -> None:
    error = config_error(tmp_path, f"[prometheus]\n{key} = {value}\n")
    assert error.key == f"prometheus.{key}"
    assert "more than 0 seconds" in error.problem


def test_a_refresh_flag_must_be_a_positive_number(tmp_path: Path) -> None:
    assert load(tmp_path, flags={"refresh": "1.5"}).prometheus.refresh == 1.5
    error = config_error(tmp_path, flags={"refresh": "soon"})
    assert (error.file, error.key) == ("command line", "--refresh")
    assert config_error(tmp_path, flags={"refresh": 0}).key == "--refresh"


@pytest.mark.parametrize(
    ("toml", "key", "hint"),
    [
        ("[prometheus]\ntokne = 'x'\n", "prometheus.tokne", "did you mean 'token'?"),
        ("runbok = 'x'\n", "runbok", "did you mean 'runbook'?"),
        ("colour = 'x'\n", "colour", "expected one of runbook, user, lab_factor, prometheus"),
        ("[profiles.prod]\nstor = 'x'\n", "profiles.prod.stor", "did you mean 'store'?"),
        ("[profiles.prod]\nprofiles = 'x'\n", "profiles.prod.profiles", "unknown key"),
    ],
)
def test_unknown_keys_are_named(tmp_path: Path, toml: str, key: str, hint: str) -> None:
    error = config_error(tmp_path, toml)
    assert error.key == key
    assert error.problem.startswith("unknown key")
    assert hint in error.problem


def test_bad_toml_gives_line_and_column(tmp_path: Path) -> None:
    error = config_error(tmp_path, 'user = "alice"\n[prometheus\nurl = "x"\n')
    assert error.file == str(tmp_path / "oncall-test.toml")
    assert error.key == "line 2, column 12"
    assert error.problem.startswith("invalid TOML: ")


@pytest.mark.parametrize(
    "url", ["prometheus:9090", "ftp://p:9090", "http://", "localhost", "http://p:notaport"]
)
def test_a_url_needs_http_or_https_and_a_host(tmp_path: Path, url: str) -> None:
    error = config_error(tmp_path, f'[prometheus]\nurl = "{url}"\n')
    assert error.key == "prometheus.url"


def test_a_bad_url_from_the_environment_or_a_flag_names_where_it_came_from(tmp_path: Path) -> None:
    error = config_error(tmp_path, env={"PROMETHEUS_URL": "prometheus:9090"})
    assert (error.file, error.key) == ("environment", "PROMETHEUS_URL")
    error = config_error(tmp_path, flags={"prometheus_url": "nope"})
    assert (error.file, error.key) == ("command line", "--prometheus-url")


# --- secrets ----------------------------------------------------------------------------------


def test_token_file_is_read_relative_to_the_config_and_stripped(tmp_path: Path) -> None:
    write(tmp_path / "secrets" / "token", "  file-token\n")
    settings = load(tmp_path, '[prometheus]\ntoken_file = "secrets/token"\n')
    assert settings.prometheus.token == Secret("file-token")


def test_an_unreadable_token_file_is_an_error_without_its_content(tmp_path: Path) -> None:
    error = config_error(tmp_path, '[prometheus]\ntoken_file = "nope/token"\n')
    assert error.key == "prometheus.token_file"
    assert "cannot read" in error.problem and "No such file" in error.problem


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_a_token_file_without_permission_is_an_error(tmp_path: Path) -> None:
    token = write(tmp_path / "token", "secret-value")
    token.chmod(0)
    error = config_error(tmp_path, f'[prometheus]\ntoken_file = "{token}"\n')
    assert "Permission denied" in error.problem
    assert "secret-value" not in str(error)


def test_an_empty_token_file_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "token", "\n")
    assert "is empty" in config_error(tmp_path, '[prometheus]\ntoken_file = "token"\n').problem


def test_token_env_reads_the_named_variable(tmp_path: Path) -> None:
    settings = load(tmp_path, '[prometheus]\ntoken_env = "MY_TOKEN"\n', env={"MY_TOKEN": "t0k"})
    assert settings.prometheus.token == Secret("t0k")
    error = config_error(tmp_path, '[prometheus]\ntoken_env = "MY_TOKEN"\n')
    assert (error.key, error.problem) == ("prometheus.token_env", "environment variable MY_TOKEN is not set")


def test_only_one_form_of_a_token_may_be_given(tmp_path: Path) -> None:
    error = config_error(tmp_path, '[prometheus]\ntoken = "a"\ntoken_env = "B"\n')
    assert "set only one of token, token_file, token_env" in error.problem


def test_basic_auth_with_password_file(tmp_path: Path) -> None:
    write(tmp_path / "pw", "hunter2\n")
    settings = load(tmp_path, '[prometheus]\nusername = "alice"\npassword_file = "pw"\n')
    assert settings.prometheus.username == "alice"
    assert settings.prometheus.password == Secret("hunter2")


def test_a_password_needs_a_username(tmp_path: Path) -> None:
    error = config_error(tmp_path, '[prometheus]\npassword = "hunter2"\n')
    assert error.key == "prometheus.username"
    assert "hunter2" not in str(error)


def test_a_wrongly_typed_token_is_never_echoed(tmp_path: Path) -> None:
    error = config_error(tmp_path, "[prometheus]\ntoken = 123456789\n")
    assert error.key == "prometheus.token"
    assert "123456789" not in str(error)


def test_credentials_in_the_url_move_into_secrets(tmp_path: Path) -> None:
    settings = load(tmp_path, env={"PROMETHEUS_URL": "https://bob:p%40ss@prom.example:9090/prom"})
    prom = settings.prometheus
    assert prom.url == "https://prom.example:9090/prom"
    assert prom.username == "bob"
    assert prom.password == Secret("p@ss")


def test_secrets_never_show_in_repr(tmp_path: Path) -> None:
    write(tmp_path / "pw", "hunter2")
    toml = '[prometheus]\ntoken = "tok-123"\nusername = "u"\npassword_file = "pw"\n'
    settings = load(tmp_path, toml)
    text = repr(settings) + str(settings)
    assert "tok-123" not in text and "hunter2" not in text
    assert "********" in text
    assert settings.prometheus.token is not None and settings.prometheus.token.reveal() == "tok-123"


def test_ca_file_must_exist_and_resolves_against_the_file(tmp_path: Path) -> None:
    write(tmp_path / "ca.pem", "-----BEGIN CERTIFICATE-----\n")
    settings = load(tmp_path, '[prometheus]\nca_file = "ca.pem"\nverify = true\n')
    assert settings.prometheus.ca_file == tmp_path / "ca.pem"
    error = config_error(tmp_path, '[prometheus]\nca_file = "missing.pem"\n')
    assert error.key == "prometheus.ca_file"


def test_a_token_file_that_is_a_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "tokens").mkdir()
    error = config_error(tmp_path, '[prometheus]\ntoken_file = "tokens"\n')
    assert error.key == "prometheus.token_file"
    assert "Is a directory" in error.problem


# --- kubernetes -------------------------------------------------------------------------------


def test_kubernetes_defaults_leave_the_choice_to_kubeconfig(tmp_path: Path) -> None:
    kube = load(tmp_path).kubernetes
    assert kube == KubernetesSettings()
    assert (kube.kubeconfig, kube.context, kube.namespace, kube.in_cluster) == (None, None, None, False)
    assert kube.timeout == 5.0


def test_kubernetes_table_is_read_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    toml = (
        "[kubernetes]\nkubeconfig = 'kube/lab.yaml'\ncontext = 'sim'\nnamespace = 'production'\n"
        "timeout = 2\nrefresh = 10\n"
    )
    kube = load(tmp_path, toml).kubernetes
    assert kube.kubeconfig == tmp_path / "kube" / "lab.yaml"
    assert (kube.context, kube.namespace, kube.timeout, kube.refresh) == ("sim", "production", 2.0, 10.0)


def test_a_profile_overlays_kubernetes_key_by_key(tmp_path: Path) -> None:
    toml = (
        "[kubernetes]\ncontext = 'staging'\nnamespace = 'production'\n"
        "[profiles.prod.kubernetes]\ncontext = 'prod-eu'\n"
    )
    assert load(tmp_path, toml).kubernetes.context == "staging"
    kube = load(tmp_path, toml, profile="prod").kubernetes
    assert (kube.context, kube.namespace) == ("prod-eu", "production")


def test_kube_context_flag_beats_the_environment_which_beats_the_file(tmp_path: Path) -> None:
    toml = "[kubernetes]\ncontext = 'file'\n"
    env = {"ONCALL_KUBE_CONTEXT": "env"}
    assert load(tmp_path, toml).kubernetes.context == "file"
    assert load(tmp_path, toml, env=env).kubernetes.context == "env"
    assert load(tmp_path, toml, env=env, flags={"kube_context": "flag"}).kubernetes.context == "flag"


def test_kubeconfig_env_is_left_to_the_client(tmp_path: Path) -> None:
    # KUBECONFIG may list several files; the probe resolves it, so settings keep "not set"
    kube = load(tmp_path, env={"KUBECONFIG": "/a:/b"}).kubernetes
    assert kube.kubeconfig is None


@pytest.mark.parametrize(
    ("toml", "key", "problem"),
    [
        ("[kubernetes]\ncontxt = 'x'\n", "kubernetes.contxt", "did you mean 'context'?"),
        ("[kubernetes]\nin_cluster = 'yes'\n", "kubernetes.in_cluster", "must be true or false"),
        ("[kubernetes]\ntimeout = 0\n", "kubernetes.timeout", "more than 0 seconds"),
        ("[kubernetes]\nnamespace = 3\n", "kubernetes.namespace", "must be a name in quotes"),
        ("kubernetes = 'sim'\n", "kubernetes", "must be a table"),
        (
            "[kubernetes]\nin_cluster = true\nkubeconfig = '/k'\n",
            "kubernetes.in_cluster",
            "not both",
        ),
        ("[profiles.p.kubernetes]\nrefresh = 'x'\n", "profiles.p.kubernetes.refresh", "number of seconds"),
    ],
)
def test_bad_kubernetes_settings_name_the_key(tmp_path: Path, toml: str, key: str, problem: str) -> None:
    error = config_error(tmp_path, toml)
    assert error.key == key
    assert problem in error.problem


# --- [postgres] ---------------------------------------------------------------------------------


def test_postgres_is_not_configured_by_default(tmp_path: Path) -> None:
    settings = load(tmp_path)
    assert settings.postgres == PostgresSettings()
    assert not settings.postgres.configured


def test_postgres_dsn_from_the_file_with_its_timeouts(tmp_path: Path) -> None:
    toml = (
        '[postgres]\ndsn = "host=db.internal port=5433 dbname=app user=oncall"\n'
        "connect_timeout = 3\nstatement_timeout = 2.5\nrefresh = 10\n"
    )
    pg = load(tmp_path, toml).postgres
    assert pg.configured
    assert conninfo_to_dict(pg.dsn or "") == {
        "host": "db.internal",
        "port": "5433",
        "dbname": "app",
        "user": "oncall",
    }
    assert (pg.connect_timeout, pg.statement_timeout, pg.refresh) == (3.0, 2.5, 10.0)
    assert pg.password is None


def test_a_password_in_the_postgres_url_becomes_a_secret_and_leaves_the_dsn(tmp_path: Path) -> None:
    pg = load(tmp_path, env={"ONCALL_POSTGRES": "postgresql://oncall:s3cret@db:5432/app"}).postgres
    assert pg.password == Secret("s3cret")
    assert "s3cret" not in (pg.dsn or "") and "s3cret" not in repr(pg)
    assert conninfo_to_dict(pg.dsn or "")["host"] == "db"


def test_postgres_password_env_and_file_are_read_as_secrets(tmp_path: Path) -> None:
    toml = '[postgres]\ndsn = "host=db"\npassword_env = "MY_PG_PW"\n'
    pg = load(tmp_path, toml, env={"MY_PG_PW": "from-env"}).postgres
    assert pg.password == Secret("from-env")
    write(tmp_path / "pw.txt", "from-file\n")
    pg = load(tmp_path, '[postgres]\ndsn = "host=db"\npassword_file = "pw.txt"\n').postgres
    assert pg.password == Secret("from-file")


def test_postgres_precedence_flag_over_env_over_profile_over_file(tmp_path: Path) -> None:
    toml = '[postgres]\ndsn = "host=file"\nrefresh = 7\n[profiles.staging.postgres]\ndsn = "host=staging"\n'
    assert conninfo_to_dict(load(tmp_path, toml).postgres.dsn or "")["host"] == "file"
    staging = load(tmp_path, toml, profile="staging").postgres
    assert conninfo_to_dict(staging.dsn or "")["host"] == "staging"
    assert staging.refresh == 7.0  # the rest of [postgres] still applies
    env = {"ONCALL_POSTGRES": "host=env"}
    assert conninfo_to_dict(load(tmp_path, toml, env=env).postgres.dsn or "")["host"] == "env"
    flagged = load(tmp_path, toml, env=env, flags={"postgres": "host=flag"}).postgres
    assert conninfo_to_dict(flagged.dsn or "")["host"] == "flag"


@pytest.mark.parametrize("variable", ["PGHOST", "PGSERVICE", "PGDATABASE"])
def test_libpq_environment_alone_configures_postgres(tmp_path: Path, variable: str) -> None:
    pg = load(tmp_path, env={variable: "x"}).postgres
    assert pg.configured and pg.dsn is None and pg.libpq_env


def test_a_bad_postgres_dsn_names_the_key_without_echoing_it(tmp_path: Path) -> None:
    error = config_error(tmp_path, '[postgres]\ndsn = "host=db password=hunter2 nonsense"\n')
    assert error.key == "postgres.dsn"
    assert "hunter2" not in str(error)
    error = config_error(tmp_path, env={"ONCALL_POSTGRES": "postgresql://u:hunter2@db/x?nosuchparam=1"})
    assert error.key == "ONCALL_POSTGRES" and "hunter2" not in str(error)


def test_unknown_or_mistyped_postgres_keys_fail_early(tmp_path: Path) -> None:
    error = config_error(tmp_path, '[postgres]\ndns = "host=db"\n')
    assert (error.key, error.problem) == ("postgres.dns", "unknown key; did you mean 'dsn'?")
    error = config_error(tmp_path, "[postgres]\nstatement_timeout = 0\n")
    assert error.key == "postgres.statement_timeout"
    error = config_error(tmp_path, '[profiles.x.postgres]\npassword = "a"\npassword_env = "B"\n')
    assert error.key == "profiles.x.postgres.password_env"


def test_the_store_is_a_path_or_a_shared_postgresql(tmp_path: Path) -> None:
    shorthand = load(tmp_path, 'store = "s.db"\n')
    assert shorthand.store.path == tmp_path / "s.db" and shorthand.store.url is None
    table = load(tmp_path, '[store]\nurl = "postgresql://drv:pw@db.internal/oncall"\npath = "q.db"\n')
    assert table.store.url is not None and table.store.url.reveal().endswith("@db.internal/oncall")
    assert table.store.path == tmp_path / "q.db"
    assert table.store.shown == "postgresql://drv:••••@db.internal/oncall"  # never the password
    flag = load(tmp_path, FILE, flags={"store": "postgres://db/oncall"})
    assert flag.store.url is not None and flag.store.url.reveal() == "postgres://db/oncall"


def test_alertmanager_url_from_the_file_the_environment_and_the_flag(tmp_path: Path) -> None:
    conf = '[alertmanager]\nurl = "http://am.internal:9093"\n'
    assert load(tmp_path, conf).alertmanager.url == "http://am.internal:9093"
    env = load(tmp_path, conf, env={"ALERTMANAGER_URL": "http://env:9093"})
    assert env.alertmanager.url == "http://env:9093"
    flag = load(tmp_path, conf, flags={"alertmanager": "http://flag:9093"})
    assert flag.alertmanager.url == "http://flag:9093"
    assert config_error(tmp_path, '[alertmanager]\nurl = "am:9093"\n').key == "alertmanager.url"


def test_redact_rules_default_to_none_and_a_profile_replaces_a_list_of_the_top_level(tmp_path: Path) -> None:
    assert load(tmp_path).redact == RedactSettings()
    toml = '[redact]\nnames = ["pin"]\npatterns = ["sk_\\\\w+"]\n[profiles.prod.redact]\nnames = ["otp"]\n'
    patterns = ("sk_\\w+",)
    assert load(tmp_path, toml).redact == RedactSettings(names=("pin",), patterns=patterns)
    assert load(tmp_path, toml, profile="prod").redact == RedactSettings(names=("otp",), patterns=patterns)
