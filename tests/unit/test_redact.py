"""The redaction rules on their own: every secret the issue names is masked, its name and the rest kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probes.alertmanager.model import parse_alert as parse_am_alert
from probes.alertmanager.model import parse_matcher
from probes.base import Reading
from probes.kubernetes.readings import describe_reading_from, jsonpath_reading_from
from probes.prometheus.alerts import AlertReader
from probes.redact import (
    MASK,
    RULES,
    Redactor,
    RedactRuleError,
    RedactSettings,
    active,
    install,
    redact_command,
    redact_object,
    redact_reading,
    redact_text,
    secret_name,
)
from probes.redis import slowlog_from
from tui.config.settings import ConfigError, Settings, load_settings
from tui.demo import kube_objects as fixtures
from tui.triage.commands import LiveRead
from tui.triage.commands.classifier import classify
from tui.triage.registry import Sources, gather


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        (
            "CREATE ROLE oncall_monitor LOGIN PASSWORD 'lab-monitor-pw'",
            f"CREATE ROLE oncall_monitor LOGIN PASSWORD '{MASK}'",
        ),
        (
            "alter role app with encrypted password 'it''s-secret' valid until 'infinity'",
            f"alter role app with encrypted password '{MASK}' valid until 'infinity'",
        ),
        ("ALTER USER app PASSWORD E'back\\'slash'", f"ALTER USER app PASSWORD E'{MASK}'"),
        ("ALTER USER app PASSWORD E'ends\\\\' LOGIN", f"ALTER USER app PASSWORD E'{MASK}' LOGIN"),
        ("ALTER USER app PASSWORD 'back\\''quote' LOGIN", f"ALTER USER app PASSWORD '{MASK}' LOGIN"),
        ("CREATE ROLE app PASSWORD $$dollar$$ LOGIN", f"CREATE ROLE app PASSWORD $${MASK}$$ LOGIN"),
        ("CREATE ROLE app PASSWORD $pw$tagged$pw$", f"CREATE ROLE app PASSWORD $pw${MASK}$pw$"),
        ("CREATE ROLE app PASSWORD /* why */ 'commented'", f"CREATE ROLE app PASSWORD /* why */ '{MASK}'"),
        ("CREATE ROLE app PASSWORD U&'unicode'", f"CREATE ROLE app PASSWORD U&'{MASK}'"),
        # pg_stat_activity cuts the text at track_activity_query_size: the literal never closes
        ("CREATE ROLE app LOGIN PASSWORD 'cut-off-secr", f"CREATE ROLE app LOGIN PASSWORD '{MASK}"),
        ("ALTER ROLE app PASSWORD $$cut-off", f"ALTER ROLE app PASSWORD $${MASK}"),
        (
            "CREATE USER MAPPING FOR bob SERVER s OPTIONS (user 'bob', password 'fdw-secret')",
            f"CREATE USER MAPPING FOR bob SERVER s OPTIONS (user 'bob', password '{MASK}')",
        ),
        (
            "SELECT dblink_connect('host=db port=5432 password=conn-secret dbname=app')",
            f"SELECT dblink_connect('host=db port=5432 password={MASK} dbname=app')",
        ),
        (
            "SELECT dblink_connect('host=db password=''with space'' dbname=app')",
            f"SELECT dblink_connect('host=db password=''{MASK}'' dbname=app')",
        ),
        (
            "SELECT 1 FROM users u WHERE u.password = 'hunter2'",
            f"SELECT 1 FROM users u WHERE u.password = '{MASK}'",
        ),
        ("postgresql://app:url-secret@db:5432/app", f"postgresql://app:{MASK}@db:5432/app"),
        ("rediss://:url-secret@cache:6380/0", f"rediss://:{MASK}@cache:6380/0"),
    ],
)
def test_a_secret_in_query_text_is_masked_and_the_rest_kept(query: str, shown: str) -> None:
    assert redact_text(query) == shown


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM pg_stat_activity WHERE state = 'active'",
        "CREATE ROLE app PASSWORD NULL",
        "SELECT * FROM users WHERE password = $1",  # pg_stat_statements' normalized text: no value in it
        "SELECT password_hash FROM users WHERE id = 3",
        "",
    ],
)
def test_text_without_a_secret_comes_back_unchanged(query: str) -> None:
    assert redact_text(query) == query


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (("AUTH", "only-pw"), ("AUTH", MASK)),
        (("auth", "alice", "user-pw"), ("auth", "alice", MASK)),
        (
            ("HELLO", "3", "AUTH", "alice", "hello-pw", "SETNAME", "x"),
            ("HELLO", "3", "AUTH", "alice", MASK, "SETNAME", "x"),
        ),
        (("CONFIG", "SET", "requirepass", "req-pw"), ("CONFIG", "SET", "requirepass", MASK)),
        (
            ("config", "set", "maxmemory", "1gb", "masterauth", "m-pw"),
            ("config", "set", "maxmemory", "1gb", "masterauth", MASK),
        ),
        (
            ("MIGRATE", "10.0.0.9", "6379", "k", "0", "5000", "COPY", "AUTH", "mig-pw"),
            ("MIGRATE", "10.0.0.9", "6379", "k", "0", "5000", "COPY", "AUTH", MASK),
        ),
        (
            ("MIGRATE", "h", "6379", "", "0", "5000", "AUTH2", "bob", "mig-pw", "KEYS", "a"),
            ("MIGRATE", "h", "6379", "", "0", "5000", "AUTH2", "bob", MASK, "KEYS", "a"),
        ),
        (("ACL", "SETUSER", "bob", "on", ">acl-pw", "~*"), ("ACL", "SETUSER", "bob", "on", f">{MASK}", "~*")),
        (("SET", "dsn", "host=db password=conn-pw"), ("SET", "dsn", f"host=db password={MASK}")),
        (("GET", "password"), ("GET", "password")),
    ],
)
def test_the_secret_arguments_of_a_redis_command_are_masked(
    args: tuple[str, ...], shown: tuple[str, ...]
) -> None:
    assert redact_command(args) == shown


def test_a_slow_log_entry_from_a_server_that_does_not_redact_shows_no_password() -> None:
    # Redis 7 writes "(redacted)" itself; older servers and Redis-compatible ones send the argument as is
    reply = [
        [3, 1764471600, 12, [b"AUTH", b"default", b"plain-auth-pw"], b"127.0.0.1:5000", b""],
        [2, 1764471600, 11, [b"CONFIG", b"SET", b"requirepass", b"plain-req-pw"], b"127.0.0.1:5000", b""],
        [1, 1764471600, 10, [b"MIGRATE", b"h", b"1", b"k", b"0", b"9", b"AUTH", b"plain-mig-pw"], b"", b""],
    ]
    entries = slowlog_from(reply)
    shown = " ".join(" ".join(e.args) for e in entries)
    assert "plain-" not in shown
    assert f"AUTH default {MASK}" in shown and f"requirepass {MASK}" in shown and f"AUTH {MASK}" in shown


def test_a_reading_of_other_sessions_queries_is_redacted_cell_by_cell() -> None:
    reading = Reading.table(
        "postgresql",
        "SELECT usename, query FROM pg_stat_activity",
        ("usename", "query"),
        [("postgres", "ALTER ROLE app PASSWORD 'reading-pw'")],
        read_at=datetime(2026, 11, 30, tzinfo=UTC),
    )
    assert redact_reading(reading).rows == (("postgres", f"ALTER ROLE app PASSWORD '{MASK}'"),)


def test_every_rule_is_in_the_one_table_with_a_unique_name() -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    assert {
        "sql-password",
        "conninfo-password",
        "redis-auth",
        "redis-config-set",
        "redis-migrate-auth",
    } <= set(names)


@given(
    secret=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1),
    keyword=st.sampled_from(["PASSWORD", "ENCRYPTED PASSWORD", "password =", "PASSWORD /* why */"]),
    escaped=st.booleans(),
)
def test_any_password_literal_whole_or_cut_anywhere_shows_only_the_mask(
    secret: str, keyword: str, escaped: bool
) -> None:
    prefix = f"ALTER ROLE app WITH LOGIN {keyword} "
    if escaped:  # E'…' with backslash escapes
        opening, body = "E'", secret.replace("\\", "\\\\").replace("'", "\\'")
    else:
        opening, body = "'", secret.replace("'", "''")
    suffix = "' VALID UNTIL 'infinity'"
    statement = f"{prefix}{opening}{body}{suffix}"
    for cut in range(len(prefix) + len(opening), len(statement) + 1):
        shown = redact_text(statement[:cut])
        assert shown.startswith(prefix + opening + MASK), (statement[:cut], shown)
        # after the mask only the closing quote and what follows it, never a piece of the secret
        rest = shown[len(prefix) + len(opening) + len(MASK) :]
        assert suffix.startswith(rest), (statement[:cut], shown)


# --- names: which values are secrets by what they are called ---------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "API_KEY",
        "apiKey",
        "SECRET_KEY_BASE",
        "DB_PASSWORD",
        "PGPASSWORD",
        "GITHUB_TOKEN",
        "AUTHORIZATION",
        "dbDsn",
        "SENTRY_DSN",
        "client_secret",
        "AWS_CREDENTIALS",
        "DB_PASSWD",
        "DB_PWD",
        "requirepass",  # Redis's own settings
        "masterauth",
        "tls-key-file-pass",
        "OAuth2Token",
        "api_keys",
        "authn",
        "KEY",  # an environment variable or label named KEY alone
        # words that end like a secret: masked too, because a leak is worse than a hidden value
        "monkey",
    ],
)
def test_a_name_with_a_secret_word_in_it_marks_its_value_secret(name: str) -> None:
    assert secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "author",  # not auth
        "authority",
        "keyspace",  # Redis's keyspace: a word of its own, not a key
        "keyspace_hits",
        "evicted_keys",  # `keys` alone is a count of keys
        "tokenizer",  # not a token
        "active_defrag_key_hits",  # the last word says what the value is: a count
        "DB_PASSWORD_FILE",  # a path to the secret, not the secret
        "secretName",  # the name of a Secret
        "errorstat_NOAUTH",  # Redis's NOAUTH error count
        "DATABASE_URL",  # its value goes through the text rules instead (url-password)
        "LOG_LEVEL",
        "app",
        "kubectl.kubernetes.io/last-applied-configuration",
    ],
)
def test_a_name_without_one_leaves_its_value_shown(name: str) -> None:
    assert not secret_name(name)


def test_key_alone_is_a_lookup_key_in_a_record_or_a_text_but_a_secret_as_a_variable() -> None:
    # secretKeyRef {"name": "db", "key": "password"}, a log's key=user:42 vs an env var named KEY
    assert secret_name("key") and not secret_name("key", field=True)
    assert secret_name("api_key", field=True)


# --- text rules beyond SQL and Redis ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Authorization: Bearer abc.def-123456", f"Authorization: Bearer {MASK}"),
        (
            "curl -H 'Authorization: Basic dXNlcjpwYXNz' http://x",
            f"curl -H 'Authorization: Basic {MASK}' http://x",
        ),
        ('{"authorization": "Token t0k3n-value"}', f'{{"authorization": "Token {MASK}"}}'),
        ("retrying with bearer s3cr3t-t0ken-value", f"retrying with bearer {MASK}"),
        ("proxy sent Basic YWxpY2U6aHVudGVyMg==", f"proxy sent Basic {MASK}"),
        (
            "session eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl expired",
            f"session {MASK} expired",
        ),
        ("cut jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOi", f"cut jwt {MASK}"),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nxyz==\n-----END RSA PRIVATE KEY-----\nnext",
            f"-----BEGIN RSA PRIVATE KEY-----\n{MASK}\n-----END RSA PRIVATE KEY-----\nnext",
        ),
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA",
            f"-----BEGIN OPENSSH PRIVATE KEY-----\n{MASK}",
        ),
        (
            '{"key":"-----BEGIN PRIVATE KEY-----\\nMIIEvQ\\n-----END PRIVATE KEY-----\\n"}',
            f'{{"key":"-----BEGIN PRIVATE KEY-----{MASK}-----END PRIVATE KEY-----\\n"}}',
        ),
        (
            '[{"name":"DB_PASSWORD","value":"env-pw"},{"name":"LOG_LEVEL","value":"info"}]',
            f'[{{"name":"DB_PASSWORD","value":"{MASK}"}},{{"name":"LOG_LEVEL","value":"info"}}]',
        ),
        ("{'name': 'API_TOKEN', 'value': 'tok'}", f"{{'name': 'API_TOKEN', 'value': '{MASK}'}}"),
        ("- name: API_TOKEN\n  value: yaml-token\n", f"- name: API_TOKEN\n  value: {MASK}\n"),
        (
            "starting with DB_PASSWORD=hunter2 LOG_LEVEL=info",
            f"starting with DB_PASSWORD={MASK} LOG_LEVEL=info",
        ),
        ("GET /export?access_token=abc123&page=2 200", f"GET /export?access_token={MASK}&page=2 200"),
        ('{"apiKey": "k-123", "user": "bob"}', f'{{"apiKey": "{MASK}", "user": "bob"}}'),
        ("redis-cli --pass=cli-pw -h cache", f"redis-cli --pass={MASK} -h cache"),
    ],
)
def test_a_credential_anywhere_in_text_is_masked_and_its_name_kept(text: str, shown: str) -> None:
    assert redact_text(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        "the bearer of bad news",  # "of" is no token
        "Basic information about the service",  # not base64 of user:password
        "cache miss key=user:42",  # key alone is the lookup key
        "auth_method: scram-sha-256",
        "GET http://api.internal:8080/orders 200",
        "12:30:05 token refresh scheduled",
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----",  # public
    ],
)
def test_text_that_only_looks_like_a_credential_stays(text: str) -> None:
    assert redact_text(text) == text


def test_the_lines_of_a_private_key_printed_one_per_log_line_are_masked() -> None:
    logs = [
        "[pod/api-1/api] loading key",
        "[pod/api-1/api] -----BEGIN EC PRIVATE KEY-----",
        "[pod/api-1/api] MHcCAQEEIBkeyMaterialLine1",
        "[pod/api-1/api] AwEHoUQDQgAEkeyMaterialLine2==",
        "[pod/api-1/api] -----END EC PRIVATE KEY-----",
        "[pod/api-1/api] listening on :8080",
    ]
    reading = Reading.text(
        "kubernetes", "kubectl logs -l app=api", logs, read_at=datetime(2026, 12, 1, tzinfo=UTC)
    )
    shown = redact_reading(reading).lines
    assert shown == (
        logs[0],
        logs[1],
        f"[pod/api-1/api] {MASK}",
        f"[pod/api-1/api] {MASK}",
        logs[4],
        logs[5],
    )


# --- readings: columns and name/value rows -----------------------------------------------------------------

AT = datetime(2026, 12, 1, tzinfo=UTC)


def test_a_column_named_like_a_secret_is_masked_whole_and_other_columns_kept() -> None:
    reading = Reading.table(
        "postgresql",
        "SELECT rolname, rolpassword FROM pg_authid",
        ("rolname", "rolpassword"),
        [("app", "SCRAM-SHA-256$4096:salt$stored:server"), ("nologin", None)],
        read_at=AT,
    )
    assert redact_reading(reading).rows == (("app", MASK), ("nologin", ""))


def test_in_a_name_value_table_the_value_of_a_secret_looking_name_is_masked() -> None:
    fields = [("password", "hash-field-pw"), ("api_token", "tok-1"), ("keyspace_hits", "42"), ("user", "bob")]
    reading = Reading.table("redis", "HGETALL app:config", ("field", "value"), fields, read_at=AT)
    assert redact_reading(reading).rows == (
        ("password", MASK),
        ("api_token", MASK),
        ("keyspace_hits", "42"),
        ("user", "bob"),
    )
    settings = Reading.table(
        "postgresql",
        "SELECT key, value FROM app_settings",
        ("key", "value"),
        [("stripe_key", "sk_1")],
        read_at=AT,
    )
    assert redact_reading(settings).rows == (("stripe_key", MASK),)


def test_a_prometheus_sample_is_a_number_never_masked_by_a_label_named_name() -> None:
    reading = Reading.table("prometheus", "up", ("name", "value"), [("auth-proxy", "1")], read_at=AT)
    assert redact_reading(reading).rows == (("auth-proxy", "1"),)


def test_a_readings_title_and_problem_are_redacted_too() -> None:
    reading = Reading.failed(
        "postgresql", "psql postgresql://app:title-pw@db/app", "password=problem-pw rejected"
    )
    shown = redact_reading(reading)
    assert (shown.what, shown.problem) == (
        f"psql postgresql://app:{MASK}@db/app",
        f"password={MASK} rejected",
    )


# --- Kubernetes objects, before kubectl's printers and jsonpath see them -----------------------------------

ENV = [
    {"name": "DB_PASSWORD", "value": "obj-db-pw"},
    {"name": "DATABASE_URL", "value": "postgresql://app:obj-url-pw@db/app"},
    {"name": "API_TOKEN", "value": "obj-api-token"},
    {"name": "LOG_LEVEL", "value": "info"},
    {"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "redis-auth", "key": "password"}}},
    {"name": "EMPTY_SECRET", "value": ""},
]
OBJ_SECRETS = ("obj-db-pw", "obj-url-pw", "obj-api-token", "obj-label-token", "obj-annotation-key")


def _secret_pod() -> dict[str, Any]:
    pod = fixtures.pod(
        "api-1", namespace="production", labels={"app": "api", "deploy-token": "obj-label-token"}
    )
    pod["spec"]["containers"][0]["env"] = ENV
    applied = {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "api", "env": ENV}]}}
    pod["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied) + "\n",
        "vendor.io/api-key": "obj-annotation-key",
        "team": "payments",
    }
    return pod


def test_a_pods_env_labels_and_annotations_keep_their_names_and_lose_their_secret_values() -> None:
    pod = _secret_pod()
    shown = redact_object(pod)
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in shown["spec"]["containers"][0]["env"]}
    assert env == {
        "DB_PASSWORD": MASK,
        "DATABASE_URL": f"postgresql://app:{MASK}@db/app",
        "API_TOKEN": MASK,
        "LOG_LEVEL": "info",
        "REDIS_PASSWORD": {
            "secretKeyRef": {"name": "redis-auth", "key": "password"}
        },  # it only names a Secret
        "EMPTY_SECRET": "",  # nothing to hide: an empty value is worth seeing
    }
    assert shown["metadata"]["labels"] == {"app": "api", "deploy-token": MASK}
    annotations = shown["metadata"]["annotations"]
    assert (annotations["vendor.io/api-key"], annotations["team"]) == (MASK, "payments")
    applied = json.loads(annotations["kubectl.kubernetes.io/last-applied-configuration"])
    assert applied["spec"]["containers"][0]["env"][0] == {"name": "DB_PASSWORD", "value": MASK}
    assert annotations["kubectl.kubernetes.io/last-applied-configuration"].endswith("}\n")
    assert pod["spec"]["containers"][0]["env"][0]["value"] == "obj-db-pw"  # the object given is not changed


def test_kubectl_jsonpath_of_the_env_prints_the_names_and_no_value() -> None:
    body = {"apiVersion": "v1", "kind": "PodList", "items": [_secret_pod()]}
    for template in ("{.items[*].spec.containers[*].env}", "{.items[*].metadata}", "{..value}"):
        reading = jsonpath_reading_from("get pods -o jsonpath", template, lambda: body, lambda: AT)
        text = "\n".join(reading.lines)
        assert reading.ok and not [s for s in OBJ_SECRETS if s in text], text
    env = jsonpath_reading_from("env", "{.items[*].spec.containers[*].env}", lambda: body, lambda: AT)
    assert '"name":"DB_PASSWORD"' in env.lines[0] and f'"value":"{MASK}"' in env.lines[0]


def test_kubectl_describe_shows_no_secret_label_value() -> None:
    reading = describe_reading_from(
        "describe", "production", "app=api", [_secret_pod()], lambda pod: [], lambda: AT
    )
    text = "\n".join(reading.lines)
    assert f"deploy-token={MASK}" in text and not [s for s in OBJ_SECRETS if s in text]


# --- alerts: labels and annotations as parsed ---------------------------------------------------------------


def _alert(**labels: str) -> dict[str, Any]:
    return {
        "labels": {"alertname": "WebhookFailing", "severity": "page", **labels},
        "annotations": {
            "summary": "calls to http://hook:alert-url-pw@hooks.internal fail",
            "api_key": "ak-1",
        },
        "state": "firing",
        "activeAt": "2026-12-01T10:00:00Z",
        "value": "1",
    }


def test_an_alerts_secret_label_and_annotation_values_are_masked_and_alerts_stay_apart() -> None:
    body = json.dumps({"status": "success", "data": {"alerts": [_alert(token="t-1"), _alert(token="t-2")]}})
    alerts, skipped, _ = AlertReader().read(body.encode(), None)
    assert skipped == 0 and len(alerts) == 2
    assert all(alert.label("token") == MASK for alert in alerts)
    assert len({alert.fingerprint for alert in alerts}) == 2  # told apart by the labels as sent
    (alert, _) = alerts
    assert alert.annotation("api_key") == MASK
    assert alert.annotation("summary") == f"calls to http://hook:{MASK}@hooks.internal fail"


def test_alertmanager_masks_the_same_labels_so_its_alerts_still_match_prometheuss() -> None:
    raw = {
        "fingerprint": "f1",
        "labels": {"alertname": "WebhookFailing", "token": "t-1"},
        "status": {"state": "active"},
    }
    alert = parse_am_alert(raw)
    assert alert is not None and dict(alert.labels)["token"] == MASK
    matcher = parse_matcher({"name": "token", "value": "t-1", "isRegex": False})
    assert matcher is not None and str(matcher) == f"token={MASK}"
    assert str(parse_matcher({"name": "alertname", "value": "WebhookFailing"})) == "alertname=WebhookFailing"


# --- the one step: every reading that comes back from a source ----------------------------------------------


class SecretRedis:
    """A Redis source answering every read with fields a hash of app settings would hold."""

    configured = True

    async def read(self, command, *, limit=None, pattern=None) -> Reading:
        fields = [("password", "gather-pw"), ("url", "redis://:gather-url-pw@cache:6379/0"), ("uptime", "7")]
        return Reading.table("redis", " ".join(command), ("field", "value"), fields, read_at=AT)


async def test_a_reading_from_any_source_comes_back_from_gather_redacted() -> None:
    read = classify("redis-cli INFO server")
    assert isinstance(read, LiveRead)
    reading = await gather(read, Sources(redis=SecretRedis()))
    assert reading.rows == (("password", MASK), ("url", f"redis://:{MASK}@cache:6379/0"), ("uptime", "7"))


# --- a team's own rules: [redact] in the config file -------------------------------------------------------


@pytest.fixture
def restore_rules() -> Iterator[None]:
    before = active()
    yield
    install(before)


def _config(tmp_path: Path, toml: str) -> Settings:
    path = tmp_path / "oncall.toml"
    path.write_text(toml)
    return load_settings(config_path=path, env={}, cwd=tmp_path, user_config_dir=tmp_path)


def test_the_configured_names_and_patterns_add_to_the_built_in_rules(
    tmp_path: Path, restore_rules: None
) -> None:
    settings = _config(
        tmp_path,
        '[redact]\nnames = ["pin", "session_id"]\n'
        'patterns = ["sk_live_[0-9a-zA-Z]+", "ssn (?P<secret>\\\\d{3}-\\\\d{2}-\\\\d{4})"]\n',
    )
    assert settings.redact == RedactSettings(
        names=("pin", "session_id"), patterns=("sk_live_[0-9a-zA-Z]+", "ssn (?P<secret>\\d{3}-\\d{2}-\\d{4})")
    )
    assert not secret_name("CARD_PIN") and redact_text("charged sk_live_abc123") == "charged sk_live_abc123"
    install(settings.redact)
    assert secret_name("CARD_PIN") and secret_name("cardPin") and secret_name("userSessionId")
    assert not secret_name("PINNED") and not secret_name("spin")  # whole words only
    assert redact_text("charged sk_live_abc123 for ssn 123-45-6789") == f"charged {MASK} for ssn {MASK}"
    assert (
        redact_text("CARD_PIN=1234 DB_PASSWORD=x") == f"CARD_PIN={MASK} DB_PASSWORD={MASK}"
    )  # both rule sets
    pod = redact_object({"env": [{"name": "CARD_PIN", "value": "1234"}]})
    assert pod == {"env": [{"name": "CARD_PIN", "value": MASK}]}


@pytest.mark.parametrize(
    ("toml", "key", "problem"),
    [
        (
            '[redact]\npatterns = ["ok", "[a-"]\n',
            "redact.patterns",
            "entry 2: '[a-' is not a valid regular expression: unterminated character set at position 0",
        ),
        (
            '[redact]\nnames = ["(pin"]\n',
            "redact.names",
            "entry 1: '(pin' is not a valid regular expression: missing ), unterminated subpattern",
        ),
        (
            '[redact]\npatterns = ["x*"]\n',
            "redact.patterns",
            "entry 1: 'x*' matches empty text: it must match the secret itself",
        ),
        ('[redact]\nnames = "pin"\n', "redact.names", "must be a list of regular expressions in quotes"),
        (
            '[profiles.prod.redact]\npattern = ["x"]\n',
            "profiles.prod.redact.pattern",
            "unknown key; did you mean",
        ),
    ],
)
def test_a_bad_redact_setting_is_a_config_error_naming_the_key(
    tmp_path: Path, toml: str, key: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _config(tmp_path, toml)
    assert caught.value.key == key and caught.value.problem.startswith(problem), caught.value


def test_a_bad_pattern_given_in_code_is_an_error_naming_it() -> None:
    with pytest.raises(RedactRuleError) as caught:
        Redactor(RedactSettings(patterns=("ok", "(")))
    assert (caught.value.setting, caught.value.index) == ("patterns", 1)


def test_a_redis_read_of_a_secret_looking_key_shows_no_value() -> None:
    token = Reading.text("redis", "redis-cli -h cache GET api_token", ["tok-from-get"], read_at=AT)
    assert redact_reading(token).lines == (MASK,)
    field = Reading.text("redis", "redis-cli HGET app:config db_password", ["hget-pw"], read_at=AT)
    assert redact_reading(field).lines == (MASK,)
    plain = Reading.text("redis", "redis-cli GET feature:checkout", ["on"], read_at=AT)
    assert redact_reading(plain).lines == ("on",)


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        ("redis-cli -h cache -a cli-secret --bigkeys", f"redis-cli -h cache -a {MASK} --bigkeys"),
        ("redis-cli --pass 'quoted pw' INFO", f"redis-cli --pass '{MASK}' INFO"),
        ("mongosh --password mongo-pw db", f"mongosh --password {MASK} db"),
        ("curl -u admin:curl-pw http://svc/health", f"curl -u admin:{MASK} http://svc/health"),
        ("ls -a /tmp", "ls -a /tmp"),  # -a is redis-cli's password only
    ],
)
def test_a_password_on_a_runbooks_command_line_is_masked(command: str, shown: str) -> None:
    assert redact_text(command) == shown


def test_an_event_message_quoting_a_credential_is_masked() -> None:
    from probes.kubernetes.resources import event_row

    event = event_row(
        {
            "metadata": {"namespace": "production", "name": "api.17f"},
            "involvedObject": {"kind": "Pod", "name": "inmidst-api-7d9f8b6c5-4xkzp"},
            "type": "Warning",
            "reason": "Unhealthy",
            "message": "Liveness probe failed: GET postgresql://app:hunter2@db/app: connection refused",
        }
    )
    assert event.message == f"Liveness probe failed: GET postgresql://app:{MASK}@db/app: connection refused"
