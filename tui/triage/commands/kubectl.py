"""kubectl commands: get, describe, top and logs as live reads; exec translated or refused; the rest
mutating or copy-only."""

from __future__ import annotations

import re
from dataclasses import replace

from tui.triage.commands.model import Classified, LiveRead, ReadName, ReadParams
from tui.triage.commands.options import (
    Options,
    Unsupported,
    flag_table,
    mutating,
    number,
    parse_options,
    unknown,
)
from tui.triage.commands.redis_cli import classify_redis_cli
from tui.triage.commands.servers import the_pods_own
from tui.triage.commands.shell import parse_shell
from tui.triage.commands.sql import classify_psql

_KUBECTL_FLAGS = flag_table(
    ("-n --namespace", "namespace", True),
    ("-l --selector", "selector", True),
    ("-o --output", "output", True),
    ("-c --container", "container", True),
    ("--tail", "tail", True),
    ("-p --previous", "previous", False),
    ("-f --follow", "follow", False),
    ("-w --watch", "watch", False),
    ("-i --stdin", "stdin", False),
    ("-t --tty", "tty", False),
    ("-q --quiet", "quiet", False),
    ("--no-headers", "no-headers", False),
    ("--show-labels", "show-labels", False),
    ("-A --all-namespaces", "all-namespaces", False),
    ("--field-selector", "field-selector", True),
    ("--sort-by", "sort-by", True),
    ("--since", "since", True),
    ("--since-time", "since-time", True),
    ("--timestamps", "timestamps", False),
    ("--all-containers", "all-containers", False),
    ("--context", "context", True),
    ("--kubeconfig", "kubeconfig", True),
    ("--cluster", "cluster", True),
    ("--user", "user", True),
    ("-s --server", "server", True),
    ("--as", "as", True),
    ("--request-timeout", "request-timeout", True),
    ("-v --v", "verbosity", True),
)

_KUBECTL_MUTATING = {
    "delete": "kubectl delete removes objects from the cluster",
    "scale": "kubectl scale changes the number of replicas",
    "edit": "kubectl edit changes a live object",
    "apply": "kubectl apply changes objects in the cluster",
    "patch": "kubectl patch changes a live object",
    "create": "kubectl create adds objects to the cluster",
    "replace": "kubectl replace overwrites a live object",
    "set": "kubectl set changes a live object (image, env, resources)",
    "label": "kubectl label changes an object's labels",
    "annotate": "kubectl annotate changes an object's annotations",
    "autoscale": "kubectl autoscale creates an autoscaler",
    "expose": "kubectl expose creates a service",
    "run": "kubectl run starts a new pod",
    "drain": "kubectl drain evicts every pod from the node",
    "cordon": "kubectl cordon stops new pods being scheduled on the node",
    "uncordon": "kubectl uncordon lets pods be scheduled on the node again",
    "taint": "kubectl taint changes which pods may run on the node",
    "debug": "kubectl debug starts a debugging container or pod",
    "attach": "kubectl attach connects to a running container's input",
    "cp": "kubectl cp copies files into or out of a container through exec",
    "certificate": "kubectl certificate approves or denies a certificate request",
}
_ROLLOUT_MUTATING = {
    "restart": "kubectl rollout restart restarts every pod of the workload",
    "undo": "kubectl rollout undo rolls the workload back to an earlier revision",
    "pause": "kubectl rollout pause stops the workload's rollout",
    "resume": "kubectl rollout resume restarts a paused rollout",
}
_KUBE_KINDS: dict[str, ReadName] = {
    **dict.fromkeys(("po", "pod", "pods"), "pods"),
    **dict.fromkeys(("ev", "event", "events"), "events"),
    **dict.fromkeys(("no", "node", "nodes"), "nodes"),
    **dict.fromkeys(("hpa", "hpas", "horizontalpodautoscaler", "horizontalpodautoscalers"), "hpas"),
    **dict.fromkeys(("pvc", "pvcs", "persistentvolumeclaim", "persistentvolumeclaims"), "pvcs"),
    **dict.fromkeys(("svc", "service", "services"), "services"),
    **dict.fromkeys(("netpol", "networkpolicy", "networkpolicies"), "network-policies"),
}
_POD_KINDS = frozenset({"po", "pod", "pods"})
_OUTPUTS = frozenset({"wide", "json", "yaml", "name"})
_INVOLVED = re.compile(r"involvedObject\.name=([^,=\s]+)(?:,involvedObject\.kind=(\w+))?")


