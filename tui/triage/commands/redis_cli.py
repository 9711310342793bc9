"""redis-cli and bare Redis commands: what the probe's allowlist lets through is a live read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from urllib.parse import urlsplit

from tui.triage.commands.model import Classified, LiveRead, ReadParams, Server
from tui.triage.commands.options import (
    Options,
    Unsupported,
    flag_table,
    mutating,
    number,
    parse_options,
    word_set,
)
from tui.triage.commands.servers import server_named

_REDIS_WRITES = word_set(
    """SET SETNX SETEX PSETEX MSET MSETNX GETSET GETDEL GETEX APPEND INCR INCRBY INCRBYFLOAT DECR DECRBY
    SETRANGE SETBIT BITOP BITFIELD HSET HSETNX HMSET HDEL HINCRBY HINCRBYFLOAT LPUSH RPUSH LPUSHX RPUSHX
    LPOP RPOP LSET LREM LTRIM LINSERT LMOVE LMPOP RPOPLPUSH BLPOP BRPOP BLMOVE BLMPOP BRPOPLPUSH SADD SREM
    SPOP SMOVE SINTERSTORE SUNIONSTORE SDIFFSTORE ZADD ZREM ZINCRBY ZPOPMIN ZPOPMAX BZPOPMIN BZPOPMAX ZMPOP
    BZMPOP ZREMRANGEBYSCORE ZREMRANGEBYRANK ZREMRANGEBYLEX ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZRANGESTORE
    XADD XDEL XTRIM XACK XGROUP XCLAIM XAUTOCLAIM XSETID PFADD PFMERGE GEOADD GEORADIUS GEORADIUSBYMEMBER
    GEOSEARCHSTORE SORT COPY RESTORE RESTORE-ASKING"""
)
_REDIS_MUTATING = {
    "FLUSHALL": "FLUSHALL deletes every key in every database",
    "FLUSHDB": "FLUSHDB deletes every key in the database",
    "DEL": "DEL deletes keys",
    "UNLINK": "UNLINK deletes keys",
    "EXPIRE": "EXPIRE changes when a key is deleted",
    "PEXPIRE": "PEXPIRE changes when a key is deleted",
    "EXPIREAT": "EXPIREAT changes when a key is deleted",
    "PEXPIREAT": "PEXPIREAT changes when a key is deleted",
    "PERSIST": "PERSIST removes a key's expiry",
    "RENAME": "RENAME renames a key",
    "RENAMENX": "RENAMENX renames a key",
    "MOVE": "MOVE moves a key to another database",
    "SWAPDB": "SWAPDB swaps two databases",
    "MIGRATE": "MIGRATE moves keys to another server",
    "SHUTDOWN": "SHUTDOWN stops the Redis server",
    "DEBUG": "DEBUG can crash, stall or change the server",
    "SAVE": "SAVE blocks the server while it writes a snapshot",
    "BGSAVE": "BGSAVE forks the server to write a snapshot",
    "BGREWRITEAOF": "BGREWRITEAOF forks the server to rewrite the append-only file",
    "REPLICAOF": "REPLICAOF changes what the server replicates",
    "SLAVEOF": "SLAVEOF changes what the server replicates",
    "FAILOVER": "FAILOVER hands the primary role to a replica",
    "EVAL": "EVAL runs a script that can write keys",
    "EVALSHA": "EVALSHA runs a script that can write keys",
    "FCALL": "FCALL runs a function that can write keys",
    "PUBLISH": "PUBLISH sends a message to every subscriber",
    "SPUBLISH": "SPUBLISH sends a message to every subscriber",
}
_REDIS_MUTATING_SUB = {
    ("CONFIG", "SET"): "CONFIG SET changes the server's configuration",
    ("CONFIG", "REWRITE"): "CONFIG REWRITE rewrites the server's configuration file",
    ("CONFIG", "RESETSTAT"): "CONFIG RESETSTAT resets the server's statistics",
    ("CLIENT", "KILL"): "CLIENT KILL disconnects clients",
    ("CLIENT", "PAUSE"): "CLIENT PAUSE stops the server answering clients",
    ("SLOWLOG", "RESET"): "SLOWLOG RESET erases the slow log",
    ("LATENCY", "RESET"): "LATENCY RESET erases the latency history",
    ("MEMORY", "PURGE"): "MEMORY PURGE makes the allocator give memory back",
    ("SCRIPT", "FLUSH"): "SCRIPT FLUSH removes every cached script",
    ("SCRIPT", "KILL"): "SCRIPT KILL stops the running script",
    ("SCRIPT", "LOAD"): "SCRIPT LOAD adds a script to the server",
    ("FUNCTION", "FLUSH"): "FUNCTION FLUSH removes every function",
    ("FUNCTION", "DELETE"): "FUNCTION DELETE removes a function library",
    ("FUNCTION", "LOAD"): "FUNCTION LOAD adds a function library",
    ("FUNCTION", "RESTORE"): "FUNCTION RESTORE replaces the function libraries",
    ("ACL", "SETUSER"): "ACL SETUSER changes a user's permissions",
    ("ACL", "DELUSER"): "ACL DELUSER removes a user",
    ("ACL", "LOAD"): "ACL LOAD replaces the users from the ACL file",
    ("ACL", "SAVE"): "ACL SAVE rewrites the ACL file",
    ("MODULE", "LOAD"): "MODULE LOAD loads code into the server",
    ("MODULE", "UNLOAD"): "MODULE UNLOAD removes a module from the server",
    **{
        ("CLUSTER", sub): f"CLUSTER {sub} changes the cluster"
        for sub in word_set(
            "FAILOVER RESET FORGET MEET ADDSLOTS ADDSLOTSRANGE DELSLOTS DELSLOTSRANGE SETSLOT REPLICATE "
            "FLUSHSLOTS SAVECONFIG SET-CONFIG-EPOCH BUMPEPOCH"
        )
    },
}
REDIS_NAMES = (
    _REDIS_WRITES
    | set(_REDIS_MUTATING)
    | {name for name, _ in _REDIS_MUTATING_SUB}
    | {"INFO", "SLOWLOG", "CONFIG", "LATENCY", "MEMORY", "DBSIZE", "PING", "SCAN", "TYPE", "TTL", "PTTL"}
    | {"GET", "MGET", "KEYS", "EXISTS", "HGET", "HGETALL", "LRANGE", "SMEMBERS", "ZRANGE", "CLIENT"}
    | {"OBJECT", "MONITOR", "STRLEN", "LLEN", "SCARD", "ZCARD", "HLEN", "XLEN", "XINFO"}
)
# the opt-in key sampler's commands (RedisProbe.sample_keys): --bigkeys and --memkeys map to it
_SAMPLER_COMMANDS = (("SCAN", "0", "COUNT", "200"), ("TYPE", "k"), ("TTL", "k"), ("MEMORY", "USAGE", "k"))

_REDIS_CLI_FLAGS = flag_table(
    ("-h", "host", True),
    ("-p", "port", True),
    ("-s", "socket", True),
    ("-u", "uri", True),
    ("-a -n --user --pass --sni --cacert --cacertdir --cert --key --tls-ciphers", "connection", True),
    (
        "--tls --insecure --askpass --no-auth-warning -c -e -2 -3 --raw --no-raw --csv --json --quoted-json",
        "ui",
        False,
    ),
    ("-d -D", "format", True),
    ("-r -i", "repeat", True),  # a live read repeats by itself
    ("--scan", "scan", False),
    ("--pattern --quoted-pattern", "pattern", True),
    ("--count", "count", True),
    ("--bigkeys --memkeys", "bigkeys", False),
    ("--memkeys-samples --top", "bigkeys-option", True),
    ("--hotkeys --stat --latency --latency-history --latency-dist --replica --ldb -x", "mode", False),
    ("--rdb --functions-rdb --intrinsic-latency --keystats", "mode-with-value", True),
    ("--pipe", "pipe", False),
    ("--pipe-timeout", "pipe-timeout", True),
    ("--eval", "eval", True),
    ("--lru-test", "lru-test", True),
    ("--cluster", "cluster-admin", True),
)
_REDIS_CLI_MUTATING = {
    "pipe": "redis-cli --pipe sends every command it is fed, writes included",
    "eval": "redis-cli --eval runs a Lua script that can write keys",
    "lru-test": "redis-cli --lru-test writes test keys into the server",
}


def classify_redis_cli(args: list[str], depth: int) -> Classified:
    opts = parse_options(args, _REDIS_CLI_FLAGS, "redis-cli", interleaved=False)
    command = opts.positionals
    acting = _redis_acts(command) if command else None
    if acting is None:
        acting = next((why for name, why in _REDIS_CLI_MUTATING.items() if name in opts.values), None)
    admin = opts.one("cluster-admin")
    if acting is None and admin is not None and admin.lower() not in ("check", "info", "help"):
        acting = f"redis-cli --cluster {admin} changes the cluster"
    if acting is not None:
        return mutating(acting)
    # the probe reads the server oncall is configured for: classify() checks it is the one named here
    opts.require(
        frozenset(
            {"host", "port", "socket", "uri", "connection", "ui", "format", "repeat"}
            | {"scan", "pattern", "count", "bigkeys", "bigkeys-option"}
        ),
        "redis-cli",
    )
    server = _redis_server(opts)
    if "scan" in opts.values or "bigkeys" in opts.values:
        if command:
            raise Unsupported("redis-cli --scan or --bigkeys with a command as well")
        if "bigkeys" in opts.values:
            for sampler_command in _SAMPLER_COMMANDS:
                _allowed(*sampler_command)  # the allowlist is the authority, even for the sampler
            return LiveRead("redis", "bigkeys", ReadParams(), "", server=server)
        return replace(_redis_scan(opts.one("pattern"), opts.one("count")), server=server)
    if not command:
        raise Unsupported("redis-cli without a command opens an interactive session oncall can't see")
    result = _redis_command(command)
    return replace(result, server=server) if isinstance(result, LiveRead) else result


def _redis_server(opts: Options) -> Server | None:
    """The server redis-cli is pointed at by -h, -p, -s and -u redis://host:port."""
    hosts = [*opts.values.get("host", []), *opts.values.get("socket", [])]
    ports = list(opts.values.get("port", []))
    for uri in opts.values.get("uri", []):
        parts = urlsplit(uri)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise Unsupported("redis-cli -u takes a redis://, rediss:// or unix:// URI")
        if parts.scheme == "unix":
            hosts.append(parts.path)
            continue
        try:
            port = parts.port
        except ValueError:
            raise Unsupported("redis-cli -u names a port that is not a number") from None
        hosts.append(parts.hostname or "127.0.0.1")
        ports += [str(port)] if port else []
    return server_named(hosts, ports, "redis-cli -p")


