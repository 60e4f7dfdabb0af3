/* Video portal pages: live status, the submit form's summary, quote and uploads, and small helpers.
   Plain JavaScript, no dependencies; every feature starts from data-* attributes in the markup
   and the pages keep working without it. */
(function () {
  "use strict";

  var POLL_MS = 2000;
  var MAX_BACKOFF_MS = 30000;

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  function csrfToken(root) {
    var input = $("input[name=csrfmiddlewaretoken]", root) || $("input[name=csrfmiddlewaretoken]");
    if (input) { return input.value; }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  /* ------------------------------------------------------------------ small helpers */

  // A select that submits its form when a choice is made. With the keyboard, arrow keys
  // only browse the options; Enter (or leaving the field) confirms the choice.
  function autoSubmit(select) {
    var initial = select.value;
    var byKeyboard = false;
    function go() {
      if (select.value === initial) { return; }
      // requestSubmit fires the submit event (listeners such as the draft keeper run); submit() would not.
      if (select.form.requestSubmit) { select.form.requestSubmit(); } else { select.form.submit(); }
    }
    select.addEventListener("keydown", function (event) {
      byKeyboard = true;
      if (event.key === "Enter") { event.preventDefault(); go(); }
    });
    select.addEventListener("mousedown", function () { byKeyboard = false; });
    select.addEventListener("change", function () { if (!byKeyboard) { go(); } });
    select.addEventListener("blur", function () { if (byKeyboard) { go(); } });
  }

  function initHelpers() {
    $all("form[data-autosubmit] select").forEach(autoSubmit);
    $all("select[data-autosubmit-select]").forEach(autoSubmit);
    $all("[data-hide-with-js]").forEach(function (el) { el.hidden = true; });
    $all("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
    $all("[data-select-on-focus]").forEach(function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });
    $all("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var target = $(button.getAttribute("data-copy"));
        if (!target) { return; }
        var done = function () {
          var label = button.textContent;
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = label; }, 1600);
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(target.value).then(done, function () { target.select(); });
        } else {
          target.select();
          try { document.execCommand("copy"); done(); } catch (e) { /* the text stays selected */ }
        }
      });
    });
  }

  /* ------------------------------------------------------------------ live status */

  function updateItem(el, item) {
    el.setAttribute("data-active", item.active ? "1" : "0");
    el.classList.toggle("is-active", !!item.active);
    $all("[data-status-badge]", el).forEach(function (badge) {
      badge.textContent = item.status_label;
      badge.className = "gmi-badge gmi-badge--" + item.status;
    });
    $all("[data-queue-position]", el).forEach(function (pos) {
      pos.hidden = !item.queue_position;
      pos.textContent = item.queue_position ? "#" + item.queue_position + " in line" : "";
    });
    $all("[data-error]", el).forEach(function (err) {
      var show = item.status === "failed" && !!item.error;
      err.hidden = !show;
      err.textContent = show ? item.error : "";
    });
    // A card that just finished becomes playable in place (hover preview, lightbox).
    var media = $("a.gmi-gen__media", el);
    if (media && item.video_url && !media.hasAttribute("data-video")) {
      media.setAttribute("data-video", item.video_url);
      if (item.thumbnail_url) { media.setAttribute("data-poster", item.thumbnail_url); }
      if (item.title) { media.setAttribute("data-title", item.title); }
    }
    var placeholder = $("[data-placeholder]", el);
    if (placeholder) {
      var text = $("[data-placeholder-text]", placeholder);
      if (text) { text.textContent = item.status === "succeeded" ? "No preview" : item.status_label; }
      if (!item.active) { $all(".gmi-spinner", placeholder).forEach(function (s) { s.remove(); }); }
      if (item.thumbnail_url) {
        var img = document.createElement("img");
        img.src = item.thumbnail_url;
        img.alt = "";
        img.width = 320;
        img.height = 180;
        img.setAttribute("data-thumbnail", "");
        placeholder.replaceWith(img);
      }
    }
  }

  function initStatusPolling() {
    $all("[data-status-poll]").forEach(function (container) {
      var url = container.getAttribute("data-status-poll");
      var reloadWhenDone = container.hasAttribute("data-reload-when-done");
      var delay = POLL_MS;
      var timer = null;

      function items() {
        var found = $all("[data-generation-id]", container);
        if (container.hasAttribute("data-generation-id")) { found.unshift(container); }
        return found;
      }
      function activeItems() {
        return items().filter(function (el) { return el.getAttribute("data-active") === "1"; });
      }
      function schedule() {
        clearTimeout(timer);
        if (activeItems().length && !document.hidden) { timer = setTimeout(poll, delay); }
      }
      function poll() {
        var active = activeItems();
        if (!active.length) { return; }
        var byId = {};
        active.forEach(function (el) { byId[el.getAttribute("data-generation-id")] = el; });
        var query = url + (url.indexOf("?") < 0 ? "?" : "&") + "ids=" + encodeURIComponent(Object.keys(byId).join(","));
        fetch(query, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (response) {
            if (!response.ok || (response.headers.get("Content-Type") || "").indexOf("json") < 0) {
              throw new Error("status " + response.status);
            }
            return response.json();
          })
          .then(function (data) {
            delay = POLL_MS;
            (data.items || []).forEach(function (item) {
              var el = byId[item.id];
              if (!el) { return; }
              var wasActive = el.getAttribute("data-active") === "1";
              updateItem(el, item);
              if (wasActive && !item.active && reloadWhenDone && el === container) {
                window.location.reload();
              }
            });
            schedule();
          })
          .catch(function () {
            delay = Math.min(delay * 2, MAX_BACKOFF_MS);
            schedule();
          });
      }
      document.addEventListener("visibilitychange", function () {
        if (!document.hidden) { delay = POLL_MS; schedule(); }
      });
      schedule();
    });
  }

  /* ------------------------------------------------------------------ submit form */

  function toNumber(text, integer) {
    var trimmed = text.trim();
    if (/^[+-]?\d+$/.test(trimmed)) { return parseInt(trimmed, 10); }
    if (trimmed === "" || isNaN(Number(trimmed))) { return trimmed; }
    var n = Number(trimmed);
    return integer && Math.floor(n) === n ? Math.trunc(n) : n;
  }

  function splitCsv(text) {
    return text.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
  }

  /* Mirrors ParameterForm.payload() on the server: blank values are left out. */
  function readControl(control) {
    var kind = control.getAttribute("data-kind");
    if (kind === "boolean") { return { set: true, value: control.checked }; }
    if (kind === "select-multiple") {
      var picked = Array.prototype.filter.call(control.options, function (o) { return o.selected; })
        .map(function (o) { return JSON.parse(o.value); });
      return picked.length ? { set: true, value: picked } : { set: false };
    }
    var text = control.value == null ? "" : String(control.value);
    if (kind === "select") { return text ? { set: true, value: JSON.parse(text) } : { set: false }; }
    if (!text.trim()) { return { set: false }; }
    switch (kind) {
      case "integer": return { set: true, value: toNumber(text, true) };
      case "number": return { set: true, value: toNumber(text, false) };
      case "url": return { set: true, value: text.trim() };
      case "url-list": return { set: true, value: text.split(/\s+/).filter(Boolean) };
      case "text-list":
        return { set: true, value: text.split(/\r?\n/).map(function (s) { return s.trim(); }).filter(Boolean) };
      case "text-csv": case "boolean-list": return { set: true, value: splitCsv(text) };
      case "integer-list": return { set: true, value: splitCsv(text).map(function (s) { return toNumber(s, true); }) };
      case "number-list": return { set: true, value: splitCsv(text).map(function (s) { return toNumber(s, false); }) };
      case "unknown":
        var t = text.trim();
        if (t.charAt(0) === "{" || t.charAt(0) === "[") {
          try { return { set: true, value: JSON.parse(t) }; } catch (e) { /* sent as typed */ }
        }
        return { set: true, value: text };
      default: return { set: true, value: text };
    }
  }

  function buildBody(form) {
    var payload = {};
    var problem = null;
    $all("[data-kind='payload-json']", form).forEach(function (area) {
      var text = area.value.trim();
      if (!text) { return; }
      try {
        var extra = JSON.parse(text);
        if (extra && typeof extra === "object" && !Array.isArray(extra)) { Object.assign(payload, extra); }
        else { problem = "Other parameters must be a JSON object."; }
      } catch (e) { problem = "Other parameters are not valid JSON yet."; }
    });
    $all("[data-param]", form).forEach(function (control) {
      var read = readControl(control);
      if (read.set) { payload[control.getAttribute("data-param")] = read.value; }
    });
    var team = form.elements.namedItem("team");
    var teamValue = team ? team.value : "";
    var visibility = "private";
    var radios = $all("input[name=visibility]", form);
    if (radios.length) {
      radios.forEach(function (r) { if (r.checked) { visibility = r.value; } });
    } else if (form.elements.namedItem("visibility")) {
      visibility = form.elements.namedItem("visibility").value || "private";
    }
    return {
      body: { model: form.getAttribute("data-model"), payload: payload, team: teamValue || null, visibility: visibility },
      problem: problem,
    };
  }

  var LIMIT_LABELS = {
    daily_jobs: "daily jobs", concurrent_jobs: "jobs at once",
    monthly_video_seconds: "monthly seconds of video", monthly_credits: "monthly credits",
  };

  function fmt(n) {
    if (n === null || n === undefined) { return "—"; }
    var num = Number(n);
    return Math.round(num) === num ? num.toLocaleString() : num.toLocaleString(undefined, { maximumFractionDigits: 2 });
  }

  function when(iso) {
    if (!iso) { return ""; }
    var d = new Date(iso);
    // The pages' one format (time.js), in the member's own time zone.
    return isNaN(d) ? iso : d.toLocaleString(undefined, {
      day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
  }

  function labelFor(form, name) {
    var control = $("[data-param='" + (window.CSS && CSS.escape ? CSS.escape(name) : name) + "']", form);
    if (control && control.id) {
      var label = $("label[for='" + control.id + "']", form);
      if (label) { return label.textContent.replace("*", "").replace("(required)", "").trim(); }
    }
    return name;
  }

  function describeQuote(form, status, data) {
    if (status === 200 && data && typeof data.accepted === "boolean") {
      var usage = data.usage || {};
      var limits = usage.limits || {};
      var remaining = usage.remaining || {};
      var cost = Number(data.credits) ? "This job costs " + fmt(data.credits) + " credits" : "This job costs no credits";
      if (!data.accepted) {
        var r = data.refusal || {};
        var whose = r.scope === "team" ? "your team's" : "your";
        return { ok: false, text: cost + ", but it would go over " + whose + " " + (LIMIT_LABELS[r.limit] || r.limit || "quota") +
          " limit" + (r.resets_at ? " (resets " + when(r.resets_at) + ")" : "") + "." };
      }
      var text = cost;
      if (limits.monthly_credits !== null && limits.monthly_credits !== undefined) {
        text += "; " + fmt(remaining.monthly_credits) + " of " + fmt(limits.monthly_credits) + " left this month";
      } else if (limits.monthly_video_seconds !== null && limits.monthly_video_seconds !== undefined && data.video_seconds) {
        text += " (" + fmt(data.video_seconds) + " s of video); " + fmt(remaining.monthly_video_seconds) + " of " +
          fmt(limits.monthly_video_seconds) + " seconds left this month";
      }
      text += ".";
      if (data.will_wait) { text += " It will wait in line until one of your running jobs ends."; }
      return { ok: true, text: text };
    }
    if (data && (data.payload || (data.errors && data.errors.payload))) {
      var errors = data.payload || data.errors.payload;
      var parts = Object.keys(errors).slice(0, 3).map(function (name) {
        var messages = errors[name];
        return labelFor(form, name) + ": " + (Array.isArray(messages) ? messages[0] : messages);
      });
      return { ok: false, pending: true, text: "Not ready yet — " + parts.join(" · ") };
    }
    if (data && data.detail) { return { ok: false, text: data.detail }; }
    return { ok: false, text: "The price cannot be checked right now; it is checked again when you send the form." };
  }

  function initSubmitForm() {
    var form = $("form[data-submit-form]");
    if (!form) { return; }
    var summary = $("[data-summary]");
    var quoteBox = $("[data-quote]");
    var quoteUrl = form.getAttribute("data-quote-url");
    var uploadUrl = form.getAttribute("data-upload-url");
    var submitButton = $("[data-submit-button]", form);
    var quoteTimer = null;
    var quoteSeq = 0;
    var controller = null;
    var uploading = 0;

    // What still keeps the form from being priced: a required field left empty, a field over its length.
    function notQuotable() {
      var missing = $all("[aria-required='true'], [required]", form).filter(function (control) {
        if (control.type === "checkbox" || control.type === "file" || control.disabled) { return false; }
        var wrapper = control.closest("[data-field]");
        if (control.tagName === "SELECT") { return !control.value; }
        if (wrapper && $("[data-upload-input]", wrapper) && !control.value.trim()) { return true; }
        return !String(control.value || "").trim();
      });
      if (missing.length) { return "Fill in " + labelFor(form, missing[0].getAttribute("data-param") || missing[0].name) + " to see the price."; }
      var over = $all("[data-max-chars]", form).filter(function (control) {
        return control.value.length > Number(control.getAttribute("data-max-chars"));
      });
      if (over.length) { return "Shorten " + labelFor(form, over[0].getAttribute("data-param") || over[0].name) + " to see the price."; }
      return "";
    }

    function refresh() {
      var built = buildBody(form);
      if (summary) { summary.textContent = JSON.stringify(built.body, null, 2); }
      clearTimeout(quoteTimer);
      if (built.problem) {
        showQuote({ ok: false, text: built.problem });
        return;
      }
      var waiting = notQuotable();
      if (waiting) {
        if (controller) { controller.abort(); }
        showQuote({ ok: false, pending: true, text: waiting });
        return;
      }
      quoteTimer = setTimeout(function () { fetchQuote(built.body); }, 450);
    }

    function showQuote(result) {
      if (!quoteBox) { return; }
      quoteBox.textContent = result.text;
      quoteBox.classList.toggle("is-refused", !result.ok && !result.pending);
      quoteBox.classList.toggle("is-pending", !!result.pending);
      quoteBox.classList.toggle("is-ok", !!result.ok);
    }

    function fetchQuote(body) {
      if (!quoteUrl || !body.model) { return; }
      var seq = ++quoteSeq;
      if (controller) { controller.abort(); }
      controller = window.AbortController ? new AbortController() : null;
      if (quoteBox) { quoteBox.classList.remove("is-refused", "is-ok", "is-pending"); quoteBox.textContent = "Checking the price…"; }
      fetch(quoteUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken(form) },
        body: JSON.stringify(body),
        signal: controller ? controller.signal : undefined,
      }).then(function (response) {
        return response.json().catch(function () { return null; }).then(function (data) {
          if (seq === quoteSeq) { showQuote(describeQuote(form, response.status, data)); }
        });
      }).catch(function (error) {
        if (error && error.name === "AbortError") { return; }
        if (seq === quoteSeq) { showQuote(describeQuote(form, 0, null)); }
      });
    }

    function setBusy(delta) {
      uploading += delta;
      if (submitButton) {
        submitButton.disabled = uploading > 0;
        submitButton.textContent = uploading > 0 ? "Uploading…" : "Generate video";
      }
    }

    // XMLHttpRequest rather than fetch: it reports upload progress.
    function send(file, progress) {
      return new Promise(function (resolve, reject) {
        var data = new FormData();
        data.append("file", file);
        var xhr = new XMLHttpRequest();
        xhr.open("POST", uploadUrl);
        xhr.withCredentials = true;
        xhr.setRequestHeader("Accept", "application/json");
        xhr.setRequestHeader("X-CSRFToken", csrfToken(form));
        if (progress) {
          progress.hidden = false;
          progress.removeAttribute("value");
          xhr.upload.addEventListener("progress", function (event) {
            if (event.lengthComputable) { progress.max = event.total; progress.value = event.loaded; }
          });
        }
        xhr.onload = function () {
          var body = null;
          try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
          resolve({ status: xhr.status, json: function () { return Promise.resolve(body); } });
        };
        xhr.onerror = function () { reject(new Error("network")); };
        xhr.send(data);
      });
    }

    function uploadOne(file, input, field, status) {
      var wrapper = input.closest("[data-field]");
      var progress = wrapper ? $("[data-upload-progress]", wrapper) : null;
      setBusy(1);
      status.classList.remove("is-error");
      status.textContent = "Uploading " + file.name + "…";
      return send(file, progress).then(function (response) {
        if (progress) { progress.hidden = true; }
        return response.json().catch(function () { return null; }).then(function (body) {
          if (response.status === 201 && body && body.url) {
            if (field.tagName === "TEXTAREA") {
              field.value = (field.value.trim() ? field.value.trim() + "\n" : "") + body.url;
            } else {
              field.value = body.url;
            }
            status.textContent = "Uploaded " + file.name + ".";
            return true;
          }
          var reason = body && body.detail ? body.detail : "the upload failed (" + response.status + ")";
          if (response.status >= 400 && response.status < 500 && response.status !== 404) {
            status.classList.add("is-error");
            status.textContent = file.name + ": " + reason;
            return true;  // refused: sending it again with the form would not help
          }
          status.textContent = file.name + " will be uploaded when you send the form.";
          return false;
        });
      }).catch(function () {
        if (progress) { progress.hidden = true; }
        status.textContent = file.name + " will be uploaded when you send the form.";
        return false;
      }).finally(function () { setBusy(-1); });
    }

    $all("[data-upload-input]", form).forEach(function (input) {
      input.addEventListener("change", function () {
        var wrapper = input.closest("[data-field]");
        var field = wrapper ? $("[data-param]", wrapper) : null;
        var status = wrapper ? $("[data-upload-status]", wrapper) : null;
        if (!field || !status || !input.files.length || !uploadUrl) { return; }
        var files = Array.prototype.slice.call(input.files);
        files.reduce(function (previous, file) {
          return previous.then(function (handledSoFar) {
            return uploadOne(file, input, field, status).then(function (handled) { return handledSoFar && handled; });
          });
        }, Promise.resolve(true)).then(function (allHandled) {
          // Uploaded files must not travel again with the form; failed ones stay for the server to try.
          if (allHandled) { input.value = ""; }
          refresh();
        });
      });
    });

    form.addEventListener("input", refresh);
    form.addEventListener("change", refresh);
    form.addEventListener("submit", function () {
      if (submitButton && !uploading) {
        setTimeout(function () { submitButton.disabled = true; submitButton.textContent = "Sending…"; }, 0);
      }
    });

    // Sharing: "My team" needs a team.
    var team = form.elements.namedItem("team");
    var teamRadio = $("input[name=visibility][value=team]", form);
    function syncVisibility() {
      if (!team || !teamRadio) { return; }
      teamRadio.disabled = !team.value;
      if (!team.value && teamRadio.checked) {
        var privateRadio = $("input[name=visibility][value=private]", form);
        if (privateRadio) { privateRadio.checked = true; }
      }
    }
    if (team && team.tagName === "SELECT") {
      team.addEventListener("change", function () {
        if (team.value && teamRadio && !teamRadio.checked) { teamRadio.checked = true; }
        syncVisibility();
      });
      syncVisibility();
    }

    // GOV.UK's error summary: it takes focus and is scrolled into view; its links focus their field.
    var errors = $("#gmi-submit-errors");
    if (errors) {
      errors.scrollIntoView({ block: "start" });
      errors.focus({ preventScroll: true });
      $all("a[href^='#']", errors).forEach(function (link) {
        link.addEventListener("click", function (event) {
          var target = document.getElementById(link.getAttribute("href").slice(1));
          if (!target) { return; }
          event.preventDefault();
          var label = $("label[for='" + target.id + "']");
          (label || target).scrollIntoView({ block: "start" });
          target.focus({ preventScroll: true });
        });
      });
    }
    refresh();
  }

  /* ------------------------------------------------------------------ drafts across models */

  // Switching the model reloads the page with the new model's form; what the user typed
  // into fields both models share (a prompt, a seed ...) comes along.
  var DRAFT_KEY = "gmi-submit-draft";

  function carryDraft() {
    var picker = $("[data-model-picker] select");
    var form = $("form[data-submit-form]");
    if (!picker || !form || !window.sessionStorage) { return; }
    try {
      var saved = JSON.parse(window.sessionStorage.getItem(DRAFT_KEY) || "null");
      window.sessionStorage.removeItem(DRAFT_KEY);
      if (saved) {
        Object.keys(saved).forEach(function (name) {
          var field = form.elements.namedItem(name);
          if (field && field.tagName && field.type !== "checkbox" && field.type !== "file" && !field.value) {
            field.value = saved[name];
            field.dispatchEvent(new Event("input", { bubbles: true }));
          }
        });
      }
    } catch (error) { /* a broken draft is simply dropped */ }
    picker.form.addEventListener("submit", function () {
      var draft = {};
      $all("textarea[name^='p-'], input[type='text'][name^='p-'], input[type='number'][name^='p-']", form)
        .forEach(function (field) { if (field.value && field.defaultValue !== field.value) { draft[field.name] = field.value; } });
      window.sessionStorage.setItem(DRAFT_KEY, JSON.stringify(draft));
    });
  }

  function init() {
    initHelpers();
    initStatusPolling();
    carryDraft();
    initSubmitForm();
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