def classify_kubectl(args: list[str], depth: int) -> Classified:
    opts = parse_options(args, _KUBECTL_FLAGS, "kubectl")
    if not opts.positionals:
        return unknown("kubectl without a command")
    verb, *positionals = opts.positionals
    if verb in _KUBECTL_MUTATING:
        return mutating(_KUBECTL_MUTATING[verb])
    if verb == "rollout":
        sub = positionals[0] if positionals else ""
        if sub in _ROLLOUT_MUTATING:
            return mutating(_ROLLOUT_MUTATING[sub])
        return unknown(f"`kubectl rollout {sub}` isn't one of oncall's live reads")
    if verb == "exec":
        return _kubectl_exec(opts, positionals)
    if verb == "logs":
        return _kubectl_logs(opts, positionals)
    if verb not in ("get", "describe", "top"):
        return unknown(f"`kubectl {verb}` isn't one of oncall's live reads")
    namespace = opts.one("namespace")
    selector = opts.one("selector")
    kind, name = _kind_and_name(positionals)
    what = f"`kubectl {verb}`"
    if not kind:
        raise Unsupported(f"kubectl {verb} names no kind of object")
    if verb == "get":
        read = _KUBE_KINDS.get(kind.lower())
        if read is None:
            raise Unsupported(
                f"oncall's Kubernetes probe doesn't read `{kind}`; it reads pods, events, nodes, HPAs, "
                "PVCs, services and network policies"
            )
        allowed = {"namespace", "selector", "output", "watch", "no-headers", "show-labels"}
        if read == "events":
            allowed |= {"sort-by", "field-selector"}  # oncall orders events itself: warnings, then newest
            name = name or _involved(opts.one("field-selector"))
        opts.require(frozenset(allowed), what)
        output, jsonpath = _output(opts.one("output"))
        if jsonpath and name and read != "events":  # kubectl applies it to the one object, not to a list
            raise Unsupported("oncall reads -o jsonpath over a list; of one named object it is copy-only")
        params = ReadParams(
            namespace=None if read == "nodes" else namespace,  # nodes belong to no namespace
            selector=selector,
            name=name,
            output=output,
            jsonpath=jsonpath,
        )
        return LiveRead("kubernetes", read, params, "")
    if kind.lower() not in _POD_KINDS:
        raise Unsupported(f"oncall can `kubectl {verb}` pods only; `kubectl {verb} {kind}` is copy-only")
    opts.require(frozenset({"namespace", "selector", *(("no-headers",) if verb == "top" else ())}), what)
    if verb == "describe" and name:  # its read describes a few pods of a selector: maybe not this one
        raise Unsupported("oncall describes pods by -l selector; `kubectl describe pod NAME` is copy-only")
    read = "describe-pods" if verb == "describe" else "top-pods"
    return LiveRead("kubernetes", read, ReadParams(namespace=namespace, selector=selector, name=name), "")


def _kind_and_name(positionals: list[str]) -> tuple[str, str | None]:
    """`pods`, `pods x`, `pod/x` → (kind, name); more than one object is refused."""
    if not positionals:
        return "", None
    kind, slash, name = positionals[0].partition("/")
    if "," in kind:
        raise Unsupported("several kinds at once; oncall reads one kind per command")
    names = [name] if slash else positionals[1:]
    if len(names) > 1 or (slash and len(positionals) > 1):
        raise Unsupported("several objects at once; oncall reads one per command")
    return kind, names[0] if names else None


def _involved(field_selector: str | None) -> str | None:
    if field_selector is None:
        return None
    match = _INVOLVED.fullmatch(field_selector)
    if match is None:
        raise Unsupported(f"oncall narrows events by involvedObject.name only, not `{field_selector}`")
    kind, name = match.group(2), match.group(1)
    return f"{kind}/{name}" if kind else name


def _output(value: str | None) -> tuple[str | None, str | None]:
    """`-o` as (output, jsonpath template)."""
    if value is None:
        return None, None
    kind, equals, template = value.partition("=")
    if kind == "jsonpath" and equals and template:
        return None, template
    if value in _OUTPUTS:
        return value, None
    raise Unsupported(
        f"`-o {value}` isn't an output oncall shows (it shows wide, json, yaml, name, jsonpath)"
    )


