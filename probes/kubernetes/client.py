"""The read-only Kubernetes API client: how oncall finds a cluster and what it may send it.

`build_client` reads a kubeconfig (or the pod's service account) into a `ReadOnlyApiClient`, whose every
request passes `check_read_only` twice, at the API layer and at the transport, so only GETs of ordinary
objects leave, and the two self-reviews `oncall check` asks (POSTs that create nothing). `ApiConnection` is
one cluster's client, or why there is none, with requests answered as raw JSON; `explain` turns any failure
into a health state and plain words, never a token or a traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.incluster_config import InClusterConfigLoader

from probes.base import HealthState

if TYPE_CHECKING:
    from probes.kubernetes.settings import KubernetesSettings

SOURCE = "kubernetes"
USER_AGENT = "oncall/0.1 (read-only)"
DEFAULT_KUBECONFIG = "~/.kube/config"
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")  # token, ca.crt, namespace
# Subresources that would act on a container or a node rather than read an object.
FORBIDDEN_SUBRESOURCES = frozenset({"exec", "attach", "portforward", "proxy"})
# Resource names this probe reads: a segment after one of these is an object's name, which may be
# "proxy" without being the proxy subresource.
_COLLECTIONS = frozenset(
    {
        "namespaces",
        "pods",
        "events",
        "nodes",
        "services",
        "secrets",
        "persistentvolumeclaims",
        "networkpolicies",
        "horizontalpodautoscalers",
    }
)


# --- the read-only client ---------------------------------------------------------------------


# The only POSTs oncall sends, and only from `oncall check`: the API server's questions "may I?" about the
# caller itself. A review is answered and never stored (no object is created), so it changes nothing.
SELF_REVIEWS = {
    "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews": "SelfSubjectAccessReview",
    "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews": "SelfSubjectRulesReview",
}


class ReadOnlyViolation(PermissionError):
    """A request this probe must never send (a write, exec, attach, port-forward or proxy)."""


def _body_kind(body: Any) -> str | None:
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    return body.get("kind") if isinstance(body, dict) else None


def check_read_only(method: str, url: str, body: Any = None, *, prefix: str = "") -> None:
    """Raise ReadOnlyViolation unless this is a GET of an ordinary object or collection, or the POST of a
    self-review (SELF_REVIEWS) to its exact path with a body of its own kind. `prefix` is the path the
    server's URL has before /api (a proxy's), so only the reviews at that server's root are allowed."""
    path = urlsplit(url).path
    if method.upper() == "POST":
        kind = SELF_REVIEWS.get(path[len(prefix) :] if path.startswith(prefix + "/") else "")
        if kind is not None and _body_kind(body) == kind:
            return
    if method.upper() != "GET":
        raise ReadOnlyViolation(f"oncall is read-only: refused {method.upper()} {path}")
    segments = [s for s in path.split("/") if s]
    for index, segment in enumerate(segments):
        if segment in FORBIDDEN_SUBRESOURCES and (index == 0 or segments[index - 1] not in _COLLECTIONS):
            raise ReadOnlyViolation(f"oncall is read-only: refused the {segment} subresource")


class _ReadOnlyRESTClient(k8s.rest.RESTClientObject):
    """The transport: the last place a request passes before bytes are sent, so the guard sits here too."""

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        body = kwargs.get("body", args[1] if len(args) > 1 else None)  # (headers, body, ...)
        check_read_only(method, url, body, prefix=_server_prefix(self.configuration))
        return super().request(method, url, *args, **kwargs)


