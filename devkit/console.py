"""The admin API and a simulator's control API as the person doing a setup uses them, and the setup steps
every seed guide shares (create the integration, register the people, link them)."""
from __future__ import annotations

import time

import requests


class Console:
    """The admin API and the simulator's control API, as the person doing the setup uses them."""

    def __init__(self, app_url: str, admin_token: str, sim_url: str) -> None:
        self.app_url, self.sim_url = app_url.rstrip("/"), sim_url.rstrip("/")
        self.session = requests.Session()
        self.auth = {"Authorization": f"Bearer {admin_token}"}

    def api(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        response = self.session.request(method, self.app_url + path, json=body, headers=self.auth, timeout=30)
        return response.status_code, (response.json() if response.content else {})

    def sim(self, method: str, path: str, body: dict | None = None, platform: str = "dingtalk") -> dict:
        response = self.session.request(method, f"{self.sim_url}/{platform}{path}", json=body, timeout=30)
        return response.json()

    def wait_for(self, condition, what: str, timeout: float = 20.0):
        """Poll ``condition()`` until it returns something truthy."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if value := condition():
                return value
            time.sleep(0.2)
        raise TimeoutError(f"timed out waiting for {what}")


def create_integration(console: Console, body: dict) -> dict:
    status, view = console.api("POST", "/integrations", body)
    if status != 201:
        raise RuntimeError(f"creating the integration failed: {status} {view}")
    return view


def add_members(console: Console, people: list[tuple[str, str, str, str]]) -> None:
    for member_id, name, mobile, email in people:
        console.api("POST", "/members", {"id": member_id, "name": name, "mobile": mobile, "email": email})


def link_by_mobile(console: Console, view: dict, link: bool) -> dict | None:
    """The one-click linking by mobile; left out (None) when people are to link themselves in the web app."""
    return console.api("POST", f"/integrations/{view['id']}/link-members")[1] if link else None