def _kubectl_logs(opts: Options, positionals: list[str]) -> LiveRead:
    allowed = {"namespace", "selector", "tail", "container", "previous", "follow"}
    opts.require(frozenset(allowed), "`kubectl logs`")  # follow: a live read follows anyway
    if len(positionals) > 2:
        raise Unsupported("kubectl logs of several objects")
    name = positionals[0] if positionals else None
    container = opts.one("container") or (positionals[1] if len(positionals) == 2 else None)
    selector = opts.one("selector")
    if name is None and selector is None:
        raise Unsupported("kubectl logs names no pod and no -l selector")
    if (
        selector is None
    ):  # its read takes a few pods of a selector (those that restarted most): maybe not this one
        raise Unsupported("oncall reads logs by -l selector; `kubectl logs POD` is copy-only")
    tail = opts.one("tail")
    params = ReadParams(
        namespace=opts.one("namespace"),
        selector=selector,
        name=name.removeprefix("pod/") if name else None,
        container=container,
        tail=None if tail is None or tail == "-1" else number(tail, "--tail"),
        previous=opts.one("previous") not in (None, "false"),
    )
    return LiveRead("kubernetes", "logs", params, "")


def _kubectl_exec(opts: Options, positionals: list[str]) -> Classified:
    target = positionals[0] if positionals else "a pod"
    inner = opts.after_dashes if opts.after_dashes is not None else positionals[1:]
    program = inner[0].rsplit("/", 1)[-1] if inner else ""
    translated = _exec_read_through_prometheus(program, inner[1:], opts, target)
    if translated is not None:
        return translated
    if program not in ("psql", "redis-cli"):
        what = f"`{program}`" if program else "a command"
        return mutating(f"kubectl exec runs {what} inside {target}; oncall never execs into pods")
    result = classify_psql(inner[1:], 0) if program == "psql" else classify_redis_cli(inner[1:], 0)
    if not isinstance(result, LiveRead):
        return result
    if result.server is not None and the_pods_own(result.server, target, result.source):
        result = replace(result, server=None)  # localhost in the pod: the pod's own server, as with no -h
    opts.require(frozenset({"namespace", "container", "stdin", "tty", "quiet"}), "`kubectl exec`")
    database = "PostgreSQL" if result.source == "postgresql" else "Redis"
    note = f"runs through oncall's own {database} connection instead of `kubectl exec` into {target}"
    return replace(result, translated=True, note=note)


def _exec_read_through_prometheus(
    program: str, args: list[str], opts: Options, target: str
) -> LiveRead | None:
    """`exec … df -h PATH` and `exec … wget/curl …/metrics` ask what Prometheus already knows: the volume's
    usage from the kubelet's volume metrics, and how the scrape of that endpoint went. None otherwise."""
    namespace = opts.one("namespace")
    if program == "df" and all(a.startswith("-") or a.startswith("/") for a in args):
        path = next((a for a in args if a.startswith("/")), None)
        return LiveRead(
            source="prometheus",
            read="volume-usage",
            params=ReadParams(namespace=namespace, name=target, pattern=path),
            command="",
            translated=True,
            note=f"reads the volumes of {target} from the kubelet's volume metrics in Prometheus "
            "(kubelet_volume_stats_*) instead of running df inside the pod",
        )
    urls = [a for a in args if "://" in a]
    if program in ("wget", "curl") and len(urls) == 1 and urls[0].rstrip("/").endswith("/metrics"):
        return LiveRead(
            source="prometheus",
            read="target-health",
            params=ReadParams(namespace=namespace, name=target, pattern=urls[0]),
            command="",
            translated=True,
            note=f"asks Prometheus how its last scrape of {target}'s metrics went (/api/v1/targets) "
            "instead of fetching them from inside the pod",
        )
    return None


def label_selectors(command: str) -> list[str]:
    """The `-l` / `--selector` values of each kubectl in a command (`watch kubectl …` too), as written;
    [] for text the shell can't split."""
    try:
        pipelines, _ = parse_shell(command)
    except Unsupported:
        return []
    found: list[str] = []
    for stage in (stage for stages in pipelines for stage in stages):
        programs = [word.rsplit("/", 1)[-1] for word in stage.words]
        if "kubectl" in programs:
            words = stage.words[programs.index("kubectl") + 1 :]
            found += parse_options(words, _KUBECTL_FLAGS, "kubectl").values.get("selector", [])
    return found
