"""Who may use the web page: users and roles kept in `<data root>/secrets.toml` (passwords only as argon2 hashes),
the key that signs the session cookie (generated there on first use), the signed session itself, and the lockout
after wrong passwords. Only `[web]` of secrets.toml is ever rewritten here; config.toml never is."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets as tokens
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..core.errors import ConfigError

ADMIN, READER = "管理员", "只读"
ROLES = (ADMIN, READER)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
NAME = re.compile(r"^[\w.\-·]{1,40}$")  # a user name: letters (any script), digits, . - _ ·

_hasher = PasswordHasher()


@dataclass(frozen=True)
class User:
    """A user of the page; `zones`/`owner` limit a 只读 user to those 片区 or that 包校责任人's schools."""

    name: str
    role: str
    zones: tuple[str, ...] = ()
    owner: str = ""
    password_hash: str = field(default="", repr=False)

    @property
    def admin(self) -> bool:
        return self.role == ADMIN

    def sees(self, zone: str, section_owner: str) -> bool:
        """Whether this user may see a school of this 片区 and 包校责任人."""
        if self.admin:
            return True
        return (not self.zones or zone in self.zones) and (not self.owner or section_owner == self.owner)

    @property
    def limited(self) -> bool:
        return not self.admin and bool(self.zones or self.owner)


LOCAL_ADMIN = User("本机", ADMIN)  # no users configured, bound to 127.0.0.1: the local user is the clerk


# ---------------------------------------------------------------- secrets.toml


def read_secrets(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} 不是有效的 TOML：{exc}") from None


def load_users(path: Path) -> dict[str, User]:
    """The users of `[web.users.<name>]` in secrets.toml."""
    web = read_secrets(path).get("web", {})
    users = {}
    for name, entry in (web.get("users") or {}).items():
        if not isinstance(entry, dict) or entry.get("role") not in ROLES or not entry.get("hash"):
            raise ConfigError(f"{path} 的 [web.users.{name}] 不完整：需要 role（管理员 或 只读）和 hash")
        users[name] = User(name, entry["role"], tuple(entry.get("zones") or ()), entry.get("owner") or "",
                           entry["hash"])
    return users


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string


def _web_tables(key: str, users: dict[str, User]) -> str:
    lines = ["[web]", f"secret_key = {_toml_string(key)}", ""]
    for user in users.values():
        lines += [f"[web.users.{_toml_string(user.name)}]", f"role = {_toml_string(user.role)}",
                  f"hash = {_toml_string(user.password_hash)}",
                  f"zones = [{', '.join(_toml_string(z) for z in user.zones)}]",
                  f"owner = {_toml_string(user.owner)}", ""]
    return "\n".join(lines)


def _write_web(path: Path, key: str, users: dict[str, User]) -> None:
    """Rewrite the `[web…]` tables of secrets.toml, keeping every other line (the mail password) as it was."""
    kept, inside = [], False
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith("["):
                inside = stripped == "[web]" or stripped.startswith("[web.")
            if not inside:
                kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    text = "\n".join(kept) + ("\n\n" if kept else "") + _web_tables(key, users)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)
    tomllib.loads(path.read_text(encoding="utf-8"))  # what was written reads back


def secret_key(path: Path) -> str:
    """The key that signs session cookies, generated into secrets.toml on first use."""
    key = read_secrets(path).get("web", {}).get("secret_key")
    if isinstance(key, str) and len(key) >= 32:
        return key
    key = tokens.token_hex(32)
    _write_web(path, key, load_users(path))
    return key


def add_user(path: Path, name: str, password: str, role: str = ADMIN, zones: tuple[str, ...] = (),
             owner: str = "") -> User:
    """Add (or replace) a user in secrets.toml, its password stored only as an argon2 hash."""
    if not NAME.match(name):
        raise ConfigError(f"用户名“{name}”不可用：只能由文字、数字和 . - _ · 组成，最长 40 个字")
    if role not in ROLES:
        raise ConfigError(f"角色“{role}”不存在：可选 {' 或 '.join(ROLES)}")
    if role == ADMIN and (zones or owner):
        raise ConfigError("管理员可以查看全部学校，不能限定片区或包校责任人")
    if len(password) < 8:
        raise ConfigError("密码至少 8 个字符")
    users = load_users(path)
    user = User(name, role, tuple(zones), owner, _hasher.hash(password))
    users[name] = user
    _write_web(path, secret_key(path), users)
    return user


_UNKNOWN = _hasher.hash(tokens.token_hex(16))  # verified against for an unknown name: the same time either way


def check_password(user: User | None, password: str) -> bool:
    """Whether the password is the user's (None: an unknown name, never right)."""
    if user is None:
        try:
            _hasher.verify(_UNKNOWN, password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# ---------------------------------------------------------------- the session cookie


class Signer:
    """Signs a small JSON payload with HMAC-SHA256: `base64(payload).base64(mac)`; expired or altered → None."""

    def __init__(self, key: str, max_age: int = 12 * 3600):
        self.key = hashlib.sha256(f"inspect-pipeline-web:{key}".encode()).digest()
        self.max_age = max_age

    def _mac(self, body: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self.key, body, hashlib.sha256).digest()).decode().rstrip("=")

    def dumps(self, payload: dict) -> str:
        body = base64.urlsafe_b64encode(json.dumps({**payload, "t": int(time.time())}).encode()).rstrip(b"=")
        return f"{body.decode()}.{self._mac(body)}"

    def loads(self, text: str | None) -> dict | None:
        if not text or text.count(".") != 1:
            return None
        body, mac = text.split(".")
        if not hmac.compare_digest(mac, self._mac(body.encode())):
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return None
        if not isinstance(payload, dict) or time.time() - payload.get("t", 0) > self.max_age:
            return None
        return payload


# ---------------------------------------------------------------- wrong passwords


class Lockout:
    """`tries` wrong passwords for one user from one address lock that pair out for `minutes`."""

    def __init__(self, tries: int = 5, minutes: float = 15, clock=time.monotonic):
        self.tries, self.seconds, self.clock = tries, minutes * 60, clock
        self._failures: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str]) -> list[float]:
        now = self.clock()
        kept = [t for t in self._failures.get(key, []) if now - t < self.seconds]
        self._failures[key] = kept
        return kept

    def locked(self, user: str, address: str) -> bool:
        with self._lock:
            return len(self._recent((user, address))) >= self.tries

    def failed(self, user: str, address: str) -> None:
        with self._lock:
            self._recent((user, address)).append(self.clock())

    def succeeded(self, user: str, address: str) -> None:
        with self._lock:
            self._failures.pop((user, address), None)


def refuse_open_without_users(host: str, users: dict[str, User]) -> None:
    """ConfigError when the page would be reachable from other PCs and no one has to log in."""
    if host not in LOCAL_HOSTS and not users:
        raise ConfigError(
            f"网页绑定到 {host}（其他电脑可以访问）时必须先设置用户：运行 inspect-pipeline web-user add 用户名；"
            "或把 config.toml 的 [web] host 改回 127.0.0.1"
        )
