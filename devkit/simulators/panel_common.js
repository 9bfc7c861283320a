  // Helpers every simulator panel shares, inlined into each panel's script (it declares root, base, ui, poll;
  // ui.cookie names the cookie that says who "I" am, which the platform's sign-in pages read too).
  function $(role) { return root.querySelector("[data-role=" + role + "]"); }
  function esc(text) {
    return String(text == null ? "" : text).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function linkify(text) {  // the clients turn a bare address in a message into a link, as the apps do
    return esc(text).replace(/https?:\/\/[^\s<]+/g, function (url) { return '<a href="' + url + '" target="_blank">' + url + "</a>"; });
  }
  function markdown(text) {
    return esc(text).replace(/\*\*(.+?)\*\*/g, "<b>$1</b>").replace(/`(.+?)`/g, "<code>$1</code>")
      .replace(/&lt;font color=(?:&#39;|&quot;)?(\w+)(?:&#39;|&quot;)?&gt;(.+?)&lt;\/font&gt;/g, '<span style="color:$1">$2</span>')
      .replace(/!\[(.*?)\]\((https?:[^)\s]+)\)/g, '<img class="picture" style="max-width:100%" alt="$1" src="$2">')
      .replace(/\[(.+?)\]\((https?:[^)\s]+)\)/g, '<a href="$2" target="_blank">$1</a>')
      .replace(/^&gt; ?(.*)(?:\n|$)/gm, '<span style="display:block;border-left:3px solid #dee0e3;padding-left:6px;color:#646a73">$1</span>')
      .replace(/\n/g, "<br>");
  }
  function post(path, body) {
    return fetch(base + "/_sim/" + path, {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body || {})}).then(function (r) { return r.json(); }).then(function (result) {
        $("last").textContent = path + " → " + JSON.stringify(result, null, 1);
        return poll().then(function () { return result; });
      });
  }
  function renderSideCommon(state, rows) {
    $("creds").innerHTML = rows.map(function (r) { return "<tr><td>" + esc(r[0]) + "</td><td>" + esc(r[1]) + "</td></tr>"; }).join("");
    $("deliveries").innerHTML = state.deliveries.slice(-15).reverse().map(function (d) {
      return '<div class="' + (d.ok ? "good" : "bad") + '">' + esc(d.kind + " " + d.label + " · HTTP " + d.status + " · " + d.latencyMs + " ms" +
        (d.late ? " · 超时 LATE" : "") + (d.error ? " · " + d.error : "")) + "</div>";
    }).join("");
    $("rejections").innerHTML = state.rejections.slice(-15).reverse().map(function (r) {
      return '<div class="bad">' + esc(r.api + " → " + r.status + " " + r.code + " (" + r.reason + ")") + "</div>";
    }).join("");
  }
  function cookieUser() {
    var m = document.cookie.match(new RegExp("(?:^|;\\s*)" + ui.cookie + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : null;
  }
  function setViewer(id) {  // cookie shared with the app's host, so its sign-in answers as this person
    ui.viewer = id;
    document.cookie = ui.cookie + "=" + encodeURIComponent(id) + "; path=/; SameSite=Lax";
  }
  function memberNames(ids, users, idOf) {  // a group's members by name, for the chat list
    return "成员 Members: " + ids.map(function (id) {
      var user = users.filter(function (u) { return idOf(u) === id; })[0];
      return user ? user.name : id;
    }).join("、");
  }
  function unchanged(state, parts) {  // skip re-rendering when nothing the page shows has changed
    var shown = Object.assign({}, state);
    delete shown.now;  // the simulator's clock ticks on every poll; no panel shows it
    var snapshot = JSON.stringify([shown].concat(parts));
    if (snapshot === ui.rendered) { return true; }
    ui.rendered = snapshot;
    return false;
  }
  function renderPickers(users, idOf, list) {
    $("viewer").innerHTML = users.map(function (u) {
      return '<option value="' + esc(idOf(u)) + '"' + (idOf(u) === ui.viewer ? " selected" : "") + ">" + esc(u.name + " " + (u.key || u.userid)) + "</option>";
    }).join("");
    $("chats").innerHTML = list.map(function (c) {
      return '<div class="chat' + (c.key === ui.chat ? " on" : "") + '" data-chat="' + esc(c.key) + '"><div class="avatar">' +
        esc((c.avatar || c.title).slice(0, 1)) + "</div><div><div>" + esc(c.title) + '</div><div class="sub">' + esc(c.sub) + "</div></div></div>";
    }).join("");
  }
  function menu(key, summary, items) {  // a card's menu (HTML parts), kept open while the panel re-renders
    return '<details class="menu" data-menu="' + esc(key) + '"' + (ui.menus[key] ? " open" : "") + ">" + summary + items + "</details>";
  }
  function listen(onClick, onAct) {  // choosing a chat is shared; card buttons and toolbar actions are the panel's
    root.addEventListener("click", function (event) {
      var target = event.target.closest("[data-chat],[data-click],[data-act]");
      if (!target) { return; }
      if (target.dataset.chat) { ui.chat = target.dataset.chat; render(); }
      else if (target.dataset.click) { onClick(JSON.parse(target.dataset.click)); }
      else { onAct(target.dataset.act); }
    });
    root.addEventListener("toggle", function (event) {  // toggle does not bubble: listen while it goes down
      if (event.target.dataset.menu) { ui.menus[event.target.dataset.menu] = event.target.open; }
    }, true);
  }
  function start(webHomeKey) {
    $("web-home").value = new URLSearchParams(window.location.search).get("web_home") || localStorage.getItem(webHomeKey) || "";
    poll();
    setInterval(poll, 1000);
  }
  // Custom group robots (robots.py): each robot's group in the chat list when the panel does not list it
  // already, and its messages as the group sees them, @mentions highlighted and listed.
  function robotChats(state, list) {
    var keys = list.map(function (c) { return c.key; });
    (state.robots || []).forEach(function (r) {
      if (keys.indexOf(r.chatKey) < 0) {
        keys.push(r.chatKey);
        list.push({key: r.chatKey, title: r.chatTitle, sub: "内部群 · 群机器人 Group with robots"});
      }
    });
    return list;
  }
  // How a robot message's text shows: markdown, unless the panel knows its platform's own (Feishu's card
  // markdown shows HTML entities as their characters).
  var robotText = markdown;
  function robotMessages(state, key) {
    var html = "";
    (state.robots || []).filter(function (r) { return r.chatKey === key; }).forEach(function (r) {
      var s = r.security, blocked = r.blockedUntil > state.now;
      html += '<div class="sub">🤖 ' + esc(r.name) + " · 关键词 keywords: " + esc(s.keywords.join("、") || "—") +
        " · 加签 signed: " + (s.secret ? "✓" : "—") + " · IP: " + esc(s.ips.join(", ") || "—") +
        (blocked ? ' · <span class="bad">限流中 blocked</span>' : "") + "<br>" + esc(r.webhook) + "</div>";
      r.messages.forEach(function (m) {
        var text = robotText(m.text);
        m.mentions.forEach(function (p) {
          [p.id, p.name].forEach(function (word) {
            text = text.split("@" + esc(word)).join('<b style="color:#3370FF">@' + esc(word) + "</b>");
          });
        });
        html += '<div class="card"><div class="card-body"><div class="sub">🤖 ' + esc(r.name) + " · " + esc(m.msgtype) + "</div>" +
          (m.title ? "<b>" + esc(m.title) + "</b>" : "") + "<div>" + text + "</div>" +
          (m.buttons.length ? '<div class="btns">' + m.buttons.map(function (b) {
            return '<a href="' + esc(b.url) + '" target="_blank">' + esc(b.title) + "</a>";
          }).join(" · ") + "</div>" : "") +
          (m.mentions.length || m.atAll ? '<div class="sub">@ 提醒 Mentioned: ' + (m.atAll ? "所有人 everyone " : "") +
            m.mentions.map(function (p) { return esc(p.name + " (" + p.by + " " + p.id + ")"); }).join("、") + "</div>" : "") +
          "</div></div>";
      });
    });
    return html;
  }
  // Previews (previews.py): the cards dutybridge's preview endpoint built, in a "预览 Preview" conversation,
  // drawn by the panel's own rendering (``draw`` for the app's cards, robotMessages for a robot's) with
  // buttons and links inert, each with what the preview said: its size against the limit and what was cut.
  var PREVIEW_CHAT = "preview";
  function previewChats(state, list) {
    if ((state.previews || []).length) {
      list.push({key: PREVIEW_CHAT, title: "预览 Preview", avatar: "预", sub: "卡片预览，不会发送 Card previews, nothing is sent"});
    }
    return list;
  }
  function previewMessages(state, draw) {
    return state.previews.slice().reverse().map(function (p) {
      var shown = p.shown, html = shown.kind === "robot"
        ? robotMessages({now: state.now, robots: [Object.assign({}, shown.robot, {messages: [shown.message]})]}, shown.robot.chatKey)
        : draw(shown);
      return '<div class="preview" data-preview>' + previewInert(html) + previewLine(p) + "</div>";
    }).join("");
  }
  function previewInert(html) {  // a preview's buttons, menus and links do nothing: there is no such message
    return html.replace(/ data-(click|act)="[^"]*"/g, " disabled").replace(/ href="[^"]*"/g, "");
  }
  function previewLine(p) {
    var cut = p.cut || {}, parts = [esc(p.platform || "?") + (p.to ? " → " + esc(p.to) : "")];
    parts.push(p.size ? "大小 Size " + p.size.value + " / " + p.size.limit + " (" + esc(p.size.of) + ")"
      : "请求体 Body " + p.bytes + " bytes");
    parts.push(p.more ? "<b>" + esc(p.more) + "</b>" : "未截断 Nothing cut");
    var left = [];
    if ((cut.facts || []).length) { left.push("字段 facts: " + esc(cut.facts.join(", "))); }
    if (cut.alerts) { left.push("告警 alerts: " + cut.alerts); }
    if (cut.description) { left.push("描述 description: " + cut.description + " 字 chars"); }
    if (left.length) { parts.push("省略 Left out — " + left.join(" · ")); }
    if (p.template_error) { parts.push('<span class="bad">模板错误 Template error: ' + esc(p.template_error) + "</span>"); }
    return '<div class="meta preview-line">' + parts.join(" · ") + "</div>";
  }
