/* DingTalk JSAPI shim served by the simulator at /dingtalk/jsapi.js.
 *
 * Lets an H5 page that expects to run inside the DingTalk client run in a plain browser:
 * dd.requestAuthCode({corpId, clientId, onSuccess, onFail}) (also success/fail, and a Promise)
 * asks the simulator for a single-use authCode for the user named by ?dd_sim_user=<userId> in the
 * page URL, remembered in a dd_sim_user cookie so later navigations keep the identity.
 * The result has DingTalk's shape: {code: "<authCode>"}; failures: {errorCode, errorMessage}.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script ? script.src.replace(/\/jsapi\.js(\?.*)?$/, "") : "/dingtalk";

  function simUser() {
    var fromQuery = new URLSearchParams(window.location.search).get("dd_sim_user");
    if (fromQuery) {
      document.cookie = "dd_sim_user=" + encodeURIComponent(fromQuery) + "; path=/; SameSite=Lax";
      return fromQuery;
    }
    var match = document.cookie.match(/(?:^|;\s*)dd_sim_user=([^;]*)/);
    return match ? decodeURIComponent(match[1]) : null;
  }

  function fetchCode(options) {
    var userId = simUser();
    if (!userId) {
      return Promise.reject({errorCode: "3", errorMessage: "no dd_sim_user in the page URL or cookie"});
    }
    return fetch(base + "/_sim/open-app", {
      method: "POST",
      headers: {"Content-Type": "text/plain"},  // a simple request: no CORS preflight needed
      body: JSON.stringify({userId: userId, corpId: options.corpId, clientId: options.clientId})
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!body.ok) { throw {errorCode: String(response.status), errorMessage: body.error}; }
        return {code: body.authCode};
      });
    });
  }

  function requestAuthCode(options) {
    options = options || {};
    var done = options.onSuccess || options.success;
    var failed = options.onFail || options.fail;
    var promise = fetchCode(options);
    promise.then(function (result) { if (done) { done(result); } },
                 function (error) { if (failed) { failed(error); } });
    return promise;
  }

  var dd = window.dd || {};
  dd.requestAuthCode = requestAuthCode;
  dd.runtime = dd.runtime || {};
  dd.runtime.permission = {requestAuthCode: requestAuthCode};
  dd.ready = function (callback) { callback(); };
  dd.error = function () {};
  dd.env = {platform: "notInDingTalk", simulated: true};
  window.dd = dd;
})();
