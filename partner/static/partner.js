// The partner's chat window: asks for news about once a second, appends new messages to the
// log (a polite live region), ends the window when the professional closes the chat, and sends
// with Enter (Shift+Enter: a new line). No inline script anywhere: the CSP is default-src 'self'.
(function () {
  "use strict";

  function nodesOf(html) {
    var template = document.createElement("template");
    template.innerHTML = html; // rendered and escaped by the partner's own templates
    return template.content;
  }

  function startChat(chat) {
    var list = document.getElementById("messages");
    var state = document.getElementById("chat-state");
    var ended = document.getElementById("chat-ended");
    var form = document.getElementById("chat-form");
    var url = chat.getAttribute("data-updates");
    var last = parseInt(chat.getAttribute("data-last") || "0", 10);
    var every = parseInt(chat.getAttribute("data-poll") || "1000", 10);
    var closed = form === null || form.hidden;
    var busy = false;

    function markDelivered(upto) {
      var pending = list.querySelectorAll("li[data-seq] .pending");
      for (var i = 0; i < pending.length; i++) {
        var item = pending[i].closest("li");
        if (parseInt(item.getAttribute("data-seq"), 10) <= upto) {
          pending[i].remove();
        }
      }
    }

    function apply(news) {
      if (news.html && news.html.trim()) {
        var fresh = nodesOf(news.html);
        var items = fresh.querySelectorAll("li[data-seq]");
        for (var i = 0; i < items.length; i++) {
          var seq = parseInt(items[i].getAttribute("data-seq"), 10);
          if (!list.querySelector('li[data-seq="' + seq + '"]')) {
            list.appendChild(items[i]);
          }
        }
        if (items.length) {
          list.lastElementChild.scrollIntoView({ block: "nearest" });
        }
      }
      last = Math.max(last, news.last || 0);
      markDelivered(news.delivered_seq || 0);
      if (state && state.textContent !== news.state) {
        state.textContent = news.state;
        state.classList.toggle("state-failed", !!news.failed);
      }
      if (news.closed && !closed) {
        closed = true;
        ended.replaceChildren(nodesOf(news.ended_html));
        if (form) {
          var hadFocus = form.contains(document.activeElement);
          form.hidden = true;
          if (hadFocus) {
            var heading = ended.querySelector("h2");
            if (heading) {
              heading.setAttribute("tabindex", "-1");
              heading.focus();
            }
          }
        }
      }
    }

    function poll() {
      if (busy) {
        return Promise.resolve();
      }
      busy = true;
      return fetch(url + "?after=" + last, {
        headers: { Accept: "application/json" },
        cache: "no-store",
        credentials: "same-origin",
      })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (news) {
          if (news) {
            apply(news);
          }
        })
        .catch(function () {
          // The partner is restarting or the network is down: the next round tries again.
        })
        .finally(function () {
          busy = false;
        });
    }

    function loop() {
      poll().then(function () {
        if (!closed) {
          window.setTimeout(loop, document.hidden ? every * 5 : every);
        }
      });
    }
    window.setTimeout(loop, every);

    if (!form) {
      return;
    }
    var text = document.getElementById("chat-text");
    var status = document.getElementById("chat-send-status");
    var sending = false;

    text.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (sending) {
        return;
      }
      if (!text.value.trim()) {
        status.textContent = form.getAttribute("data-text-required");
        text.focus();
        return;
      }
      sending = true;
      status.textContent = form.getAttribute("data-sending");
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      })
        .then(function (response) {
          return response.json().catch(function () {
            return { ok: false, message: String(response.status) };
          });
        })
        .then(function (answer) {
          status.textContent = answer.message || "";
          if (answer.ok) {
            text.value = "";
          }
          return poll();
        })
        .catch(function () {
          // Not sent: a plain post shows the page's own answer.
          form.submit();
        })
        .finally(function () {
          sending = false;
          if (!form.hidden) {
            text.focus();
          }
        });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var chat = document.querySelector("[data-chat]");
    if (chat) {
      startChat(chat);
    }
  });
})();
