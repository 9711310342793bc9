"""`oncall serve`: the observer view, served to browsers (textual-serve); never the driver view.

Each browser gets its own `oncall --observe` process, started with the options `serve` was given: the
command is fixed here, and nothing a browser sends can change it. Bound to 127.0.0.1 unless `--host` says
otherwise, and then only with a token every request must present."""

from __future__ import annotations

import argparse
import socket
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from tui.cli.output import err
from tui.config.keys import FLAGS
from tui.config.settings import Settings
from tui.serve.access import is_loopback

MIN_TOKEN = 16  # characters: a token guessed by trying is no token
TOKEN_HINT = "e.g. python3 -c 'import secrets; print(secrets.token_urlsafe())'"


class ServeError(Exception):
    """A reason `oncall serve` won't start; the message says what to do."""


@dataclass(frozen=True)
class ServePlan:
    """What `oncall serve` serves: the observer command, where, and behind which token."""

    host: str
    port: int
    token: str | None
    token_shown: bool  # given on the command line (so it may be printed), not read from a file
    command: tuple[str, ...]  # the observer each browser gets: `python -m tui --observe ...`
    session: str  # "latest" or a session number


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    try:
        plan = serve_plan(args)
    except ServeError as error:
        err(str(error))
        return 2
    from tui.serve.server import serve  # here: the web server is loaded only when it serves

    return serve(
        plan.command,
        host=plan.host,
        port=plan.port,
        token=plan.token,
        announce=lambda port: announce(plan, port),
    )


def serve_plan(args: argparse.Namespace) -> ServePlan:
    """The plan the arguments give, or a ServeError saying why not."""
    session = str(args.session).strip()
    if session != "latest" and not session.isdigit():
        raise ServeError(
            f"--session takes a session number from `oncall sessions` or latest, not {session!r}"
        )
    if not 0 <= args.port <= 65535:
        raise ServeError(f"--port must be 0 to 65535, not {args.port}")
    token = read_token(args.token, args.token_file)
    if token is None and not is_loopback(args.host):
        raise ServeError(
            f"--host {args.host} lets other machines in: give --token TOKEN or --token-file FILE "
            f"({MIN_TOKEN} characters or more, {TOKEN_HINT}), or bind 127.0.0.1"
        )
    return ServePlan(
        host=args.host,
        port=args.port,
        token=token,
        token_shown=args.token is not None,
        command=observer_command(args, session),
        session=session,
    )


def read_token(given: str | None, path: Path | None) -> str | None:
    """The token from --token or --token-file (a file only its owner can read), or None for neither."""
    if given is not None and path is not None:
        raise ServeError("give --token or --token-file, not both")
    if path is not None:
        try:
            mode = path.stat().st_mode
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ServeError(f"--token-file {path}: no such file") from None
        except (OSError, UnicodeDecodeError) as error:
            raise ServeError(f"--token-file {path}: can't read it ({error})") from None
        if mode & (stat.S_IROTH | stat.S_IWOTH):
            raise ServeError(
                f"--token-file {path} can be read or written by every user of this machine: chmod 600 {path}"
            )
        lines = text.strip().splitlines()
        if not lines or not lines[0].strip():
            raise ServeError(f"--token-file {path} is empty: write the token on its first line")
        return _checked(lines[0].strip(), f"the token in {path}")
    if given is not None:
        return _checked(given.strip(), "--token")
    return None


def _checked(token: str, where: str) -> str:
    if len(token) < MIN_TOKEN:
        raise ServeError(f"{where} is too short: use {MIN_TOKEN} characters or more ({TOKEN_HINT})")
    if not token.isprintable() or any(c.isspace() for c in token):
        raise ServeError(f"{where} must be one word of printable characters")
    return token


def observer_command(args: argparse.Namespace, session: str) -> tuple[str, ...]:
    """`python -m tui [options] --observe [SESSION]`: the options `serve` got, paths made absolute (the
    observer must read the same config, store and runbook whatever its directory), never a driver."""
    command = [sys.executable, "-m", "tui"]
    if getattr(args, "demo", False):
        command.append("--demo")
    for name in ("config", "profile", *FLAGS):
        value = getattr(args, name, None)
        if value is None:
            continue
        if isinstance(value, Path) or (name == "store" and "://" not in str(value)):
            value = Path(value).expanduser().absolute()
        command += [f"--{name.replace('_', '-')}", str(value)]
    command += ["--observe"] if session == "latest" else ["--observe", session]
    return tuple(command)


def announce(plan: ServePlan, port: int) -> list[str]:
    """What `oncall serve` prints when it listens: the URL to open (the token only if it was typed)."""
    host = plan.host
    if host in ("0.0.0.0", "::", ""):
        host = socket.gethostname()
    elif ":" in host:
        host = f"[{host}]"
    url = f"http://{host}:{port}/"
    if plan.token is not None:
        url += f"?token={plan.token}" if plan.token_shown else "?token=<the token in your --token-file>"
    following = "the latest active session" if plan.session == "latest" else f"session #{plan.session}"
    lines = [
        f"oncall serve: the observer view ({following}, read-only) at {url}",
        "each browser gets its own read-only `oncall --observe`, with the options given here",
    ]
    if plan.token is None:
        lines.append("only this machine can connect (127.0.0.1); no token")
    lines.append("press Ctrl-C to stop")
    return lines
