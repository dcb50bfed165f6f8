"""How to reach a PVE cluster: the `connection` input and a small API client over proxmoxer."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

from nixops4_protocol.credentials import read_secret_file
from nixops4_protocol.errors import ResourceError
from nixops4_protocol.resource import CredentialFile, Model
from pydantic import Field, model_validator

if TYPE_CHECKING:
    from nixops4_protocol.log import Logger

TRANSIENT_STATUSES = frozenset({502, 503, 504, 595, 596})
"""HTTP statuses of a proxy or an unreachable node: retried within `timeouts.retry`."""
NOT_SENT = 0
"""Status of a request that never reached the API (refused, connect timeout): always retried."""
MAYBE_SENT = -2
"""Status of a request lost after it was sent (reset, read timeout): retried only when a GET,
since PVE may have acted on it (a retried clone could make a second VM)."""


class Timeouts(Model):
    """Seconds each kind of operation may take before the provider gives up."""

    request: float = Field(default=30, gt=0, le=86400, description="One HTTP request to the API.")
    task: float = Field(
        default=900,
        gt=0,
        le=86400,
        description="One PVE task (clone, create, resize, migrate, ...).",
    )
    shutdown: float = Field(
        default=120,
        gt=0,
        le=86400,
        description="A guest's clean shutdown before it is stopped hard.",
    )
    agent: float = Field(
        default=300, gt=0, le=86400, description="The QEMU guest agent to answer after a start."
    )
    retry: float = Field(
        default=30,
        ge=0,
        le=86400,
        description="Retrying transient faults: lock timeouts, 5xx from a proxy, refused connections.",
    )


class Connection(Model):
    """The PVE API endpoint and credentials; every call of a resource goes through it."""

    url: str = Field(description="API URL, e.g. `https://pve1.example.org:8006`.")
    token_id: str | None = Field(
        default=None, description="API token id `user@realm!name`; needs `tokenSecretFile`."
    )
    token_secret_file: Annotated[str | None, CredentialFile()] = Field(
        default=None, description="Path of a file holding the API token secret (a UUID)."
    )
    user: str | None = Field(
        default=None, description="User `name@realm` for a ticket login; needs `passwordFile`."
    )
    password_file: Annotated[str | None, CredentialFile()] = Field(
        default=None, description="Path of a file holding the user's password."
    )
    ca_file: str | None = Field(
        default=None, description="PEM file of the CA that signed the API's certificate."
    )
    verify_tls: bool = Field(
        default=True,
        description="Verify the API certificate (against `caFile`, else the system CAs). "
        "Turn off only for a throwaway lab cluster.",
    )
    timeouts: Timeouts = Field(default_factory=Timeouts, description="Per-operation timeouts.")

    @model_validator(mode="after")
    def _one_login(self) -> Connection:
        token = self.token_id is not None or self.token_secret_file is not None
        password = self.user is not None or self.password_file is not None
        if token == password:
            raise ValueError(
                "give either `tokenId` with `tokenSecretFile`, or `user` with `passwordFile`"
            )
        if token and (self.token_id is None or self.token_secret_file is None):
            raise ValueError("`tokenId` and `tokenSecretFile` go together")
        if password and (self.user is None or self.password_file is None):
            raise ValueError("`user` and `passwordFile` go together")
        if self.token_id is not None and "!" not in self.token_id:
            raise ValueError("`tokenId` must look like `user@realm!name`")
        parts = urlsplit(self.url)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError("`url` must be an https:// URL such as https://pve1.example.org:8006")
        return self


class PveError(ResourceError):
    """An error answer of the PVE API, with its HTTP status and per-field errors."""

    def __init__(self, status: int, message: str, *, hint: str | None = None) -> None:
        """Keep the status next to the message."""
        super().__init__(message, hint=hint)
        self.status = status


def is_lock_timeout(error: BaseException) -> bool:
    """Whether PVE failed to take a VM config lock in time (another task holds it)."""
    text = str(error)
    return "can't lock file" in text and "got timeout" in text


class PveClient:
    """GET/POST/PUT/DELETE on the API, with clear errors, re-login and bounded retries."""

    def __init__(self, connection: Connection, log: Logger) -> None:
        """Read the credentials now; the HTTP session is opened on first use."""
        self.connection = connection
        self.log = log
        self._secret = (
            read_secret_file(connection.token_secret_file, what="`connection.tokenSecretFile`")
            if connection.token_secret_file is not None
            else read_secret_file(connection.password_file or "", what="`connection.passwordFile`")
        )
        self._api: Any = None

    def _verify(self) -> bool | str:
        if not self.connection.verify_tls:
            import urllib3

            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            self.log.warning("TLS verification of the PVE API is off (`verifyTls = false`)")
            return False
        ca_file = self.connection.ca_file
        if ca_file is not None and not (os.path.isfile(ca_file) and os.access(ca_file, os.R_OK)):
            raise ResourceError(
                f"`connection.caFile` {ca_file!r} is not a readable file",
                hint="Point it at the PEM file of the CA that signed the PVE certificate (on a "
                "node: /etc/pve/pve-root-ca.pem), readable by the user running nixops4.",
            )
        return ca_file or True

    def _open(self) -> Any:
        """A proxmoxer API object (logs in with the password, if that is the login)."""
        from proxmoxer import ProxmoxAPI

        conn = self.connection
        parts = urlsplit(conn.url)
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        options: dict[str, Any] = {
            "port": parts.port or 8006,
            "verify_ssl": self._verify(),
            "timeout": conn.timeouts.request,
        }
        if conn.token_id is not None:
            user, _, name = conn.token_id.partition("!")
            options.update(user=user, token_name=name, token_value=self._secret)
        else:
            options.update(user=conn.user, password=self._secret)
        return ProxmoxAPI(host, backend="https", **options)

    def call(self, method: str, path: str, **params: Any) -> Any:
        """Call the API; returns its `data`. Raises PveError with PVE's own message.

        An expired ticket is renewed once; unavailable answers (5xx, refused connections, and a
        lost GET) are retried within `timeouts.retry`; a lost write is not, as it may have run.
        """
        from nixops4_protocol.progress import retry

        relogged = False

        def once() -> Any:
            nonlocal relogged
            try:
                return self._call_once(method, path, params)
            except PveError as error:
                if error.status != 401 or self.connection.user is None or relogged:
                    raise
            self.log.info("PVE ticket expired or revoked, logging in again")
            self._api = None
            relogged = True
            return self._call_once(method, path, params)

        def transient(error: BaseException) -> bool:
            return isinstance(error, PveError) and (
                error.status in TRANSIENT_STATUSES
                or error.status == NOT_SENT
                or (error.status == MAYBE_SENT and method == "GET")
            )

        return retry(
            once,
            what=f"PVE API unavailable for {method} {path}",
            log=self.log,
            transient=transient,
            total_seconds=self.connection.timeouts.retry,
            first_delay=0.1,
            max_delay=2.0,
        )

    def _call_once(self, method: str, path: str, params: dict[str, Any]) -> Any:
        import requests
        from proxmoxer import AuthenticationError, ResourceException

        try:
            if self._api is None:
                self._api = self._open()
            resource = self._api(path.strip("/"))
            sent = {k: int(v) if isinstance(v, bool) else v for k, v in params.items()}
            if method in ("POST", "PUT"):
                return resource._request(method, data=sent or None)
            return resource._request(method, params=sent or None)
        except ResourceException as error:
            raise _pve_error(self.connection.url, error) from None
        except AuthenticationError:
            raise PveError(
                401,
                f"PVE at {self.connection.url} refused the login of {self.connection.user!r}",
                hint="Check `connection.user` and the password in `connection.passwordFile`.",
            ) from None
        except requests.exceptions.SSLError as error:
            raise PveError(
                -1,
                f"TLS verification of {self.connection.url} failed: {_short(error)}",
                hint="Set `connection.caFile` to the CA that signed the PVE certificate "
                "(on a node: /etc/pve/pve-root-ca.pem).",
            ) from None
        except requests.exceptions.RequestException as error:
            raise PveError(
                NOT_SENT if _not_sent(error) else MAYBE_SENT,
                f"cannot reach PVE at {self.connection.url}: {_short(error)}",
                hint="Check `connection.url`, that pveproxy runs, and the network in between.",
            ) from None

    def get(self, path: str, **params: Any) -> Any:
        """GET `path` (relative to /api2/json)."""
        return self.call("GET", path, **params)

    def post(self, path: str, **params: Any) -> Any:
        """POST `path`."""
        return self.call("POST", path, **params)

    def put(self, path: str, **params: Any) -> Any:
        """PUT `path`."""
        return self.call("PUT", path, **params)

    def delete(self, path: str, **params: Any) -> Any:
        """DELETE `path`."""
        return self.call("DELETE", path, **params)


def _not_sent(error: BaseException) -> bool:
    """Whether a transport error happened before the request went out."""
    import requests
    from urllib3.exceptions import NewConnectionError

    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(error.args[0] if error.args else None, "reason", None)
    return isinstance(reason, NewConnectionError)


def _short(error: BaseException) -> str:
    """The last line of a requests error, without the retry machinery's noise."""
    text = str(error)
    if "Caused by" in text or "Max retries" in text:
        for marker in ("Errno", "CERTIFICATE_VERIFY_FAILED", "Connection refused", "timed out"):
            if marker in text:
                return text[text.index(marker) :].rstrip(")'\"")
    return text


def _pve_error(url: str, error: Any) -> PveError:
    """A PveError from proxmoxer's exception: PVE's message, then the per-field errors."""
    status = int(error.status_code)
    message = str(error.content or error.status_message).strip()
    if error.errors:
        fields = error.errors if isinstance(error.errors, dict) else {"": error.errors}
        message += ": " + "; ".join(f"{k}: {str(v).strip()}" for k, v in fields.items())
    hint = None
    if status == 401:
        hint = "Check the token id and secret (or user and password) in `connection`."
    elif status == 403:
        hint = "Grant the token or user the privilege PVE names, on the path it names."
    elif status in TRANSIENT_STATUSES:
        hint = f"PVE at {url} or the node behind it is unavailable; retry when it is back."
    return PveError(status, f"PVE answered {status}: {message}", hint=hint)
