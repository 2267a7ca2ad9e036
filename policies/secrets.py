"""Secret-looking literals in a resource or configuration body, and the small value readers they
need. Works on Checkov's list-wrapped form and on plain Terraform JSON alike, and imports nothing
from Checkov, so the gate can scan provider and backend blocks without loading it."""

from __future__ import annotations

import marshal
import re
from functools import lru_cache
from typing import Any

# Keys Checkov adds (line numbers) or cdktf adds (construct metadata) that are not resource attributes.
_NOT_ATTRIBUTES = frozenset({"//", "__startline__", "__endline__"})


def value(conf: dict[str, Any], key: str, default: Any = None) -> Any:
    """The attribute `key` with Checkov's one-element list wrapper removed (`default` when absent)."""
    if key not in conf:
        return default
    raw = conf[key]
    if isinstance(raw, list) and len(raw) == 1 and not isinstance(raw[0], dict):
        raw = raw[0]
    return default if raw is None else raw


def is_reference(text: Any) -> bool:
    """Whether a value holds a Terraform `${...}` interpolation or `%{...}` template directive
    (`%{if x}tcp%{endif}`), so its real value is unknown here: an opening followed, anywhere
    later, by a "}". Found with str.find, in linear time (a regex tried at every opening of
    "${${${..." rescans the rest of the text each time)."""
    if not isinstance(text, str):
        return False
    openings = [i for i in (text.find("${"), text.find("%{")) if i >= 0]
    return bool(openings) and text.find("}", min(openings) + 2) >= 0


_TERRAFORM_BOOLS = {"true": True, "1": True, "false": False, "0": False}


def literal_bool(raw: Any) -> bool | None:
    """A boolean attribute's literal value as Terraform converts it: true/false, and exactly the
    strings "true"/"false" and "1"/"0"; None for anything else (an expression, a number, "True",
    which Terraform refuses)."""
    if isinstance(raw, bool):
        return raw
    return _TERRAFORM_BOOLS.get(raw) if isinstance(raw, str) else None


# --- Secrets -------------------------------------------------------------------------------------