class ReadOnlyApiClient(k8s.ApiClient):
    """An ApiClient of its own (never the global default) that can only send GET reads."""

    def __init__(self, configuration: k8s.Configuration) -> None:
        super().__init__(configuration)
        self.rest_client = _ReadOnlyRESTClient(configuration)
        self.user_agent = USER_AGENT

    def call_api(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        body = kwargs.get("body", args[1] if len(args) > 1 else None)  # (header_params, body, ...)
        check_read_only(method, url, body, prefix=_server_prefix(self.configuration))
        return super().call_api(method, url, *args, **kwargs)


def _server_prefix(configuration: k8s.Configuration) -> str:
    return urlsplit(str(configuration.host or "")).path.rstrip("/")


@dataclass(frozen=True)
class ClusterTarget:
    """Where the probe reads from, for headers and messages; never holds a credential."""

    server: str  # https://host:port
    context: str  # "" in cluster
    namespace: str
    kubeconfig: str  # the file(s) read, "" in cluster


class KubeConfigProblem(Exception):
    """The client can't be configured; `state` is "not-configured" or "down"."""

    def __init__(self, message: str, state: HealthState = "down") -> None:
        super().__init__(message)
        self.state = state


def build_client(
    settings: KubernetesSettings, env: Mapping[str, str] = os.environ
) -> tuple[ReadOnlyApiClient, ClusterTarget]:
    """A read-only client from in-cluster config or a kubeconfig (settings, then KUBECONFIG, then ~)."""
    configuration = type.__call__(k8s.Configuration)  # a fresh one, not a copy of the global default
    if settings.in_cluster:
        account = SERVICE_ACCOUNT_DIR
        try:
            # the loader re-reads the token file as it rotates (bound service account tokens expire)
            InClusterConfigLoader(
                token_filename=str(account / "token"), cert_filename=str(account / "ca.crt"), environ=env
            ).load_and_set(configuration)
        except ConfigException as exc:
            raise KubeConfigProblem(f"in-cluster config unavailable: {exc}", "not-configured") from None
        namespace = settings.namespace or _read_text(account / "namespace") or "default"
        target = ClusterTarget(configuration.host, "", namespace, "")
    else:
        target = _load_kubeconfig(settings, env, configuration)
    configuration.retries = False  # a failure is reported at once, in plain words, not after 3 retries
    return ReadOnlyApiClient(configuration), target


def _load_kubeconfig(
    settings: KubernetesSettings, env: Mapping[str, str], configuration: k8s.Configuration
) -> ClusterTarget:
    existing, shown = _kubeconfig_files(settings, env)
    if not existing:
        raise KubeConfigProblem(
            f"no kubeconfig at {shown}; set KUBECONFIG or [kubernetes] kubeconfig", "not-configured"
        )
    joined = os.pathsep.join(existing)
    try:
        contexts, current = k8s_config.list_kube_config_contexts(config_file=joined)
    except ConfigException as exc:
        raise KubeConfigProblem(f"kubeconfig {shown} is not usable: {exc}") from None
    except Exception as exc:  # a YAML error: the file is broken, say which
        raise KubeConfigProblem(f"kubeconfig {shown} is not valid YAML: {type(exc).__name__}") from None
    names = [c.get("name") for c in contexts or []]
    wanted = settings.context or (current or {}).get("name")
    if not wanted:
        raise KubeConfigProblem(f"kubeconfig {shown} has no current-context; set [kubernetes] context")
    if wanted not in names:
        known = ", ".join(str(n) for n in names) or "none"
        raise KubeConfigProblem(f"context {wanted!r} not found in kubeconfig {shown} (contexts: {known})")
    chosen = next(c for c in contexts if c.get("name") == wanted)
    try:
        k8s_config.load_kube_config(
            config_file=joined, context=wanted, client_configuration=configuration, persist_config=False
        )
    except ConfigException as exc:
        raise KubeConfigProblem(f"context {wanted!r} in kubeconfig {shown} is not usable: {exc}") from None
    except Exception as exc:  # exec plugins, missing cert files: say which context without a traceback
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise KubeConfigProblem(f"context {wanted!r} in kubeconfig {shown} is not usable: {reason}") from None
    namespace = settings.namespace or (chosen.get("context") or {}).get("namespace") or "default"
    return ClusterTarget(configuration.host, wanted, namespace, shown)


def _kubeconfig_files(settings: KubernetesSettings, env: Mapping[str, str]) -> tuple[list[str], str]:
    """The kubeconfig files that exist (settings, then KUBECONFIG, then ~), and all of them as shown."""
    if settings.kubeconfig is not None:
        spec = str(settings.kubeconfig)
    else:
        spec = env.get("KUBECONFIG", "").strip() or DEFAULT_KUBECONFIG
    paths = [str(Path(p).expanduser()) for p in spec.split(os.pathsep) if p]
    return [p for p in paths if Path(p).is_file()], os.pathsep.join(paths)


def kubeconfig_contexts(settings: KubernetesSettings, env: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    """The context names of the kubeconfig the settings read; none when it is missing or unusable."""
    existing, _ = _kubeconfig_files(settings, env)
    if not existing:
        return ()
    try:
        contexts, _ = k8s_config.list_kube_config_contexts(config_file=os.pathsep.join(existing))
    except Exception:  # a broken file: its health says why; there is simply nothing to switch to
        return ()
    return tuple(str(c.get("name")) for c in contexts or [] if c.get("name"))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


# --- errors in plain words --------------------------------------------------------------------


class ReadError(Exception):
    """A read that failed, in plain words, with the health state it leaves and the HTTP status (0: none)."""

    def __init__(self, message: str, state: HealthState = "down", status: int = 0) -> None:
        super().__init__(message)
        self.state = state
        self.status = status


def server_message(exc: ApiException) -> str:
    """The `message` of the Status body the API server sent, or its reason phrase."""
    body = exc.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body:
        with contextlib.suppress(ValueError):
            document = json.loads(body)
            if isinstance(document, dict) and isinstance(document.get("message"), str):
                return document["message"][:500]
        if not body.lstrip().startswith(("{", "<")):
            return body.strip()[:300]
    return str(exc.reason or "").strip()


def _root_cause(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        nxt = exc.__cause__ or exc.__context__ or getattr(exc, "reason", None)
        if not isinstance(nxt, BaseException):
            break
        exc = nxt
    return exc


def explain(exc: BaseException, target: ClusterTarget | None, timeout: float) -> ReadError:
    """Any failure of a request as a health state and plain words; never a token, never a traceback."""
    where = target.server if target else "the API server"
    if isinstance(exc, ReadError):
        return exc
    if isinstance(exc, ReadOnlyViolation):
        return ReadError(str(exc))
    if isinstance(exc, ApiException) and exc.status:
        status = int(exc.status)
        message = server_message(exc)
        if status == 401:
            context = f"kubeconfig context {target.context}" if target and target.context else "config"
            return ReadError(f"401 Unauthorized: check the token in {context}", "forbidden", status)
        if status == 403:
            return ReadError(f"forbidden: {message}", "forbidden", status)
        if status == 404:
            return ReadError(f"not found: {message}", "down", status)
        if status == 410:
            return ReadError(f"expired: {message}", "down", status)
        reason = f" {exc.reason}" if exc.reason else ""
        return ReadError(f"HTTP {status}{reason} from {where}: {message}".rstrip(": "), "down", status)
    cause = _root_cause(exc)
    # the cause first: urllib3's NewConnectionError is a ConnectTimeoutError even when refused at once
    if isinstance(cause, ConnectionRefusedError):
        return ReadError(f"connection refused at {where}")
    if isinstance(cause, socket.gaierror) or isinstance(exc, urllib3.exceptions.NameResolutionError):
        host = urlsplit(where).hostname or where
        return ReadError(f"cannot resolve host {host!r}")
    if isinstance(cause, ssl.SSLCertVerificationError):
        return ReadError(f"TLS certificate not trusted at {where}: {cause.verify_message}")
    if isinstance(cause, ssl.SSLError) or isinstance(exc, urllib3.exceptions.SSLError):
        return ReadError(f"TLS handshake failed at {where}")
    if isinstance(exc, urllib3.exceptions.TimeoutError) or isinstance(cause, TimeoutError):
        return ReadError(f"timed out after {timeout:g}s waiting for {where}")
    if isinstance(exc, urllib3.exceptions.ProtocolError | ConnectionError | OSError):
        return ReadError(f"connection to {where} lost: {type(cause).__name__}")
    if isinstance(exc, urllib3.exceptions.HTTPError):
        return ReadError(f"request to {where} failed: {type(cause).__name__}")
    return ReadError(f"internal error while reading Kubernetes: {type(exc).__name__}")


# --- answers as JSON, and the server's refusals in plain words ------------------------------------


def _content_type(response: Any) -> str:
    headers = getattr(response, "headers", None) or {}
    return str(headers.get("Content-Type") or "").split(";")[0].strip().lower()


def expect_json(response: Any, what: str) -> None:
    """A 200 that is not JSON (a login page, a proxy's error page) is a failure, said as such."""
    kind = _content_type(response)
    if kind and "json" not in kind:
        raise ReadError(f"the API server answered {what} with {kind}, not JSON")


def json_body(response: Any, what: str) -> Any:
    """The response's JSON document; anything else is a failure in plain words."""
    expect_json(response, what)
    try:
        return json.loads(response.data)
    except ValueError:
        raise ReadError(f"the API server answered {what} with something that is not JSON") from None


def api_path(*segments: str) -> str:
    """An API path from its segments, each one quoted: a namespace or name can't step out of its place."""
    return "/" + "/".join(quote(segment, safe="") for segment in segments)


def raw_get(api: ReadOnlyApiClient, path: str, query: Mapping[str, Any], timeout: tuple[float, float]) -> Any:
    """GET an API path with its query (None values left out), the body left unread (a urllib3 response);
    a non-2xx answer raises ApiException as the generated methods do.

    The generated API classes are not used for the reads the dashboard repeats: CoreV1Api alone costs
    ~20 MiB and ~0.5 s to import (pydantic validators for some 400 methods) to build the same GET."""
    params = [(key, value) for key, value in query.items() if value is not None]
    request = api.param_serialize(
        "GET",
        path,
        query_params=params,
        header_params={"Accept": "application/json"},
        auth_settings=["BearerToken"],
    )
    response = api.call_api(*request, _request_timeout=timeout)
    if not 200 <= response.status <= 299:
        response.read()
        raise ApiException.from_response(http_resp=response, body=None, data=None)
    return response.response


_CHOOSE = re.compile(r"choose one of: \[([^\]]*)\]")


def log_problem(message: str, pod: str, previous: bool) -> tuple[str, tuple[str, ...]]:
    """The server's 400 for logs in plain words, with the containers to choose from when it lists them."""
    match = _CHOOSE.search(message)
    if match:
        containers = tuple(match.group(1).split())
        return f"pod {pod} has several containers; choose one of: {', '.join(containers)}", containers
    if previous and "previous terminated container" in message:
        return f"no previous container: {message}", ()
    return f"cannot read logs: {message}", ()


# --- one cluster's connection -----------------------------------------------------------------


class ApiConnection:
    """One cluster's read-only client, or the config problem that left it without one.

    Building it sends no request. Every request asks for raw JSON (dicts parse far faster than the
    client's models) within the settings' timeout; `explain` says why one failed, naming this cluster.
    """

    def __init__(self, settings: KubernetesSettings, env: Mapping[str, str] = os.environ) -> None:
        self.timeout = settings.timeout
        self.api: ReadOnlyApiClient | None = None
        self.target: ClusterTarget | None = None
        self.problem: KubeConfigProblem | None = None
        try:
            self.api, self.target = build_client(settings, env)
        except KubeConfigProblem as problem:
            self.problem = problem

    def close(self) -> None:
        if self.api is not None:
            with contextlib.suppress(Exception):
                self.api.close()
            self.api = None

    def client(self) -> ReadOnlyApiClient:
        if self.api is None:
            problem = self.problem or KubeConfigProblem("not connected")
            raise ReadError(str(problem), problem.state)
        return self.api

    def request_timeout(self) -> tuple[float, float]:
        return (self.timeout, self.timeout)

    def explain(self, exc: BaseException) -> ReadError:
        return explain(exc, self.target, self.timeout)

    def json(self, method: Callable[..., Any], what: str, *args: Any, **kwargs: Any) -> Any:
        """Call a generated API method for its raw JSON; keyword arguments that are None are left out."""
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        response = method(*args, _preload_content=False, _request_timeout=self.request_timeout(), **kwargs)
        return json_body(response, what)

    def get_json(self, path: str, what: str, **query: Any) -> Any:
        """GET an API path (see `api_path`) as JSON; query keys as the API spells them (labelSelector)."""
        response = raw_get(self.client(), path, query, self.request_timeout())
        try:
            return json_body(response, what)
        finally:
            with contextlib.suppress(Exception):
                response.release_conn()

    def review(self, kind: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        """POST one self-review (a kind of SELF_REVIEWS) and return its status: what the API server says
        this caller may do. Nothing is created; only `oncall check` asks."""
        path = next(p for p, k in SELF_REVIEWS.items() if k == kind)
        api = self.client()
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": kind, "spec": dict(spec)}
        request = api.param_serialize(
            "POST",
            path,
            body=body,
            header_params={"Accept": "application/json", "Content-Type": "application/json"},
            auth_settings=["BearerToken"],
        )
        response = api.call_api(*request, _request_timeout=self.request_timeout())
        response.read()
        if not 200 <= response.status <= 299:
            raise ApiException.from_response(http_resp=response, body=None, data=None)
        document = json_body(response, kind)
        status = document.get("status") if isinstance(document, dict) else None
        if not isinstance(status, dict):
            raise ReadError(f"the API server answered {kind} without a status")
        return status

    def get_path(self, path: str) -> Any:
        """GET a fixed path as JSON; the generated VersionApi asks for "/version/", which proxies may 404."""
        api = self.client()
        request = api.param_serialize(
            "GET", path, header_params={"Accept": "application/json"}, auth_settings=["BearerToken"]
        )
        response = api.call_api(*request, _request_timeout=self.request_timeout())
        response.read()
        if not 200 <= response.status <= 299:
            raise ApiException.from_response(http_resp=response, body=None, data=None)
        return json_body(response, path)
