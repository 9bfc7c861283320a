"""The Feishu adapter against its simulator: the web sign-in's code exchange."""
from __future__ import annotations

from typing import Iterator

import pytest
import requests

from chalicelib.common.config import settings
from chalicelib.platforms.feishu import adapter as feishu
from devkit.simulators.feishu.simulator import FeishuSimulator


@pytest.fixture
def fs_sim() -> Iterator[FeishuSimulator]:
    simulator = FeishuSimulator()
    with simulator.serving():
        yield simulator


def _adapter(sim: FeishuSimulator) -> feishu.Feishu:
    app = sim.app
    return feishu.Feishu("int_fs", feishu.Credentials(
        app_id=app.app_id, app_secret=app.app_secret, verification_token=app.verification_token,
        encrypt_key=app.encrypt_key), feishu.Settings(api_base=sim.api_base, accounts_base=sim.accounts_base))


def test_web_sign_in_exchanges_the_code_at_the_current_oauth_v3_endpoint(fs_sim: FeishuSimulator):
    """authen/v2/oauth/token is deprecated for accounts.feishu.cn/oauth/v3/token (open.feishu.cn "Get
    user_access_token (v2)"): same request, same answer."""
    adapter = _adapter(fs_sim)
    redirect = adapter.urls(settings().public_base_url)["oauth_redirect"]
    fs_sim.app.redirect_urls.append(redirect)
    consent = requests.get(adapter.authorize_url("s1", redirect), params={"sim_user": "liuyang"},
                           allow_redirects=False)
    code = consent.headers["Location"].split("code=")[1].split("&")[0]
    user = adapter.h5_user(code)
    assert (user.user_id, user.name) == (fs_sim.directory.person("liuyang").open_id, "刘洋")
    assert fs_sim.call_count("/accounts/oauth/v3/token") == 1
    assert fs_sim.call_count("/authen/v2/oauth/token") == 0
