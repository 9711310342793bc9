"""helm commands: `helm history` as a live read, the release-changing ones mutating."""

from __future__ import annotations

from functools import lru_cache

from tui.triage.commands.model import Classified, LiveRead, ReadParams
from tui.triage.commands.options import Unsupported, flag_table, mutating, number, parse_options, unknown
from tui.triage.commands.shell import parse_shell

_HELM_FLAGS = flag_table(
    ("-n --namespace", "namespace", True),
    ("--max", "max", True),
    ("-o --output", "output", True),
    ("--kube-context", "context", True),
    ("--kubeconfig", "kubeconfig", True),
    ("--debug", "debug", False),
)
_HELM_MUTATING = {
    "rollback": "helm rollback changes the release",
    "upgrade": "helm upgrade changes the release",
    "install": "helm install adds a release to the cluster",
    **dict.fromkeys(
        ("uninstall", "delete", "del", "un"), "helm uninstall removes the release and everything it installed"
    ),
    "test": "helm test runs the release's test pods",
}


def classify_helm(args: list[str], depth: int) -> Classified:
    opts = parse_options(args, _HELM_FLAGS, "helm")
    if not opts.positionals:
        return unknown("helm without a command")
    verb, *positionals = opts.positionals
    if verb in _HELM_MUTATING:
        return mutating(_HELM_MUTATING[verb])
    if verb != "history":
        return unknown(f"`helm {verb}` isn't one of oncall's live reads")
    opts.require(frozenset({"namespace", "max", "output", "debug"}), "`helm history`")
    if len(positionals) != 1:
        raise Unsupported("helm history needs exactly one release")
    most = opts.one("max")
    params = ReadParams(
        namespace=opts.one("namespace"),
        release=positionals[0],
        count=None if most is None else number(most, "--max"),
    )
    return LiveRead("kubernetes", "helm-history", params, "")


@lru_cache(maxsize=1024)  # asked of every runbook command at each checklist open: parsed once each
def named_release(command: str) -> tuple[str, str | None] | None:
    """(release, namespace) of a `helm history|rollback|status RELEASE [-n NS]`; None for anything else."""
    try:
        pipelines, _ = parse_shell(command)
    except Unsupported:
        return None
    words = pipelines[0][0].words if pipelines else []
    if not words or words[0] != "helm":
        return None
    opts = parse_options(words[1:], _HELM_FLAGS, "helm")
    if len(opts.positionals) < 2 or opts.positionals[0] not in ("history", "rollback", "status"):
        return None
    return (opts.positionals[1], opts.one("namespace")) if opts.positionals[1] else None
