"""HTTP client of Lectern's own API and of the presigned S3 URLs it hands out.

Used by the command-line uploader (chalicelib/uploads/client.py); the one place its HTTP lives.
"""

from __future__ import annotations

from typing import Any

import requests

DEFAULT_TIMEOUT = 60


class ApiError(Exception):
    """A non-success answer: the API's `{"error": {"code", "message"}}` or S3's status."""

    def __init__(self, status: int, code: str, message: str, details: Any = None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.details = status, code, message, details


class LecternApi:
    def __init__(self, base_url: str, token: str | None = None, *, timeout: float = DEFAULT_TIMEOUT):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        # Parts go out in parallel: one pooled connection per worker.
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=16)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self.token = token

    def login(self, email: str, password: str) -> str:
        self.token = self._call("POST", "/auth/login", json={"email": email, "password": password})["access_token"]
        return self.token

    def create_upload(self, body: dict) -> dict:
        return self._call("POST", "/uploads", json=body)

    def get_upload(self, upload_id: str) -> dict:
        return self._call("GET", f"/uploads/{upload_id}")

    def complete_upload(self, upload_id: str) -> dict:
        return self._call("POST", f"/uploads/{upload_id}/complete")

    def put_presigned(self, url: str, body: Any, headers: dict[str, str] | None = None) -> str:
        """PUT `body` (bytes or a file-like object with len()) to a presigned URL; its ETag."""
        try:
            response = self._session.put(url, data=body, headers=headers or {}, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ApiError(0, "network_error", str(exc)) from exc
        if response.status_code != 200:
            raise ApiError(response.status_code, "storage_error", response.text[:500])
        return response.headers.get("ETag", "").strip('"')

    def _call(self, method: str, path: str, **kwargs: Any) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = self._session.request(
                method, self.base_url + path, headers=headers, timeout=self.timeout, **kwargs
            )
        except requests.RequestException as exc:
            raise ApiError(0, "network_error", str(exc)) from exc
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                error = {"code": "http_error", "message": response.text[:500]}
            raise ApiError(response.status_code, error.get("code", ""), error.get("message", ""), error.get("details"))
        return response.json() if response.content else {}
