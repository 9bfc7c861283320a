// Signs the user in through the platform's client API, then links their account.
const statusLine = document.getElementById("status");
const linkForm = document.getElementById("link");
const say = (text) => { statusLine.textContent = text; };

async function post(path, body) {
  const response = await fetch(`/app/${DB.integration}/${path}`, {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  return [response.ok, await response.json()];
}

function show([ok, answer]) {
  if (ok && answer.member && answer.next && answer.next !== location.pathname) { location.assign(answer.next); return; }
  if (ok && answer.member) { say(`已关联 ${answer.member.name}（${answer.user.name}）· Linked as ${answer.member.name}`); linkForm.hidden = true; return; }
  if (ok) { say(`您好 ${answer.user.name}：未找到对应的值班成员，请输入登记的手机号完成关联。(No member matched, enter your mobile.)`); linkForm.hidden = false; return; }
  say(`登录失败 (sign-in failed): ${answer.message}`);
}

linkForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  show(await post("link", {mobile: new FormData(linkForm).get("mobile")}));
});

function dingtalkCode() {
  return new Promise((resolve, reject) => {
    if (!window.dd) { reject(new Error("请在钉钉内打开 (open this page inside DingTalk)")); return; }
    dd.requestAuthCode({corpId: DB.corp_id, clientId: DB.client_id,
      onSuccess: (r) => resolve(r.code || r.authCode), onFail: (e) => reject(new Error(JSON.stringify(e)))});
  });
}

const codeSources = {dingtalk: dingtalkCode};
if (DB.who) {
  show([true, {...DB.who, next: null}]);
} else {
  (codeSources[DB.platform] || (() => Promise.reject(new Error("unsupported platform"))))()
    .then(async (code) => show(await post("login", {code, next: DB.next})))
    .catch((error) => say(`登录失败 (sign-in failed): ${error.message}`));
}