_SECRET_KEY = re.compile(
    r"(?:^|_)(?:token|password|passwd|pgpassword|pwd|passphrase|secret|private_key|api_key|apikey|access_key"
    r"|auth_key|authorization|webhook(?:_url)?|rediscli_auth|requirepass|masterauth)(?:$|_)"
)
# Names that merely point at or describe a secret rather than hold one.
_NOT_SECRET_SUFFIX = re.compile(r"_(?:id|ids|name|names|type|path|file|ttl|length|version|enabled)$")
# (what it is, a text every match contains, the pattern): the text is tested first with `in`, in C,
# which spares most strings the regex searches.
_SECRET_VALUES = (
    ("a PEM private key", "-----BEGIN ", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")),
    ("a DigitalOcean API token", "_v1_", re.compile(r"\bdo[opr]_v1_[0-9a-f]{64}\b")),
    ("a Slack webhook URL", "hooks.slack.com/",
     re.compile(r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]+")),
    # postgres://hub:<password>@db...; a `$VAR` or `${...}` password is filled in later, not written here
    ("a URL with a password", "@", re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@'\"]*:(?!\$)[^\s/@'\"]+@")),
    ("a URL with a token", "@", re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[A-Za-z0-9_-]{20,}@")),  # https://ghp_...@github.com
    # a token is long and holds a digit; "Bearer authentication" in prose is no token
    ("a bearer token", "earer", re.compile(r"\b[Bb]earer[ \t]+(?!\$)(?=[A-Za-z._~+/-]*[0-9])[A-Za-z0-9._~+/-]{16,}")),
)
# NAME=value and NAME: value inside a text: user_data scripts, cloud-config, .env files, JSON in a
# string, command options (--password=x, -o user=u,password=x), query strings (?api_key=x), headers.
_ASSIGNMENT = re.compile(
    # A name starts after a separator (none of which a name holds), maybe as an option (-x, --x), so
    # each character is scanned by one name: starting after any "-" would rescan "a-a-a-..." from
    # every "-", quadratic in its length.
    r"(?m)(?:^|[\s;,&?{\"'(\[|>/])(?:export[ \t]+|-++)?([A-Za-z_][A-Za-z0-9_.-]*+)['\"]?[ \t]*[=:][ \t]*"
    r"(?:\"([^\"\n]*)\"|'([^'\n]*)'|([^\s'\";,&?]*))"
)
# `--password value`: a command's long option and its value, separated by a space.
_LONG_OPTION = re.compile(
    r"(?m)(?:^|\s)--([A-Za-z][A-Za-z0-9_-]*)[ \t]+(?:\"([^\"\n]*)\"|'([^'\n]*)'|([^\s'\";&|-][^\s'\";&|]*))"
)
# Values an assignment may hold that are settings, not secrets: switches, short numbers and
# durations (lock_passwd: true, TOKEN_TTL=1h), file paths (PRIVATE_KEY=/etc/ssl/origin.key), auth
# schemes, template placeholders filled in later ({{ pg_password }}, %(PW)s, @@PW@@, <password>),
# YAML tags (!vault, !ENV).
_NOT_A_SECRET_VALUE = re.compile(
    r"(?i)(?:true|false|yes|no|on|off|null|none|nil|required|optional|enabled|disabled|bearer|basic|token"
    r"|\d{1,5}(?:\.\d+)?(?:ms|us|s|m|h|d|w|k|kb|mb|gb|%)?|(?:~|\.{1,2})?/[\w./-]*"
    r"|\{\{.*\}\}|\{%.*%\}|%\(\w+\)s|%[-#0 +]?\d*[a-z](?:\\n)?|@@.*@@|<[^<>]*>|!\S+.*)"
)
# Names of settings about a secret rather than the secret (PASSWORD_HASHER=argon2, SECRET_STORE=vault,
# `--password-stdin registry`, whose word after it is the next argument),
# and names that point at where a secret is kept (existingSecret, from_secret, adminPasswordKey).
_SECRET_SETTING = re.compile(
    r"_(?:encryption|hash|hasher|hashing|algorithm|lifetime|expiry|expires|expiration|timeout|interval|endpoint"
    r"|header|store|backend|policy|format|mode|rotation|min|max|size|count|required|url|uri|stdin)$"
    r"|^(?:existing|from)_|_(?:password|passwd|secret|token)_key$"
)
# Attribute names that only wrap the value of their parent key, as in headers {"X-Api-Key": {"value": ...}}.
_VALUE_WRAPPERS = frozenset({"value", "values", "content"})


def _normalise_key(key: str) -> str:
    """snake_case words of a name: "X-Api-Key" and "apiKey" both give api_key's words."""
    key = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key)
    return re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")


@lru_cache(maxsize=4096)
def _is_secret_key(key: str) -> bool:
    name = _normalise_key(key)
    return bool(_SECRET_KEY.search(name)) and not _NOT_SECRET_SUFFIX.search(name)


# Every finding of find_secrets needs a string (a key or a value) that holds one of these hints,
# once ASCII letters are lower-cased: a secret-like key, normalised (also one assigned to inside a
# text), contains token, passw(ord|d), passphrase, secret, private then key (private_key,
# privateKey: lower-cased, anything but letters and digits between), api(_key|key),
# access(_key), auth(_key|orization) or webhook; the value patterns contain "-----begin ", "_v1_",
# "hooks.slack.com/", "bearer" or, for a URL with a password, "://" (checked apart: see below); the
# texts _PASSED_SECRETS finds contain passw (htpasswd, chpasswd, reset-admin-password too), auth,
# (re)quirepass, (s)shpass, (m)ysql, (redis)-cli, pgpass, curl, docker, -users (elasticsearch-users),
# "-pass" (openssl's -passin), "by" before any spaces (Unicode ones too) and
# a quote (SQL's IDENTIFIED BY 'x') or, for a Redis ACL rule, ">" after a space and before a
# non-space, or (quoted) follows "acl setuser"; a keystore setting read from standard input must be
# named with one of these; `sudo -S` reads from a pipe into sudo or a here-string ("<<<"). Four
# characters outside ASCII match ASCII letters: U+0130 lower-cases into "i" and a combining dot, the
# Kelvin sign U+212A into "k", and when a pattern ignores case the long s U+017F matches "s" and the
# dotless i U+0131 matches "i"; so each of them, UTF-8 encoded, is a hint too.
# re tries a match only at a byte that can start one, so each hint starts at its rarest byte in
# stack text ("k" of token, then a look-behind for "tok"): far fewer tries than at every t, a or p.
_SECRET_HINT = re.compile(
    rb"k(?:(?<=tok)en|(?<=hook)(?:s\.slack\.com/|(?<=webhook))|(?<=dock)er)"  # token, hooks.slack.com/, webhook, docker
    rb"|w(?:(?<=passw)|(?<=pw)d)"  # passw, pwd
    rb"|h(?:(?<=passph)rase|(?<=ssh)pass|(?<=auth))"  # passphrase, sshpass, auth
    rb"|v(?:(?<=priv)ate[^a-z0-9]*key|(?<=_v)1_)"  # private...key, _v1_
    rb"|s(?:ecret|(?<=acces)s|(?<=pgpas)s|(?<=-pas)s|(?<=-us)ers|(?<=setus)er)"  # secret, access, pgpass, -pass, -users, setuser
    rb"|p(?<=ap)i|l(?:(?<=-cl)i|(?<=curl))"  # api, -cli, curl
    rb"|b(?:earer|(?<=-----b)egin )"  # bearer, "-----begin "
    rb"|y(?:(?<=by)[\s\x1c-\x1f\x80-\xff]*'|sql)"  # by ... ', ysql
    rb"|quirepass|>(?<=[ \t]>)\S"
    rb"|\|[ \t]*(?:[\w.-]*/)*sudo|<<<"  # a pipe into sudo, a here-string (sudo -S reads either)
    rb"|\xc4[\xb0\xb1]|\xe2\x84\xaa|\xc5\xbf"
)


def serialized(body: Any) -> bytes | None:
    """Every string of plain JSON-like data, verbatim (UTF-8), in one C call; None if it cannot.

    Each distinct string object is written in full at least once; marshal version 4 writes a
    repeated object (the json module shares equal keys) as a back-reference, so the text is about
    a fifth shorter and quicker to make and to search than version 2's. Equal data may give
    different bytes, which costs the callers that key caches on the bytes only a miss.
    """
    try:
        return marshal.dumps(body, 4)
    except ValueError:
        return None


def _may_hold_secrets(body: Any, text: bytes | None) -> bool:
    """False only when no string anywhere in `body` holds a hint, so the walk would find nothing.

    The scan runs in C over serialized bytes, far faster than walking the body in Python; a body
    marshal cannot serialize gets the walk.
    """
    if text is None:
        text = serialized(body)
        if text is None:
            return True
    # "://" is in every URL; only a text that also holds "@" can hold a URL with a password.
    return _SECRET_HINT.search(text.lower()) is not None or (b"@" in text and b"://" in text)


def _is_literal(text: Any) -> bool:
    return isinstance(text, str) and text.strip() != "" and not is_reference(text)


# A secret handed to a command or written into a service's own configuration, with no NAME=value:
# Redis (`requirepass x`, `masterauth x`, an ACL rule's `>x`) and keepalived (`auth_pass x`)
# directives, SQL (`CREATE ROLE hub PASSWORD 'x'`, MySQL's `IDENTIFIED BY 'x'`), and commands that
# take a password as an argument. Each pattern names the receiver and the value, and runs only on a
# text holding one of its keywords (lower-cased). Their stretches are bounded, so a long text
# cannot make them quadratic.
_VALUE = r"""(?:"(?P<dq>[^"\n]*)"|'(?P<sq>[^'\n]*)'|(?P<word>[^\s'";|&/]+))"""  # a bare word ends at "/" (sed s/a/b/)
# `user:password`, quoted or bare; the groups hold the password only
_USER_PASSWORD = r"""(?:"[^"\n:]*:(?P<dq>[^"\n]*)"|'[^'\n:]*:(?P<sq>[^'\n]*)'|[^\s'";|&:]*:(?P<word>[^\s'";|&]*))"""
# Where a command starts: a line, a pipe or list, a subshell, or after sudo/exec/then/do.
_COMMAND = r"(?:^|[;&|(`]|\b(?:sudo|exec|then|do|else)\b)[ \t]*"
# `sudo -S` (or --stdin, or -S among other flags: -kS) reads the password from standard input.
# Only sudo's own options may come before it (those that take a value with it), so `sudo ls -S`,
# where -S is the command's, is none.
_SUDO_STDIN_OPTION = (
    r"(?:[ \t]++(?:-[A-RT-Za-z]*[ughpCDrtTU][ \t]++\S++"  # an option and its value (-u root, -kp '')
    r"|--(?:user|group|prompt|host|close-from|chdir|chroot|role|type|command-timeout|other-user)[ \t]++\S++"
    r"|-[A-RT-Za-z]*[A-RT-Zabcefijk-oqsv-z]|--(?!stdin\b)[A-Za-z-]++(?:=\S*+)?))*?"  # flags (-k, -E, --login)
    r"[ \t]++(?:-[A-Za-z]*S[A-Za-z]*|--stdin)(?=[ \t]|$)"
)
_PASSED_SECRETS = (
    ("a password directive", ("requirepass", "masterauth", "auth_pass"), re.compile(
        r"(?m)(?:^|[\s;\"'/-])(?P<receiver>(?i:requirepass|masterauth|auth_pass))[ \t]+" + _VALUE)),
    # an ACL rule's ">password": bare in an ACL file's `user` line or a script fed to redis-cli, quoted
    # in a shell command line (where a bare ">file" is a redirect)
    ("a Redis ACL password", (" >", "\t>"), re.compile(
        r"(?im)^[ \t]*(?P<receiver>user|acl[ \t]+setuser)[ \t]+\S++[^\n]{0,300}?[ \t]>(?P<word>[^\s'\">]+)")),
    ("a Redis ACL password", ("setuser",), re.compile(
        r"(?i)\b(?P<receiver>acl[ \t]+setuser)[ \t]+\S++[^\n]{0,300}?[ \t]"
        # quoted, or in escaped quotes inside a quoted command (sh -c "... \">x\" ...")
        r"(?:'>(?P<sq>[^'\n]+)'|\">(?P<dq>[^\"\n]+)\"|\\\">(?P<word>[^\"\n\\]+)\\\")")),
    # PostgreSQL's `... [ENCRYPTED] PASSWORD 'x'`, MySQL's `IDENTIFIED [WITH plugin] BY 'x'`; only
    # inside a CREATE/ALTER USER/ROLE statement (ended by ";" or the closing quote of `psql -c "..."`),
    # so prose such as "the password 'x'" is no finding.
    ("an SQL password", ("create", "alter"), re.compile(
        r"(?i)\b(?P<receiver>(?:create|alter)\s+(?:user|role))\b[^;\"]{0,500}?(?:\bpassword|by)\s*'(?P<sq>[^'\n]*)'")),
    ("an SQL password", ("password",), re.compile(
        r"(?i)\b(?P<receiver>set\s+password)\b[^;=\n]{0,200}=\s*'(?P<sq>[^'\n]*)'")),
    ("a password argument", ("mysqladmin",), re.compile(
        r"(?m)" + _COMMAND + r"(?P<receiver>mysqladmin)\b[^\n;|&]{0,200}?[ \t]password[ \t]+" + _VALUE)),
    ("a password argument", ("sshpass",), re.compile(
        r"(?m)" + _COMMAND + r"(?P<receiver>sshpass)\b[^\n;|&]{0,200}?[ \t]-p[ \t]*" + _VALUE)),
    ("a password argument", ("mysql",), re.compile(
        r"(?m)" + _COMMAND + r"(?P<receiver>mysql(?:dump|admin|import|check|show)?)\b[^\n;|&]{0,200}?[ \t]-p"
        + _VALUE)),
    ("a password argument", ("redis-cli",), re.compile(
        r"(?m)" + _COMMAND + r"(?P<receiver>redis-cli)\b[^\n;|&]{0,200}?[ \t](?:-a|--pass)[ \t]+" + _VALUE)),
    ("a password argument", ("chpasswd",), re.compile(
        r"\becho[ \t]+['\"]?[\w.-]+:(?P<word>[^\s'\"]+)['\"]?[ \t]*\|[ \t]*(?:sudo[ \t]+)?(?P<receiver>chpasswd)\b")),
    ("a password argument", ("chpasswd",), re.compile(
        r"\b(?P<receiver>chpasswd)[ \t]*<<<[ \t]*['\"]?[\w.-]+:(?P<word>[^\s'\"]+)")),
    # `curl -u user:password` (also -uuser:pw, --user user:pw, --user=user:pw); the value is after the colon
    ("a password argument", ("curl",), re.compile(
        r"\b(?P<receiver>curl)\b[^\n;|&]{0,300}?[ \t](?:-u[ \t]*|--user(?:[ \t]+|=))" + _USER_PASSWORD)),
    ("a password argument", ("elasticsearch-users",), re.compile(
        r"\b(?P<receiver>elasticsearch-users)\b[^\n;|&]{0,200}?[ \t]-p[ \t]+" + _VALUE)),
    ("a password argument", ("reset-admin-password",), re.compile(
        r"\b(?P<receiver>grafana(?:-cli|[ \t]+cli))\b[^\n;|&]{0,200}?[ \t]reset-admin-password[ \t]+(?!-)" + _VALUE)),
    # openssl's `-passin pass:x` / `-passout pass:x` / `-pass pass:x` (env:VAR and file:path name where it is)
    ("a password argument", ("openssl",), re.compile(
        r"\b(?P<receiver>openssl)\b[^\n;|&]{0,300}?[ \t]-pass(?:in|out)?[ \t]+"
        r"(?:\"pass:(?P<dq>[^\"\n]*)\"|'pass:(?P<sq>[^'\n]*)'|pass:(?P<word>[^\s'\";|&]+))")),
    # `echo x | passwd --stdin user`, `printf '%s' x | docker login --password-stdin`, and the way
    # Elasticsearch's keystore takes a secure setting: `echo x | elasticsearch-keystore add -x bootstrap.password`
    ("a password on standard input", ("passwd", "password-stdin", "password-from-stdin", "elasticsearch-keystore",
                                      "sudo"),
     re.compile(
        r"\b(?:echo|printf|yes)[ \t]+(?:-[A-Za-z]+[ \t]+)*(?:(?:'%[^'\n]*'|\"%[^\"\n]*\")[ \t]+)?" + _VALUE
        # possessive (++, *+): a long run of words or path parts must not be re-split at every position
        + r"[ \t]*\|[ \t]*(?:sudo[ \t]++(?:-\S++[ \t]++)*+)?(?:[\w.-]*+/)*+(?:"
        r"(?P<receiver>passwd)\b|(?P<sudo_receiver>sudo)" + _SUDO_STDIN_OPTION +
        r"|(?P<stdin_receiver>[\w.-]++)\b[^\n;|&]{0,200}?[ \t]--password-(?:from-)?stdin\b"
        # the keystore also behind `sudo -u elasticsearch`, `docker exec -i es`, `runuser -u x --`
        r"|[^\n;|&]{0,200}?(?P<keystore_receiver>elasticsearch-keystore)[ \t]+add\b[^\n;|&]{0,200}?"
        r"(?i:passw|secret|token|api|access|auth))")),
    # the same from a here-string: `passwd hub <<< 'x'`, `docker login --password-stdin <<< 'x'`
    ("a password on standard input", ("<<<",), re.compile(
        r"(?:\b(?P<receiver>passwd)\b|(?P<stdin_receiver>--password-(?:from-)?stdin)\b"
        r"|\b(?P<sudo_receiver>sudo)" + _SUDO_STDIN_OPTION +
        r"|\b(?P<keystore_receiver>elasticsearch-keystore)[ \t]+add\b[^\n;|&<]{0,200}?(?i:passw|secret|token|api|access|auth)\S*)"
        r"[^\n;|&<]{0,200}<<<[ \t]*" + _VALUE)),
    ("a password argument", ("docker",), re.compile(
        r"\b(?P<receiver>docker[ \t]+login)\b[^\n;|&]{0,200}?[ \t](?:-p|--password)[ \t]+(?!-)" + _VALUE)),
    # a PostgreSQL password file's `host:port:database:user:password` line, where a text writes a
    # .pgpass file; exactly five fields (a colon in the password is written "\:"), so MAC
    # addresses, fingerprints and IPv6 addresses are none
    ("a .pgpass line", (".pgpass", "pgpassfile", "pgpass.conf"), re.compile(
        r"(?m)(?:^|[\s'\"])(?P<receiver>[A-Za-z0-9_.*/-]+:(?:\d{1,5}|\*):[^\s:'\"]+:[^\s:'\"]+)"
        r":(?P<word>(?:[^\s'\"\\:]|\\.)+)(?=[\s'\"]|$)")),
)
# The group that names what is given the password (the one pattern with several receivers names each).
_RECEIVERS = ("receiver", "stdin_receiver", "keystore_receiver", "sudo_receiver")
# cloud-init's `chpasswd:` block (the lines below it indented deeper), and its `list:`: the lines
# below that indented deeper, or YAML list items.
_CHPASSWD_BLOCK = re.compile(r"(?m)^([ \t]*)chpasswd:[ \t]*(?:#[^\n]*)?\n((?:\1[ \t]+[^\n]*(?:\n|$))+)")
_CHPASSWD_LIST = re.compile(r"(?m)^([ \t]*)(list):[ \t]*(?:[|>][+-]?[ \t]*)?\n((?:\1(?:[ \t]+|-[ \t])[^\n]*(?:\n|$))+)")
_CHPASSWD_ENTRY = re.compile(r"[\w.-]+:(\S+)")
# A list written on one line: `list: root:pw`, `list: [root:pw]`, flow style `chpasswd: {list: ...}`
# or JSON cloud-config `{"chpasswd": {"list": "root:pw"}}`; its "user:password" pairs.
_CHPASSWD_INLINE = re.compile(r"""(?m)^[ \t]*(?:[^\n#]*?["']?chpasswd["']?[ \t]*:[^\n]*?)?["']?list["']?[ \t]*:[ \t]*([^\s|>][^\n]*)""")
_INLINE_PAIR = re.compile(r"""(?<![\w.-])[\w.-]+:([^\s,\]}'"\\]+)""")
_PASSED_KEYWORD = re.compile("|".join(re.escape(k) for _, keywords, _ in _PASSED_SECRETS for k in [*keywords, "htpasswd"]))
# htpasswd's options and arguments, up to the end of its command.
_HTPASSWD = re.compile(r"(?m)" + _COMMAND + r"htpasswd\b([^\n;|&]{0,300})")
# `password: |` or `password: >-`: the value is the YAML block scalar's first line below ("#" there is text).
_BLOCK_SCALAR = re.compile(
    r"(?m)^([ \t]*)(?:-[ \t]+)?([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*:[ \t]*[|>][+-]?[0-9]?[ \t]*(?:#[^\n]*)?\n"
    r"(?:[ \t]*\n)*\1[ \t]+(\S[^\n]*)"
)
# A PostgreSQL SCRAM verifier cannot log in: it is what the server keeps in place of the password.
_SCRAM_VERIFIER = re.compile(r"SCRAM-SHA-256\$\d+:")


def _may_be_credential(assigned: str) -> bool:
    """Whether a value given to a secret's name can be the secret itself.

    Not: a `$VAR`, `${...}`, `%{...}` or `` `command` `` value (also in quotes), filled in later; a
    value shorter than four characters ("password: see vault") or without a letter or digit, which
    is syntax (`|`, `>`); a setting-like value or a placeholder (_NOT_A_SECRET_VALUE).
    """
    bare = assigned.strip().strip("'\"")
    if bare[:1] in ("$", "`") or bare[:2] == "%{" or is_reference(bare) or len(bare) < 4 \
            or not any(c.isalnum() for c in bare):
        return False
    return not _NOT_A_SECRET_VALUE.fullmatch(bare)


def _commented_out(text: str, position: int) -> bool:
    """Whether `position` follows a `#` on its line, as in redis.conf's "# requirepass foobared"."""
    before = text[text.rfind("\n", 0, position) + 1:position]
    return before.lstrip().startswith("#") or before.rstrip(" \t^").endswith("#")


def _htpasswd_password(arguments: str) -> str | None:
    """The password `htpasswd -b [-C cost] [-c] file user password` (or `-nb user password`) is given."""
    words = arguments.split()
    flags, positional, index = "", [], 0
    while index < len(words):
        word = words[index]
        if word.startswith("-") and len(word) > 1:
            flags += word[1:]
            if word[-1] in "Cr" and index + 1 < len(words):  # -C cost, -r rounds take a value
                index += 1
        else:
            positional.append(word)
        index += 1
    if "b" not in flags:
        return None  # the password is asked for, not given
    wanted = 1 if "n" in flags else 2  # -n prints instead of writing a file
    return positional[wanted] if len(positional) > wanted else None


def _unix_lines(text: str) -> str:
    """CRLF line ends as "\n": the line-based patterns (YAML blocks, `chpasswd` lists) expect them."""
    return text.replace("\r\n", "\n") if "\r" in text else text


def _passed_secrets(text: str) -> list[str]:
    """What is given a literal password inside a text (`requirepass hunter2`, `sshpass -p hunter2`)."""
    lowered = text.lower()
    if not _PASSED_KEYWORD.search(lowered):
        return []  # the usual case, in one C call
    text = _unix_lines(text)
    found = []
    for description, keywords, pattern in _PASSED_SECRETS:
        if not any(keyword in lowered for keyword in keywords):
            continue
        for match in pattern.finditer(text):
            groups = match.groupdict()
            assigned = next((groups[g] for g in ("dq", "sq", "word") if groups.get(g) is not None), "")
            receiver = next(g for g in _RECEIVERS if groups.get(g) is not None)
            if _commented_out(text, match.start(receiver)) or not _may_be_credential(assigned):
                continue
            if _SCRAM_VERIFIER.match(assigned):
                continue
            found.append(f"{description} ({' '.join(match[receiver].split()).lower()})")
    if "htpasswd" in lowered:
        for match in _HTPASSWD.finditer(text):
            password = _htpasswd_password(match.group(1))
            if password is not None and not _commented_out(text, match.start(1)) and _may_be_credential(password):
                found.append("a password argument (htpasswd)")
    if "chpasswd" in lowered and "list" in lowered:
        found.extend("a cloud-init chpasswd list entry" for _ in _chpasswd_list_passwords(text))
    return found


def _chpasswd_list_passwords(text: str) -> list[str]:
    """The literal passwords of cloud-init's `chpasswd: {list: ...}` ("user:password" lines of a
    block scalar or items of a YAML list). RANDOM (or R) asks cloud-init for a random one; a hash
    starts with "$" and is no password."""
    passwords = []
    blocks = [block.group(2) for block in _CHPASSWD_BLOCK.finditer(text)]
    one_line = [line for line in text.splitlines() if "chpasswd" in line.lower()]  # flow style, JSON
    for match in (m for part in [*blocks, *one_line] for m in _CHPASSWD_INLINE.finditer(part)):
        if not _commented_out(match.string, match.start(1)):
            passwords += [p for p in _INLINE_PAIR.findall(match.group(1))
                          if p.upper() not in ("R", "RANDOM") and _may_be_credential(p)]
    lists = [m for block in blocks for m in _CHPASSWD_LIST.finditer(block)]
    for match in lists:
        if _commented_out(match.string, match.start(2)):
            continue
        for line in match.group(3).splitlines():
            entry = line.strip()
            entry = entry[1:].strip() if entry.startswith("-") else entry
            pair = _CHPASSWD_ENTRY.fullmatch(entry.strip("'\""))
            if pair and pair.group(1).upper() not in ("R", "RANDOM") and _may_be_credential(pair.group(1)):
                passwords.append(pair.group(1))
    return passwords


def _assigned_secrets(text: str) -> list[str]:
    """Secret-like names given a literal inside a text (`export DB_PASSWORD=hunter2`).

    Also a YAML block scalar's first line (`password: |`). Not: a value that cannot be the
    credential (_may_be_credential), a setting-like name (_SECRET_SETTING), a plain URL, unless
    the name is a webhook's.
    """
    if "=" not in text and ":" not in text and "--" not in text:
        return []
    text = _unix_lines(text)
    found = []
    assignments = _ASSIGNMENT.findall(text) + (_LONG_OPTION.findall(text) if "--" in text else [])
    if "\n" in text and ("|" in text or ">" in text):
        assignments += [(name, first_line.rstrip()) for _, name, first_line in _BLOCK_SCALAR.findall(text)]
    for name, *values in assignments:
        assigned = next((v for v in values if v), "")
        if not _may_be_credential(assigned) or not _is_secret_key(name):
            continue
        words = _normalise_key(name)
        if _SECRET_SETTING.search(words) and "webhook" not in words:
            continue
        if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://[^@\s]*$", assigned) and "webhook" not in words:
            continue  # a URL without credentials says where, not what
        found.append(name)
    return found


def find_secrets(body: Any, text: bytes | None = None) -> list[str]:
    """Describe every secret-looking literal in a resource body (Checkov form or plain JSON alike).

    Flags a literal under a secret-sounding key (also `{"name": "DB_PASSWORD", "value": "..."}`
    pairs and header maps), and any string that looks like a private key, token or webhook URL.
    `text` is `serialized(body)` when the caller has it already.
    """
    found: list[str] = []
    if not _may_hold_secrets(body, text):
        return found

    def walk(node: Any, path: str, key: str) -> None:
        if isinstance(node, dict):
            # nested {"name": "DB_PASSWORD", "value": "..."} pairs; a resource's own "name" is not one
            named = (value(node, "name") or value(node, "key")) if path else None
            if isinstance(named, str) and _is_secret_key(named) and _is_literal(value(node, "value")):
                found.append(f"{path or '.'}: literal value for {named!r}")
            for child_key, child in node.items():
                if child_key in _NOT_ATTRIBUTES:
                    continue
                child_path = f"{path}.{child_key}" if path else str(child_key)
                # a wrapper such as "value" inherits its parent's key, so headers {"X-Api-Key": {"value": ...}} count
                context = key if child_key in _VALUE_WRAPPERS and key else str(child_key)
                walk(child, child_path, context)
        elif isinstance(node, list):
            wrapped = len(node) == 1  # Checkov's one-element wrapper: keep the path readable
            for index, child in enumerate(node):
                walk(child, path if wrapped else f"{path}[{index}]", key)
        elif isinstance(node, str):
            looks_like = [description for description, needle, pattern in _SECRET_VALUES
                          if needle in node and pattern.search(node)]
            if looks_like:
                found.append(f"{path}: looks like {' and '.join(looks_like)}")
            if key and _is_secret_key(key) and _is_literal(node):
                if not looks_like:
                    found.append(f"{path}: literal value under the secret-like key {key!r}")
            else:  # a text such as a user_data script may set secrets of its own
                # plain loops: most texts set nothing, and a generator would be made for nothing
                for name in _assigned_secrets(node):
                    found.append(f"{path}: assigns a literal value to {name!r}")
                for what in _passed_secrets(node):
                    found.append(f"{path}: gives a literal to {what}")

    walk(body, "", "")
    return found