def classify_redis_words(args: list[str], depth: int) -> Classified:
    return _redis_command(args)


def _allowed(*command: str) -> tuple[str, str | None]:
    """The probe's allowlist decides; a refusal becomes the Unknown reason."""
    from probes.redis import CommandRefused, check_command  # with the redis client: not at oncall's start

    try:
        return check_command(*command)
    except CommandRefused as refused:
        raise Unsupported(str(refused)) from None


def _redis_acts(command: Sequence[str]) -> str | None:
    name = command[0].upper()
    sub = command[1].upper() if len(command) > 1 else ""
    if (name, sub) in _REDIS_MUTATING_SUB:
        return _REDIS_MUTATING_SUB[name, sub]
    if name in _REDIS_MUTATING:
        return _REDIS_MUTATING[name]
    if name in _REDIS_WRITES:
        return f"{name} writes data"
    return None


def _redis_command(command: Sequence[str]) -> Classified:
    """One Redis command: mutating, or a read the probe's allowlist lets through."""
    acting = _redis_acts(command)
    if acting is not None:
        return mutating(acting)
    name, sub = _allowed(*command)
    args = list(command[2 if sub else 1 :])
    if name == "INFO" and len(args) <= 1:
        return LiveRead("redis", "info", ReadParams(section=args[0].lower() if args else None), "")
    if (name, sub) == ("SLOWLOG", "GET") and len(args) <= 1:
        count = number(args[0], "SLOWLOG GET") if args else None
        return LiveRead("redis", "slowlog", ReadParams(count=count), "")
    if (name, sub) == ("CONFIG", "GET") and len(args) == 1:
        return LiveRead("redis", "config-get", ReadParams(name=args[0].lower()), "")
    if (name, sub) == ("LATENCY", "LATEST") and not args:
        return LiveRead("redis", "latency", ReadParams(), "")
    if name == "SCAN":
        return _redis_scan_command(args)
    shown = f"{name} {sub}" if sub else name
    raise Unsupported(f"{shown} is on the Redis allowlist, but oncall has no live view of it in this form")


def _redis_scan_command(args: list[str]) -> LiveRead:
    if not args or args[0] != "0" or len(args) % 2 == 0:
        raise Unsupported("a SCAN that doesn't start at cursor 0 with MATCH/COUNT pairs")
    options = {args[i].upper(): args[i + 1] for i in range(1, len(args), 2)}
    if set(options) - {"MATCH", "COUNT"}:
        raise Unsupported("SCAN with options other than MATCH and COUNT")
    return _redis_scan(options.get("MATCH"), options.get("COUNT"))


def _redis_scan(pattern: str | None, count: str | None) -> LiveRead:
    _allowed("SCAN", "0", *(("MATCH", pattern) if pattern is not None else ()))
    params = ReadParams(pattern=pattern, count=None if count is None else number(count, "--count"))
    return LiveRead("redis", "scan", params, "")
