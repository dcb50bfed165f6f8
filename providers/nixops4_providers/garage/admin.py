"""A small client of Garage's admin API v2 (JSON over HTTP, bearer token), on the standard library.

urllib keeps start-up small (requests costs tens of milliseconds to import). Every failure becomes a
ResourceError that names the endpoint and keeps Garage's own message; the token is never shown.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, Any

from nixops4_protocol.credentials import read_secret_file
from nixops4_protocol.errors import ResourceError
from nixops4_protocol.progress import retry

if TYPE_CHECKING:
    from nixops4_protocol.log import Logger

    from .connection import Connection

RETRY_SECONDS = 10.0
"""How long transient faults (503 while the cluster settles, connection resets) are retried."""
TRANSIENT_STATUSES = frozenset({502, 503, 504})


class GarageApiError(ResourceError):
    """An error answer of the admin API: HTTP status, Garage's error code and message."""

    def __init__(self, status: int, code: str, message: str, *, hint: str | None = None) -> None:
        """Keep the status and Garage's code so callers can tell "not found" from failures."""
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code


class _TransientError(Exception):
    """A fault worth retrying; wraps the error to raise if retries run out."""

    def __init__(self, error: ResourceError) -> None:
        super().__init__(str(error))
        self.error = error


class AdminClient:
    """Calls to one cluster's admin API, authenticated with the token of `connection`."""

    def __init__(self, connection: Connection, log: Logger) -> None:
        """Read the token file now, so a missing file is reported before any call."""
        self.connection = connection
        self.base = connection.admin_endpoint.rstrip("/")
        self._log = log
        token = read_secret_file(connection.admin_token_file, what="`connection.adminTokenFile`")
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self._context: ssl.SSLContext | None = None
        if self.base.startswith("https://"):
            self._context = ssl.create_default_context(cafile=connection.ca_file)
            if not connection.verify_tls:
                self._context.check_hostname = False
                self._context.verify_mode = ssl.CERT_NONE

    def get(self, operation: str, **query: Any) -> Any:
        """GET /v2/<operation> with query parameters (None values left out)."""
        return self.call("GET", operation, query=query)

    def post(self, operation: str, body: Any = None, **query: Any) -> Any:
        """POST /v2/<operation> with a JSON body and query parameters."""
        return self.call("POST", operation, body=body, query=query)

    def find(self, operation: str, **query: Any) -> Any | None:
        """GET an object, or None when Garage answers 404 (no such bucket or key)."""
        try:
            return self.get(operation, **query)
        except GarageApiError as error:
            if error.status == 404:
                return None
            raise

    def call(
        self, method: str, operation: str, *, body: Any = None, query: dict[str, Any] | None = None
    ) -> Any:
        """One API call, retried while the fault is transient; returns the decoded JSON answer."""
        try:
            return retry(
                lambda: self._once(method, operation, body, query or {}),
                what=f"Garage {operation}",
                log=self._log,
                transient=lambda error: isinstance(error, _TransientError),
                total_seconds=RETRY_SECONDS,
            )
        except _TransientError as error:
            raise error.error from None

    def _once(self, method: str, operation: str, body: Any, query: dict[str, Any]) -> Any:
        parameters = {
            key: ("true" if value is True else "false" if value is False else value)
            for key, value in query.items()
            if value is not None
        }
        url = f"{self.base}/v2/{operation}"
        if parameters:
            url += "?" + urllib.parse.urlencode(parameters)
        data = None if body is None and method == "GET" else json.dumps(body or {}).encode()
        headers = dict(self._headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
        where = f"Garage's admin API at {self.base}"
        try:
            with urllib.request.urlopen(  # noqa: S310 - the scheme is checked by the model
                request, timeout=self.connection.timeout, context=self._context
            ) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            api_error = _api_error(error, operation, where)
            if error.code in TRANSIENT_STATUSES:
                raise _TransientError(api_error) from None
            raise api_error from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            hint = (
                "Check `connection.caFile` (the CA that signed the endpoint's certificate) or, "
                "for a test endpoint only, set `connection.verifyTls = false`."
                if isinstance(reason, ssl.SSLError)
                else "Check `connection.adminEndpoint` and that Garage is running with its "
                "`[admin] api_bind_addr` listening there."
            )
            failure = ResourceError(
                f"cannot reach {where} ({operation}): {_describe(reason)}", hint=hint
            )
            if isinstance(reason, ConnectionResetError):
                raise _TransientError(failure) from None
            raise failure from None
        if not payload.strip():
            return None
        try:
            return json.loads(payload)
        except ValueError:
            raise ResourceError(
                f"{where} answered {operation} with something that is not JSON",
                hint="Check that `connection.adminEndpoint` is Garage's admin API (v2, Garage >= 2.0).",
            ) from None


def _describe(reason: object) -> str:
    if isinstance(reason, TimeoutError):
        return "no answer within the timeout (`connection.timeout`)"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason)


def _api_error(error: urllib.error.HTTPError, operation: str, where: str) -> GarageApiError:
    """Turn an HTTP error answer into a GarageApiError with Garage's code and message."""
    code, message = "", ""
    try:
        answer = json.loads(error.read() or b"{}")
        code, message = str(answer.get("code", "")), str(answer.get("message", ""))
    except (ValueError, AttributeError, OSError):
        pass
    text = f"{where} refused {operation}: HTTP {error.code}"
    if code or message:
        text += f" {code}: {message}".rstrip(": ")
    hint = None
    if error.code in (401, 403):
        hint = (
            "Check `connection.adminTokenFile`: it must hold the cluster's `admin_token` or an "
            "admin token allowed to make this call."
        )
    elif error.code == 404 and not code:
        hint = "Check `connection.adminEndpoint`: this provider needs admin API v2 (Garage >= 2.0)."
    return GarageApiError(error.code, code, text, hint=hint)
