// The desk's own behaviour: CSRF for htmx, error messages, focus after swaps, dialogs.
// No inline script anywhere (the Content Security Policy forbids it); htmx runs without eval.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function announce(text) {
    var live = document.getElementById("live");
    if (!live) return;
    live.textContent = "";
    // A fresh text node after a tick makes screen readers announce repeated messages too.
    window.setTimeout(function () { live.textContent = text; }, 50);
  }

  function showAlert(text) {
    var box = document.getElementById("alert");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
  }

  function clearAlert() {
    var box = document.getElementById("alert");
    if (box) { box.hidden = true; box.textContent = ""; }
  }

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRFToken"] = csrfToken();
  });

  // A new action makes earlier messages stale: clear them so only the current one is read.
  // (A page's own background refresh is no action: it leaves them.)
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (isBackground(event.detail.elt)) return;
    clearAlert();
    document.querySelectorAll("[data-flash]").forEach(function (flash) { flash.remove(); });
  });

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    var data = document.body.dataset;
    // An expired form is said beside the control that was used (expiredNearby, below).
    if (status === 400 && expiredNearby(event)) return;
    if (status === 400) showAlert(data.expiredText);
    else if (status === 403 || status === 404) showAlert(data.forbiddenText);
    else showAlert(data.errorText);
  });

  document.addEventListener("htmx:sendError", function () {
    showAlert(document.body.dataset.networkText);
  });

  // After an item action, move focus to its message (or the heading) so keyboard and
  // screen-reader users continue from what changed.
  document.addEventListener("htmx:afterSwap", function (event) {
    // Background refreshes (polls, live numbers) never move the reader's focus. (Only the
    // refreshing element itself: a link or form inside it is the person's own action.)
    if (isBackground(event.detail.elt)) return;
    var target = event.detail.target;
    if (!target || !document.body.contains(target)) target = document.getElementById("item");
    if (!target) return;
    var focus = target.querySelector("[data-focus-after-swap]") || target.querySelector("h1");
    if (focus) {
      focus.focus();
      // Back in the field one was writing in (a chat's reply box): the outcome is only said.
      var said = focus.matches("textarea, input") ? target.querySelector("[data-announce]") : focus;
      if (said && focus.hasAttribute("data-focus-after-swap")) announce(said.textContent.trim());
    }
  });

  // "Copy for the client system": the item as text onto the clipboard. Without a clipboard
  // the link opens the text itself, to copy by hand.
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-copy-text]");
    if (!link || !navigator.clipboard || !window.fetch) return;
    event.preventDefault();
    fetch(link.href, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (text) { return navigator.clipboard.writeText(text); })
      .then(function () { announce(link.dataset.copiedText); showCopied(link); })
      .catch(function () { window.location.href = link.href; });
  });

  function showCopied(link) {
    var note = link.parentNode.querySelector("[data-copied]");
    if (!note) {
      note = document.createElement("span");
      note.className = "copied";
      note.setAttribute("data-copied", "");
      link.parentNode.insertBefore(note, link.nextSibling);
    }
    note.textContent = " ✓ " + link.dataset.copiedText;
  }

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-dialog-open]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-dialog-open"));
      if (dialog && opener.hasAttribute("data-template-target")) {
        dialog.setAttribute("data-target", opener.getAttribute("data-template-target"));
      }
      if (dialog && dialog.hasAttribute("data-tour")) {
        openTour(dialog);
      } else if (dialog && typeof dialog.showModal === "function") {
        dialog.showModal();
        var first = dialog.querySelector("select, textarea, input:not([type=hidden])");
        if (first) first.focus();
      }
      return;
    }
    var insert = event.target.closest("[data-insert-template]");
    if (insert) {
      insertTemplate(insert);
      return;
    }
    var closer = event.target.closest("[data-dialog-close]");
    if (closer) {
      var open = closer.closest("dialog");
      if (open) open.close();
    }
  });

  // A dialog's form closes the dialog before htmx swaps the item, so focus is not lost.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var dialog = event.detail.requestConfig && event.detail.requestConfig.elt
      ? event.detail.requestConfig.elt.closest("dialog") : null;
    if (dialog && dialog.open) dialog.close();
  });

  // Keyboard shortcuts for the frequent actions; listed in the help dialog ("?").
  // They never fire while typing in a field or with a modifier key held.
  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable=''], [contenteditable=true]");
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-item-row]"));
  }

  function currentRow() {
    var active = document.activeElement;
    return active ? active.closest("[data-item-row]") : null;
  }

  function moveRow(step) {
    var all = rows();
    if (!all.length) return;
    var index = all.indexOf(currentRow());
    var next = index < 0 ? (step > 0 ? 0 : all.length - 1)
      : Math.min(all.length - 1, Math.max(0, index + step));
    var link = all[next].querySelector("a");
    if (link) link.focus();
  }

  function press(selector) {
    var element = document.querySelector(selector);
    if (!element) return false;
    element.click();
    return true;
  }

  function focusField(selector) {
    var field = document.querySelector(selector);
    if (!field) return false;
    field.scrollIntoView({ block: "center" });
    field.focus();
    return true;
  }

  var shortcuts = {
    "j": function () { moveRow(1); return true; },
    "k": function () { moveRow(-1); return true; },
    "t": function () {
      var row = currentRow();
      if (row) {
        var button = row.querySelector("form button[type=submit]");
        if (button) { button.click(); return true; }
      }
      return press("#item [data-action=take]");
    },
    "n": function () { return press("[data-shortcut=take-next]"); },
    "c": function () { return focusField("#note-text"); },
    "i": function () { return press("[data-shortcut=template]"); },
    "r": function () { return focusField("#resolve-outcome"); },
    "p": function () { return focusField("#call-form [data-call-key='1']"); },
    "m": function () { return press("[data-dialog-open=transfer-dialog]"); },
    "w": function () { return press("[data-shortcut=my-work]"); },
    "/": function () { return focusField("#search-q"); },
    "?": function () {
      var help = document.getElementById("shortcut-help");
      if (help && !help.open) help.showModal();
      return Boolean(help);
    }
  };

  // Recording a call: p goes to the results, and 1–5 there records one (two keystrokes).
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || event.defaultPrevented) return;
    if (typing(event.target) || !event.target.closest || !event.target.closest("#call-form")) return;
    var button = document.querySelector("#call-form [data-call-key='" + event.key + "']");
    if (!button) return;
    event.preventDefault();
    button.click();
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || event.defaultPrevented) return;
    if (typing(event.target) || document.querySelector("dialog[open]")) return;
    var action = shortcuts[event.key];
    if (action && action()) event.preventDefault();
  });

  // A new emergency in one of my queues: a visible alert (role=alert, so it is announced),
  // and a short tone if the professional has switched sound on.
  function myQueues() {
    return (document.body.dataset.myQueues || "").split(" ").filter(Boolean);
  }

  function beep() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    var context = new Context();
    var tone = context.createOscillator();
    tone.frequency.value = 880;
    tone.connect(context.destination);
    tone.start();
    tone.stop(context.currentTime + 0.3);
  }

  function raiseEmergency() {
    var box = document.getElementById("emergency-alert");
    if (!box) return;
    box.hidden = false;
    var text = box.querySelector("[data-text]");
    // Re-setting the text makes screen readers announce a repeated alert again.
    if (text) { var words = text.textContent; text.textContent = ""; text.textContent = words; }
    var sound = document.getElementById("emergency-sound");
    if (sound && sound.checked) beep();
  }

  // --- Live lists and the emergency watch --------------------------------------------------
  // A page's own background requests: the element that refreshes itself or polls.
  function isBackground(elt) {
    return Boolean(elt && elt.nodeType === 1 && elt.hasAttribute("data-background"));
  }

  // A change in some of my queues refreshes the lists that show them ([data-live-queues]), at
  // most once a second each but never dropping the last change of a burst.
  var refreshAt = {};
  function refreshSoon(elt) {
    var key = elt.id;
    if (refreshAt[key] === "pending") return;
    var wait = Math.max(0, (refreshAt[key] || 0) + 1000 - Date.now());
    refreshAt[key] = "pending";
    window.setTimeout(function () {
      refreshAt[key] = Date.now();
      var now = document.getElementById(key);
      // For this region alone: a region inside another ("items I hold" in My work's lists)
      // must not make the outer one fetch too.
      if (now) now.dispatchEvent(new CustomEvent("desk-change", { bubbles: false }));
    }, wait);
  }

  // A live region drawn by an answer whose request began before the latest change it was told
  // of may show the state before that change (the person's own action answered while a
  // delivery failed, say; the refresh that change started went to the region this answer
  // replaced). It refreshes once more, so the last change is never lost: once settled, as
  // htmx listens to a region drawn anew only from then on.
  var notifiedAt = {};
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.xhr) event.detail.xhr.deskStartedAt = Date.now();
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var started = event.detail.xhr ? event.detail.xhr.deskStartedAt : undefined;
    if (started === undefined) return;
    Object.keys(notifiedAt).forEach(function (key) {
      if (notifiedAt[key] < started) return;
      var region = document.getElementById(key);
      if (region && document.body.contains(region)) refreshSoon(region);
    });
  });

  document.addEventListener("htmx:sseMessage", function (event) {
    if (!event.target || event.target.id !== "emergency-watch") return;
    var message;
    try { message = JSON.parse(event.detail.data); } catch (e) { return; }
    var changed = message.queues || [];
    var items = (message.items || []).map(String);
    // Nothing named: the stream was interrupted and is back; whatever changed meanwhile.
    var resync = !changed.length && !items.length;
    document.querySelectorAll("[data-live-queues][id]").forEach(function (list) {
      var shown = (list.getAttribute("data-live-queues") || "").split(" ");
      var hit = resync || changed.some(function (q) { return shown.indexOf(q) >= 0; });
      if (hit) { notifiedAt[list.id] = Date.now(); refreshSoon(list); }
    });
    // A person's own lists ("items I hold"): when a change names the person. (My work's
    // lists of what waits are pushed by the stream instead: see #work-push below.)
    var people = (message.people || []).map(String);
    document.querySelectorAll("[data-live-people][id]").forEach(function (region) {
      if (resync || people.indexOf(region.getAttribute("data-live-people")) >= 0) {
        notifiedAt[region.id] = Date.now();
        refreshSoon(region);
      }
    });
    // An item's conversation: the resident wrote, or a message's state changed.
    document.querySelectorAll("[data-live-item][id]").forEach(function (region) {
      if (resync || items.indexOf(region.getAttribute("data-live-item")) >= 0) {
        notifiedAt[region.id] = Date.now();
        refreshSoon(region);
      }
    });
    var mine = myQueues();
    var emergency = (message.emergencies || []).some(function (q) { return mine.indexOf(q) >= 0; });
    var check = document.getElementById("emergency-check");
    // The stream names queues only: the desk says whether the emergency is mine to see.
    if (check && (emergency || resync)) htmx.trigger(check, "check");
  });

  // When the page's stream opens (a new page, or again after an interruption), the check
  // asks once: an emergency that arrived while this tab had no stream (between two pages,
  // or while the connection was down) is alerted now, not at the next minute's check. The
  // stream listens before it answers, so nothing falls between this check and the stream.
  document.addEventListener("htmx:sseOpen", function (event) {
    if (!event.target || event.target.id !== "live-stream") return;
    var check = document.getElementById("emergency-check");
    if (check) htmx.trigger(check, "check");
  });

  // The emergency check asks from the newest emergency this tab has seen, across the pages
  // it moves between (a page rendered later starts later, and would miss one in between).
  function seenKey(check) { return check.getAttribute("data-seen-key"); }
  function seenSoFar(check) {
    var stored = null;
    try { stored = window.sessionStorage.getItem(seenKey(check)); } catch (e) { /* private */ }
    var n = parseInt(stored === null ? check.getAttribute("data-seen") : stored, 10);
    return isNaN(n) ? 0 : n;
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var check = event.detail.elt;
    if (!check || check.id !== "emergency-check") return;
    event.detail.parameters.seen = String(seenSoFar(check));
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var check = event.detail.elt;
    if (!check || check.id !== "emergency-check" || !event.detail.successful) return;
    var answer;
    try { answer = JSON.parse(event.detail.xhr.responseText); } catch (e) { return; }
    try { window.sessionStorage.setItem(seenKey(check), String(answer.newest)); } catch (e) { /* private */ }
    if (answer.arrived > 0) raiseEmergency();
  });

  // A background refresh must not disturb someone at work in it: while a field in it has
  // focus or a changed value, or a dialog in it is open, it waits for the next round.
  function busy(region) {
    if (region.querySelector("dialog[open]")) return true;
    var active = document.activeElement;
    if (active && region.contains(active) && active.matches("input, select, textarea")) return true;
    return Array.prototype.some.call(region.querySelectorAll("input, select, textarea"), function (f) {
      if (f.type === "hidden") return false;
      if (f.tagName === "SELECT") {
        return Array.prototype.some.call(f.options, function (o) { return o.selected !== o.defaultSelected; });
      }
      if (f.type === "checkbox" || f.type === "radio") return f.checked !== f.defaultChecked;
      return f.value !== f.defaultValue;
    });
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (isBackground(elt) && elt.id !== "emergency-check" && busy(elt)) event.preventDefault();
  });

  // Keep the reader's place: the first row in view stays where it was on the screen (htmx
  // itself puts focus back on the element with the same id), and a changed count of waiting
  // items is announced politely, once.
  function keepPlace(elt) {
    // The element the reader is on, when it is in view; else the first one in view (rows
    // added above it, such as a new emergency or an item taken in another tab, must not
    // push it down). It may be outside the region: "items I hold" is above the waiting list.
    var count = elt.getAttribute("data-count");
    var active = document.activeElement;
    if (active && active.id && active !== document.body) {
      var at = active.getBoundingClientRect();
      if (at.height > 0 && at.top >= 0 && at.bottom <= window.innerHeight) {
        return { region: elt.id, id: active.id, top: at.top, count: count };
      }
    }
    var anchors = (document.getElementById("main") || elt).querySelectorAll("[id]");
    for (var i = 0; i < anchors.length; i += 1) {
      var box = anchors[i].getBoundingClientRect();
      if (box.height > 0 && box.top >= 0) {
        return { region: elt.id, id: anchors[i].id, top: box.top, count: count };
      }
    }
    return { region: elt.id, id: null, top: 0, count: count };
  }

  function restorePlace(kept) {
    if (kept.id) {
      var anchor = document.getElementById(kept.id);
      if (anchor) {
        var moved = anchor.getBoundingClientRect().top - kept.top;
        if (moved) window.scrollBy(0, moved);
      }
    }
    var region = document.getElementById(kept.region);
    if (region && kept.count !== null && region.getAttribute("data-count") !== kept.count) {
      announce(region.getAttribute("data-count-text") || "");
    }
  }

  var place = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var elt = event.detail.elt;
    place = null;
    if (isBackground(elt) && elt.id) place = keepPlace(elt);
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (!place || !isBackground(event.detail.elt)) return;
    var kept = place;
    place = null;
    restorePlace(kept);
  });

  // My work's lists of what waits, pushed by the live stream as they change (rendered once
  // for everyone with the same view): swapped in place of the page's own, keeping focus and
  // the reader's place as a background refresh does. While the reader is busy in the lists
  // the newest push waits, and a refresh of the whole lists that began before the newest
  // push (and so may show less than it) gets it again.
  var pushed = null;
  function applyPushed() {
    var lists = document.getElementById("work-lists");
    if (!pushed || !lists || busy(lists)) return;
    var payload = pushed.payload;
    pushed.applied = true;
    var kept = keepPlace(lists);
    var active = document.activeElement;
    var activeId = active && active.id && lists.contains(active) ? active.id : null;
    ["emergencies", "waiting"].forEach(function (part) {
      var old = document.getElementById("work-" + part);
      if (old && typeof payload[part] === "string") {
        htmx.swap(old, payload[part], { swapStyle: "outerHTML" });
      }
    });
    lists.setAttribute("data-count", String(payload.total));
    lists.setAttribute("data-count-text", payload.count_text || "");
    if (activeId && document.activeElement !== document.getElementById(activeId)) {
      var again = document.getElementById(activeId);
      if (again) again.focus({ preventScroll: true });
    }
    restorePlace(kept);
  }

  // A pushed row that the page has already comes as its name alone (<!--row:NAME-->): it is
  // the row of that name in the last push this page had, or else on the page. Missing one (a
  // push was lost, or the page is older than the push before), the page fetches its lists.
  var pushedRows = {};
  var ROW = /<tr [^>]*data-row="([0-9a-f]+)"[^>]*>[\s\S]*?<\/tr>\n?/g;
  function expandRows(payload) {
    var lists = document.getElementById("work-lists");
    var missing = false;
    var rows = {};
    ["emergencies", "waiting"].forEach(function (part) {
      if (typeof payload[part] !== "string") return;
      payload[part] = payload[part].replace(/<!--row:([0-9a-f]+)-->/g, function (marker, name) {
        var row = pushedRows[name];
        var onPage = !row && lists ? lists.querySelector('tr[data-row="' + name + '"]') : null;
        if (onPage) row = onPage.outerHTML + "\n";
        if (!row) { missing = true; return ""; }
        return row;
      });
      payload[part].replace(ROW, function (row, name) { rows[name] = row; return row; });
    });
    pushedRows = rows;
    return !missing;
  }

  document.addEventListener("htmx:sseMessage", function (event) {
    if (!event.target || event.target.id !== "work-push") return;
    var payload;
    try { payload = JSON.parse(event.detail.data); } catch (e) { return; }
    if (!expandRows(payload)) {
      var lists = document.getElementById("work-lists");
      if (lists) refreshSoon(lists);
      return;
    }
    pushed = { payload: payload, at: Date.now(), applied: false };
    applyPushed();
  });

  document.addEventListener("focusout", function (event) {
    var lists = document.getElementById("work-lists");
    if (pushed && !pushed.applied && lists && lists.contains(event.target)) {
      window.setTimeout(applyPushed, 0);
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var started = event.detail.xhr ? event.detail.xhr.deskStartedAt : undefined;
    if (!pushed || started === undefined || pushed.at < started) return;
    if (event.detail.elt && event.detail.elt.id === "work-lists") applyPushed();
  });

  document.addEventListener("change", function (event) {
    if (event.target.id === "emergency-sound") {
      window.localStorage.setItem("desk-emergency-sound", event.target.checked ? "on" : "off");
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var sound = document.getElementById("emergency-sound");
    if (sound) sound.checked = window.localStorage.getItem("desk-emergency-sound") === "on";
  });

  // Leaving an item page ends my "also looking at this" at once, not after it goes stale.
  function leaveItem() {
    var presence = document.querySelector("[data-presence-leave]");
    if (!presence || !navigator.sendBeacon) return;
    var form = new FormData();
    form.append("csrf_token", csrfToken());
    navigator.sendBeacon(presence.getAttribute("data-presence-leave"), form);
  }
  document.addEventListener("htmx:beforeHistorySave", leaveItem);
  window.addEventListener("pagehide", leaveItem);

  // Response templates: insert the chosen one (already filled from the item) where the
  // cursor is, and count it when the note or resolution is saved.
  function insertTemplate(button) {
    var dialog = button.closest("dialog");
    var field = document.getElementById(dialog.getAttribute("data-target") || "note-text");
    var choice = button.closest("[data-template-choice]");
    if (!field || !choice) return;
    var text = choice.querySelector("[data-template-text]").textContent;
    var start = field.selectionStart || 0;
    var end = field.selectionEnd || 0;
    var before = field.value.slice(0, start);
    var gap = before && !/\s$/.test(before) ? "\n" : "";
    field.value = before + gap + text + field.value.slice(end);
    var ids = field.form.querySelector("input[name=template_ids]");
    if (ids) {
      var list = ids.value ? ids.value.split(",") : [];
      list.push(button.getAttribute("data-insert-template"));
      ids.value = list.join(",");
    }
    dialog.close();
    field.focus();
    // What still needs the writer's hand (a date already past, a value missing) is said too.
    var problems = Array.prototype.map.call(
      choice.querySelectorAll(".template-past, .template-missing"),
      function (problem) { return " " + problem.textContent.trim(); }
    ).join("");
    announce(dialog.getAttribute("data-inserted-text") + problems);
  }

  document.addEventListener("input", function (event) {
    if (!event.target.matches("[data-template-search]")) return;
    var dialog = event.target.closest("dialog");
    var words = event.target.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    dialog.querySelectorAll("[data-template-choice]").forEach(function (choice) {
      var text = choice.textContent.toLowerCase();
      var match = words.every(function (word) { return text.indexOf(word) >= 0; });
      choice.hidden = !match;
      if (match) shown += 1;
    });
    dialog.querySelector("[data-template-none]").hidden = shown > 0;
    var count = dialog.querySelector("[data-template-count]");
    // one template or several (data-count-one / data-count-text: the catalogue's plural forms)
    var words = count.getAttribute(shown === 1 ? "data-count-one" : "data-count-text");
    count.textContent = words.replace("%(num)s", shown);
  });

  // Tours: the real desk's first-day tour and the training space's guided
  // tour are one dialog each (templates/_tour.html). Every step names a control; while the step
  // is shown, the first visible element of its data-tour-target (selectors separated by "||",
  // tried in order) is scrolled into view and outlined, and the dialog moves out of its way.
  // A tour opens by itself until the person closes it once, in any way; the server remembers
  // that (data-tour-seen-url), so it does not come back on another computer.
  var tourClosedHere = false;

  function tourVisible(element) {
    var rect = element.getBoundingClientRect();
    return rect.width > 0 && rect.height > 0 && window.getComputedStyle(element).visibility !== "hidden";
  }

  function tourTarget(step) {
    var selectors = (step.getAttribute("data-tour-target") || "").split("||");
    for (var i = 0; i < selectors.length; i++) {
      var selector = selectors[i].trim();
      if (!selector) continue;
      var found = Array.prototype.filter.call(document.querySelectorAll(selector), tourVisible);
      if (found.length) return found[0];
    }
    return null;
  }

  function tourSteps(dialog) {
    return Array.prototype.slice.call(dialog.querySelectorAll("[data-tour-step]"));
  }

  function clearTourTarget() {
    document.querySelectorAll(".tour-target").forEach(function (element) {
      element.classList.remove("tour-target");
    });
  }

  // Bring the target into the part of the window the dialog leaves free: above the dialog
  // at the bottom, or, where the page cannot scroll that far, below the dialog at the top.
  function placeTour(dialog, target) {
    var gap = 16;
    dialog.classList.remove("tour-top");
    dialog.classList.add("tour-bottom");
    if (!target) return;
    target.scrollIntoView({ block: "nearest", inline: "nearest" });
    var box = dialog.getBoundingClientRect();
    var rect = target.getBoundingClientRect();
    if (rect.top >= gap / 2 && rect.bottom + gap / 2 <= box.top) return;  // in view already
    var free = box.top - gap;
    window.scrollBy({ top: rect.top - Math.max(gap, (free - rect.height) / 2), behavior: "instant" });
    rect = target.getBoundingClientRect();
    if (rect.bottom + gap / 2 <= box.top && rect.top >= 0) return;
    dialog.classList.remove("tour-bottom");
    dialog.classList.add("tour-top");
    box = dialog.getBoundingClientRect();
    free = window.innerHeight - box.bottom - gap;
    window.scrollBy({
      top: rect.top - box.bottom - Math.max(gap, (free - rect.height) / 2),
      behavior: "instant"
    });
  }

  function showTourStep(dialog, index, moveFocus) {
    var steps = tourSteps(dialog);
    index = Math.max(0, Math.min(steps.length - 1, index));
    steps.forEach(function (step, i) { step.hidden = i !== index; });
    dialog.setAttribute("aria-describedby", steps[index].querySelector("p").id);
    var last = index === steps.length - 1;
    dialog.querySelector("[data-tour-move='-1']").disabled = index === 0;
    dialog.querySelector("[data-tour-move='1']").hidden = last;
    dialog.querySelector("[data-tour-finish]").hidden = !last;
    clearTourTarget();
    var target = tourTarget(steps[index]);
    if (target) target.classList.add("tour-target");
    placeTour(dialog, target);
    if (moveFocus) steps[index].querySelector("h3").focus();
  }

  function openTour(dialog) {
    if (typeof dialog.showModal !== "function" || dialog.open) return;
    dialog.showModal();
    showTourStep(dialog, 0, false);
    dialog.querySelector("[data-tour-move='1']").focus();
  }

  function currentTourStep(dialog) {
    return tourSteps(dialog).findIndex(function (step) { return !step.hidden; });
  }

  document.addEventListener("click", function (event) {
    var move = event.target.closest("[data-tour-move]");
    if (!move) return;
    var dialog = move.closest("dialog");
    showTourStep(dialog, currentTourStep(dialog) + parseInt(move.getAttribute("data-tour-move"), 10), true);
  });

  // "close" does not bubble: listened to on the way down.
  document.addEventListener("close", function (event) {
    var dialog = event.target;
    if (!dialog.matches || !dialog.matches("dialog[data-tour]")) return;
    clearTourTarget();
    dialog.classList.remove("tour-top", "tour-bottom");
    if (!dialog.hasAttribute("data-tour-opens")) return;
    dialog.removeAttribute("data-tour-opens");
    tourClosedHere = true;
    fetch(dialog.getAttribute("data-tour-seen-url"), {
      method: "POST", credentials: "same-origin", keepalive: true,
      headers: { "X-CSRFToken": csrfToken() }
    }).catch(function () { /* it opens once more next time */ });
  }, true);

  window.addEventListener("resize", function () {
    var dialog = document.querySelector("dialog[data-tour][open]");
    if (dialog) placeTour(dialog, document.querySelector(".tour-target"));
  });

  function openTourOnFirstVisit() {
    var dialog = document.querySelector("dialog[data-tour][data-tour-opens]");
    if (dialog && !tourClosedHere && !document.querySelector("dialog[open]")) openTour(dialog);
  }
  document.addEventListener("DOMContentLoaded", openTourOnFirstVisit);
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target === document.body) openTourOnFirstVisit();
  });

  // ---- Drafts, Ctrl+Enter, and an ended session said where the user is -----------------

  // Drafts of notes, summaries and reasons (textareas with data-draft) are kept in this tab's
  // sessionStorage until the text is sent: a reload, a sign-in after the session ended or an
  // expired form loses nothing. They may hold residents' health information, so they live only
  // as long as the tab (never in localStorage, which outlives the browser), are keyed by the
  // person (data-draft-owner), are deleted when someone else opens an item in this tab or when
  // the person signs out, and are dropped after DRAFT_HOURS in any case.
  var DRAFTS = "desk-draft:";
  var DRAFT_HOURS = 12;
  var signingOut = false;

  function drafts() {
    try { return window.sessionStorage; } catch (e) { return null; }
  }

  function draftKey(field) {
    var owner = field.closest("[data-draft-owner]");
    if (!owner) return null;
    return DRAFTS + owner.getAttribute("data-draft-owner") + ":" + field.getAttribute("data-draft");
  }

  function saveDraft(field) {
    var store = drafts();
    var key = draftKey(field);
    if (!store || !key || signingOut) return;
    if (field.value.trim()) store.setItem(key, JSON.stringify({ text: field.value, at: Date.now() }));
    else store.removeItem(key);
  }

  // Before a request and when the page goes: what is typed is kept, and an empty field removes
  // nothing. A field just drawn again is empty until its draft is restored, and a refresh of
  // its own (presence, the conversation) may start in that moment; a draft the person cleared
  // was removed as they cleared it (input).
  function saveAllDrafts() {
    document.querySelectorAll("[data-draft]").forEach(function (field) {
      if (field.value.trim()) saveDraft(field);
    });
  }

  function forgetDrafts(root) {
    var store = drafts();
    if (!store || !root || !root.querySelectorAll) return;
    root.querySelectorAll("[data-draft]").forEach(function (field) {
      var key = draftKey(field);
      if (key) store.removeItem(key);
    });
  }

  // Every draft except the given person's recent ones (owner null: all of them).
  function forgetOtherDrafts(owner) {
    var store = drafts();
    if (!store) return;
    var oldest = Date.now() - DRAFT_HOURS * 3600 * 1000;
    for (var i = store.length - 1; i >= 0; i -= 1) {
      var key = store.key(i);
      if (!key || key.indexOf(DRAFTS) !== 0) continue;
      var kept = null;
      try { kept = JSON.parse(store.getItem(key)); } catch (e) { kept = null; }
      var mine = owner !== null && key.indexOf(DRAFTS + owner + ":") === 0;
      if (!mine || !kept || !(kept.at > oldest)) store.removeItem(key);
    }
  }

  function restoreDrafts() {
    var store = drafts();
    var owner = document.querySelector("[data-draft-owner]");
    if (!store || !owner) return;
    forgetOtherDrafts(owner.getAttribute("data-draft-owner"));
    document.querySelectorAll("[data-draft]").forEach(function (field) {
      if (field.value) return;  // what the server gave back (a refused action) comes first
      var key = draftKey(field);
      var kept = null;
      try { kept = key && JSON.parse(store.getItem(key)); } catch (e) { kept = null; }
      if (kept && kept.text) field.value = kept.text;
    });
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("[data-draft]")) saveDraft(event.target);
  });
  document.addEventListener("htmx:beforeRequest", saveAllDrafts);
  window.addEventListener("pagehide", saveAllDrafts);
  document.addEventListener("DOMContentLoaded", restoreDrafts);
  document.addEventListener("htmx:afterSwap", restoreDrafts);
  document.addEventListener("htmx:afterSettle", restoreDrafts);

  // Sent and accepted: that form's drafts are done with. A refusal (409) keeps them.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var elt = event.detail.requestConfig ? event.detail.requestConfig.elt : null;
    if (status >= 200 && status < 300 && elt && elt.tagName === "FORM") forgetDrafts(elt);
  });

  // Signing out leaves nothing of what was being written in this tab.
  document.addEventListener("submit", function (event) {
    if (!event.target.matches || !event.target.matches("[data-sign-out]")) return;
    signingOut = true;
    forgetOtherDrafts(null);
  }, true);

  // In a chat, Enter sends the reply (data-enter-sends) and Shift+Enter starts a new line; an
  // input method still composing a word keeps its Enter.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.shiftKey || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.isComposing || !event.target.matches || !event.target.matches("[data-enter-sends]")) return;
    var form = event.target.form;
    if (!form) return;
    event.preventDefault();
    if (!event.target.value.trim()) return;
    var send = form.querySelector("button[value=send]");
    if (typeof form.requestSubmit === "function") form.requestSubmit(send || undefined);
    else if (send) send.click();
  });

  // The conversation refreshed by itself with the item in the same state (only the resident
  // wrote more): the page's forms act on what is now shown, so they carry its version. If the
  // state or the response target changed with it (the resident's answer brought the item back
  // from waiting, or a chat's resident now waits for an answer), the whole item is drawn again,
  // so its state, "answer by", actions and timeline are true; what was being typed is kept
  // (drafts) and so is the focus.
  document.addEventListener("htmx:afterSwap", function (event) {
    var elt = event.detail.elt;
    if (!elt || elt.id !== "conversation") return;
    var region = document.getElementById("conversation");
    if (!region) return;
    var item = document.getElementById("item");
    var shown = item ? item.querySelector(".status") : null;
    if (!item || !shown) return;
    if (!shown.classList.contains("status-" + region.getAttribute("data-status")) ||
        item.getAttribute("data-answer-by") !== region.getAttribute("data-answer-by")) {
      redrawItem(item);
      return;
    }
    item.querySelectorAll("input[name=version]").forEach(function (input) {
      input.value = region.getAttribute("data-version");
    });
  });

  // The item's own forms (send, take, resolve…) answer with the whole item drawn again. While
  // one is on its way, a redraw started by the conversation would race it: drawn after the
  // answer, it could bring back what was just sent as a draft, or drawn first, leave the answer
  // without a place to go. So a redraw waits for no write: none starts while one is on its way,
  // and one that a write overtook is not drawn (the write's answer is the newer item).
  var itemWrites = 0;
  var itemWriting = 0;
  function itemWrite(event) {
    // The form that asked (detail.elt is the ancestor told instead once the form is replaced).
    var elt = event.detail.requestConfig ? event.detail.requestConfig.elt : null;
    return elt && elt.tagName === "FORM" && elt.closest && elt.closest("#item");
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!itemWrite(event)) return;
    itemWrites += 1;
    itemWriting += 1;
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (itemWrite(event)) itemWriting = Math.max(0, itemWriting - 1);
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    var headers = event.detail.requestConfig ? event.detail.requestConfig.headers : null;
    var since = headers ? headers["X-Desk-Redraw"] : undefined;
    if (since !== undefined && since !== String(itemWrites)) event.detail.shouldSwap = false;
  });

  function redrawItem(item) {
    if (itemWriting > 0) return;
    var active = document.activeElement;
    var focused = active && active.id && item.contains(active) ? active.id : null;
    var caret = focused && typeof active.selectionStart === "number"
      ? [active.selectionStart, active.selectionEnd] : null;
    htmx.ajax("GET", window.location.pathname, {
      source: "#conversation", target: "#item", swap: "outerHTML",
      headers: { "X-Desk-Redraw": String(itemWrites) }
    }).then(function () {
      var again = focused ? document.getElementById(focused) : null;
      if (!again) return;
      again.focus();
      if (caret && again.setSelectionRange) {
        try { again.setSelectionRange(caret[0], caret[1]); } catch (e) { /* not a text field */ }
      }
    });
  }

  // Ctrl+Enter (Cmd+Enter on a Mac) sends the form of a text area with data-submit-shortcut:
  // the note, the resolution's summary, the transfer's reason, and later replies.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey) || event.altKey || event.shiftKey) return;
    var field = event.target.closest ? event.target.closest("[data-submit-shortcut]") : null;
    if (!field || !field.form) return;
    event.preventDefault();
    if (typeof field.form.requestSubmit === "function") {
      field.form.requestSubmit();
    } else {
      var submit = field.form.querySelector("[type=submit]");
      if (submit) submit.click();
    }
  });

  // The action bar's "Write a note" and "Resolve…" go to the field itself, not just its form.
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-focus-field]");
    if (!link) return;
    var field = document.getElementById(link.getAttribute("data-focus-field"));
    if (!field) return;
    event.preventDefault();
    field.scrollIntoView({ block: "center" });
    field.focus();
  });

  // A message beside the control that was used, focused and announced (role=alert), instead
  // of at the top of a page the user has scrolled away from. One at a time.
  function clearNearAlerts() {
    document.querySelectorAll("[data-near-alert-box]").forEach(function (box) { box.remove(); });
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    // A page's own refreshes leave the message where it is.
    var elt = event.detail.elt;
    if (elt && elt.closest && !elt.closest("[data-background]")) clearNearAlerts();
  });

  function typedSomething() {
    return Array.prototype.some.call(document.querySelectorAll("[data-draft]"), function (field) {
      return field.value.trim() !== "";
    });
  }

  function nearAlert(elt, text, linkText, href) {
    if (!elt || !document.body.contains(elt) || !text || !linkText) return false;
    var host = elt.closest("[data-near-alert]") || elt.closest("form") || elt;
    clearNearAlerts();
    var box = document.createElement("p");
    box.className = "alert alert-error near-alert";
    box.setAttribute("role", "alert");
    box.setAttribute("tabindex", "-1");
    box.setAttribute("data-near-alert-box", "");
    box.appendChild(document.createTextNode(text + " "));
    var link = document.createElement("a");
    link.href = href;  // not processed by htmx: a whole-page load
    link.textContent = linkText;
    box.appendChild(link);
    var kept = document.body.dataset.draftKeptText;
    if (kept && typedSomething()) box.appendChild(document.createTextNode(" " + kept));
    host.appendChild(box);
    box.focus();
    return true;
  }

  // The element of an action the user took (a POST), or null for a page's GETs and polls.
  function userAction(detail) {
    var config = detail.requestConfig || {};
    var elt = config.elt || detail.elt;
    if (!elt || !elt.closest || elt.closest("[data-background]")) return null;
    return String(config.verb || "get").toLowerCase() === "get" ? null : elt;
  }

  // The session ended (signed out elsewhere, idle or too long): the server answers 401 with
  // HX-Redirect to the sign-in page. A page's own polls and links go there (drafts are kept);
  // an action the user has just taken says so beside it, with the way to sign in and come back.
  document.addEventListener("htmx:beforeOnLoad", function (event) {
    var xhr = event.detail.xhr;
    if (!xhr || xhr.status !== 401) return;
    var signIn = xhr.getResponseHeader("HX-Redirect");
    var elt = userAction(event.detail);
    if (!signIn || !elt) return;
    saveAllDrafts();
    var data = document.body.dataset;
    if (nearAlert(elt, data.sessionEndedText, data.signInAgainText, signIn)) event.preventDefault();
  });

  // An expired form (400) while still signed in: the same, with a reload that keeps the drafts.
  function expiredNearby(event) {
    var elt = userAction(event.detail);
    if (!elt) return false;
    saveAllDrafts();
    var data = document.body.dataset;
    return nearAlert(elt, data.expiredNearText, data.reloadText, window.location.href);
  }
  // A table or chart wider than a narrow window scrolls inside its own box (desk.css): such a
  // box can be reached and scrolled by keyboard, and is named by its table's caption or its
  // chart's title.
  var SCROLL_BOXES = ".table-scroll, .chart-scroll, table.list, table.situation, table.matrix";
  function scrollBoxes() {
    document.querySelectorAll(SCROLL_BOXES).forEach(function (box) {
      if (window.getComputedStyle(box).overflowX !== "auto") return;
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("data-scroll-box", "");
        var caption = box.querySelector("caption") || box.querySelector("svg > title");
        if (box.tagName !== "TABLE" && caption && caption.textContent.trim()) {
          box.setAttribute("role", "region");
          box.setAttribute("aria-label", caption.textContent.trim());
        }
      } else if (!scrolls && box.hasAttribute("data-scroll-box")) {
        ["tabindex", "data-scroll-box", "role", "aria-label"].forEach(function (name) {
          box.removeAttribute(name);
        });
      }
    });
  }
  var scrollBoxesLater = null;
  function scrollBoxesSoon() {
    window.clearTimeout(scrollBoxesLater);
    scrollBoxesLater = window.setTimeout(scrollBoxes, 100);
  }
  // The item's action bar stays at the top of a tall enough window (desk.css): what scrolls
  // into view for focus or a jump stops below it, however many lines its buttons take.
  function clearOfActionBar() {
    var bar = document.querySelector(".action-bar");
    var root = document.documentElement;
    if (bar && window.getComputedStyle(bar).position === "sticky") {
      root.style.scrollPaddingTop = (bar.getBoundingClientRect().height + 16) + "px";
    } else {
      root.style.removeProperty("scroll-padding-top");
    }
  }
  document.addEventListener("DOMContentLoaded", clearOfActionBar);
  document.addEventListener("htmx:afterSettle", clearOfActionBar);
  window.addEventListener("resize", clearOfActionBar);

  document.addEventListener("DOMContentLoaded", scrollBoxes);
  document.addEventListener("htmx:afterSettle", scrollBoxesSoon);
  window.addEventListener("resize", scrollBoxesSoon);
  // ---- end of drafts and the ended session ----

  // The printable targets page: its button prints (a script, since inline handlers are refused).
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) window.print();
  });
})();
