// The web app's one script. The server renders every page; this only signs the person in inside
// the DingTalk client (JSAPI 免登) and sends the linking form and the incident buttons, reloading
// the page afterwards so the server shows the result.
const page = JSON.parse(document.getElementById("page-config").textContent);
const statusLine = document.getElementById("status");
const say = (text) => { statusLine.textContent = text; };
const SIGNED_IN_AT = "dutybridgeSignedInAt";

async function post(path, body) {
  const response = await fetch(path, {method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  const answer = await response.json().catch(() => ({}));
  return [response.ok, answer];
}

function dingtalkCode() {
  return new Promise((resolve, reject) => {
    if (!window.dd) { reject(new Error(page.text.open_in_client)); return; }
    dd.requestAuthCode({corpId: page.corp_id, clientId: page.client_id,
      onSuccess: (r) => resolve(r.code || r.authCode), onFail: (e) => reject(new Error(JSON.stringify(e)))});
  });
}

const codeSources = {dingtalk: dingtalkCode};

async function signIn() {
  // Coming back here unsigned right after signing in means the cookie was not kept: stop, don't loop.
  const lastSignIn = Number(sessionStorage.getItem(SIGNED_IN_AT) || 0);
  if (Date.now() - lastSignIn < 15000) { say(page.text.cookies_blocked); return; }
  try {
    const source = codeSources[page.platform];
    if (!source) { throw new Error(page.text.open_in_client); }
    const [ok, answer] = await post(`${page.home}/login`, {code: await source(), next: page.back});
    if (!ok) { throw new Error(answer.message || page.text.failed); }
    sessionStorage.setItem(SIGNED_IN_AT, String(Date.now()));
    location.replace(answer.next);
  } catch (error) {
    say(`${page.text.signin_failed}: ${error.message}`);
  }
}

async function send(path, body, control) {
  control.disabled = true;
  const [ok, answer] = await post(path, body);
  if (ok) { location.reload(); return; }
  say(answer.message || page.text.failed);
  control.disabled = false;
}

if (page.signin) {
  signIn();
} else {
  sessionStorage.removeItem(SIGNED_IN_AT);
}

const linkForm = document.getElementById("link");
if (linkForm) {
  linkForm.addEventListener("submit", (event) => {
    event.preventDefault();
    send(`${page.home}/link`, {mobile: new FormData(linkForm).get("mobile")}, linkForm.querySelector("button"));
  });
}

document.querySelectorAll("button[data-action]").forEach((button) => {
  button.addEventListener("click", () => send(page.actions, {action: button.dataset.action,
    minutes: button.dataset.minutes ? Number(button.dataset.minutes) : null}, button));
});

const warRoom = document.getElementById("war-room");
if (warRoom) {
  warRoom.addEventListener("click", () => send(page.war_room, {}, warRoom));
}
