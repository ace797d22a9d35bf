/* The results form, optimistic (the tournament page's #results section; templates/_results_form.html).
 *
 * Without this script the forms post and the page comes back (forms.py). With it, a submitted result
 * shows at once as pending (the match's form disabled), is posted in the background with the
 * X-Fragment header, and the server answers the results section alone: on success it replaces the
 * section (the server's new state); on a refusal the match is put back as it was and the server's
 * message is shown beside it (a live region, so screen readers hear it). Scores are checked
 * against the best-of here too, for instant feedback; the server stays the judge.
 *
 * The tournament's live stream (`sse:tournament` and `live:resync` on <body>, see STREAM.md)
 * refreshes the section, but never under a viewer who is filling a form in it: the refresh waits
 * until no form there has focus, unsent changes or a post in flight.
 */
(function () {
  "use strict";

  var FRAGMENT = {"X-Fragment": "results"};
  var inFlight = 0;         // posts not answered yet
  var noticeOutlivesOneRefresh = false; // see swapIn
  var refreshWanted = false; // the stream said something changed while the viewer was busy
  var refreshing = null;     // the refresh under way, if any
  var leaving = false;       // the page is being loaded again (see swapIn): nothing more to draw

  function section() { return document.getElementById("results"); }

  // ---- what the server answers ------------------------------------------------------------------

  function parseSection(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    return doc.getElementById("results");
  }

  /** The message of a refusal: the fragment's, the gateway's JSON envelope's, or the status. */
  function refusalText(response, body) {
    var type = response.headers.get("Content-Type") || "";
    if (type.indexOf("application/json") === 0) {
      try {
        var error = JSON.parse(body).error || {};
        var fields = error.fields || {};
        var details = Object.keys(fields).map(function (k) { return k.replace(/_/g, " ") + ": " + fields[k]; });
        if (error.message) { return [error.message].concat(details).join(" "); }
      } catch (ignored) { /* not the envelope: fall through */ }
    } else if (type.indexOf("text/html") === 0) {
      var fragment = parseSection(body);
      var refusal = fragment && fragment.querySelector("[data-refusal]");
      if (refusal) { return refusal.textContent.replace(/\s+/g, " ").trim(); }
    }
    return "The server refused this result (HTTP " + response.status + "). Reload the page and try again.";
  }

  // ---- the section's contents -------------------------------------------------------------------

  /** Put the server's section in place of ours; a tournament that is no longer ACTIVE (the final
   *  was just decided) changes the whole page, which is then loaded again. */
  function swapIn(fresh, fromPost) {
    var current = section();
    if (leaving || !current || !fresh) { return; }
    if (fresh.getAttribute("data-state") !== "ACTIVE") {
      // The page goes on running until the new one replaces it: a stream refresh answered
      // meanwhile must not send it again elsewhere (to "./", losing the post's notice).
      leaving = true;
      var notice = fresh.getAttribute("data-notice");
      window.location.assign(new URL(notice ? "./?notice=" + encodeURIComponent(notice) : "./", window.location.href));
      return;
    }
    var stale = document.getElementById("results-stale");
    if (stale) { stale.remove(); }
    document.getElementById("results-body").innerHTML = fresh.querySelector("#results-body").innerHTML;
    // A post's notice is said; a refresh from the stream clears the last one, now out of date,
    // except the first refresh after it: that one is for the post's own event (which can arrive
    // before the post's answer), so the notice still holds.
    var status = fresh.querySelector("#results-status");
    if (fromPost) {
      if (status && status.textContent.trim()) {
        document.getElementById("results-status").innerHTML = status.innerHTML;
        noticeOutlivesOneRefresh = true;
      }
    } else if (noticeOutlivesOneRefresh) {
      noticeOutlivesOneRefresh = false;
    } else {
      document.getElementById("results-status").innerHTML = "";
    }
  }

  function showMessage(matchId, text, kind) {
    var box = document.getElementById("result-" + matchId + "-message") || document.getElementById("results-status");
    if (!box) { return; }
    var p = document.createElement("p");
    p.className = "alert " + (kind === "ok" ? "alert-ok" : "alert-error");
    p.textContent = text;
    box.replaceChildren(p);
  }

  function clearMessage(matchId) {
    var box = document.getElementById("result-" + matchId + "-message");
    if (box) { box.replaceChildren(); }
  }

  // ---- checking a result before it is sent --------------------------------------------------------

  /** Why this form's result can't be right for its best-of (the server's own rules), or "". */
  function problemWith(form) {
    if (!form.hasAttribute("data-best-of")) { return ""; }  // a confirmation repeats a checked report
    var winner = form.querySelector("input[name=winner]:checked");
    if (!winner) { return "Choose the winner (or a draw)."; }
    var raw = [form.elements.score1.value.trim(), form.elements.score2.value.trim()];
    if (!raw[0] && !raw[1]) { return ""; }
    if (!raw.every(function (s) { return /^[0-9]{1,4}$/.test(s); })) {
      return "Give both teams' game scores as whole numbers, or neither.";
    }
    var scores = raw.map(Number);
    var bestOf = Number(form.getAttribute("data-best-of"));
    var needed = Math.floor(bestOf / 2) + 1;
    if (winner.value === "draw") {
      if (scores[0] !== scores[1] || (bestOf > 1 && scores[0] >= needed)) { return "The scores must show a draw."; }
      return "";
    }
    var mine = winner.value === form.getAttribute("data-team1") ? scores[0] : scores[1];
    var theirs = winner.value === form.getAttribute("data-team1") ? scores[1] : scores[0];
    if (mine <= theirs) { return "The scores must favour the winner."; }
    if (bestOf > 1 && (mine !== needed || theirs >= needed)) {
      return "The scores don't fit a best-of-" + bestOf + ": it ends " + needed + "-0 to " + needed + "-" +
        (needed - 1) + " in games.";
    }
    return "";
  }

  /** "Sending: Alpha won 2–1…", from the form's checked label and scores. */
  function pendingText(form) {
    if (form.hasAttribute("data-pending")) { return form.getAttribute("data-pending") + " (sending…)"; }
    var winner = form.querySelector("input[name=winner]:checked");
    var label = winner && winner.closest("label") ? winner.closest("label").textContent.trim() : "";
    var s1 = form.elements.score1.value.trim(), s2 = form.elements.score2.value.trim();
    return "Sending: " + label + (s1 && s2 ? " " + s1 + "–" + s2 : "") + "…";
  }

  // ---- the optimistic post ------------------------------------------------------------------------

  /** Show `form`'s result as pending at once; returns how to put the match back as it was. */
  function showPending(article, form) {
    var controls = Array.prototype.slice.call(article.querySelectorAll("input, button, select, textarea"));
    var wasDisabled = controls.map(function (c) { return c.disabled; });
    var badge = article.querySelector("[data-badge]");
    var badgeText = badge ? badge.textContent : "";
    var note = document.createElement("p");
    note.className = "pending-result";
    note.textContent = pendingText(form);
    article.querySelector("h3").after(note);
    controls.forEach(function (c) { c.disabled = true; });
    if (badge) { badge.textContent = "sending"; }
    article.classList.add("is-pending");
    article.setAttribute("aria-busy", "true");
    return function rollBack() {
      note.remove();
      controls.forEach(function (c, i) { c.disabled = wasDisabled[i]; });
      if (badge) { badge.textContent = badgeText; }
      article.classList.remove("is-pending");
      article.removeAttribute("aria-busy");
    };
  }

  function submitResult(form, submitter) {
    var article = form.closest("[data-match]");
    var matchId = article.getAttribute("data-match");
    var problem = problemWith(form);
    clearMessage(matchId);
    if (problem) {
      showMessage(matchId, problem);
      (form.querySelector("input[name=score1]") || submitter || form).focus();
      return;
    }
    var body = new URLSearchParams(new FormData(form));  // read before the controls are disabled
    var rollBack = showPending(article, form);
    inFlight += 1;
    // JSON first in Accept: the server answers the section whatever it says (X-Fragment), and
    // the gateway's own refusals (an expired session's form token, a server away) then come as
    // the JSON envelope, whose message is shown, rather than as an HTML error page.
    fetch(form.action, {method: "POST", body: body, credentials: "same-origin",
                        headers: Object.assign({"Accept": "application/json, text/html;q=0.9"}, FRAGMENT)})
      .then(function (response) {
        return response.text().then(function (text) { return {response: response, text: text}; });
      })
      .then(function (answer) {
        inFlight -= 1;
        if (answer.response.ok) {
          accepted(matchId, parseSection(answer.text));
        } else {
          refused(article, matchId, rollBack, submitter, refusalText(answer.response, answer.text));
        }
      }, function () {
        inFlight -= 1;
        refused(article, matchId, rollBack, submitter,
                "The result could not be sent: the connection failed. Check it and send it again.");
      })
      .then(refreshIfIdle);
  }

  function accepted(matchId, fresh) {
    if (inFlight === 0) {
      swapIn(fresh, true);
    } else {
      // Other matches' results are still on their way: replace only this one, the rest later.
      var mine = document.getElementById("result-" + matchId);
      var theirs = fresh && fresh.querySelector("#result-" + CSS.escape(matchId));
      if (mine && theirs) { mine.replaceWith(document.importNode(theirs, true)); } else if (mine) { mine.remove(); }
      var status = fresh && fresh.querySelector("#results-status");
      if (status && status.textContent.trim()) {
        document.getElementById("results-status").innerHTML = status.innerHTML;
        noticeOutlivesOneRefresh = true;
      }
      refreshWanted = true;
    }
    // Only when focus was lost with the form it was in; never taken from where the viewer went.
    if (!document.activeElement || document.activeElement === document.body) { focusTitle(); }
  }

  /** The control the viewer used is gone: keep them in the section rather than at the page's top. */
  function focusTitle() {
    var title = document.getElementById("results-title");
    if (title) {
      title.setAttribute("tabindex", "-1");
      title.focus();
    }
  }

  function refused(article, matchId, rollBack, submitter, text) {
    if (article.isConnected) {
      rollBack();
      if (submitter && submitter.isConnected) { submitter.focus(); }
    }
    showMessage(matchId, text);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("#results form[data-result-form]") || !window.fetch) { return; }
    event.preventDefault();
    submitResult(form, event.submitter);
  });

  // ---- live refresh, never under the viewer's hands ------------------------------------------------

  function dirty(form) {
    return Array.prototype.some.call(form.elements, function (c) {
      if (c.type === "radio" || c.type === "checkbox") { return c.checked !== c.defaultChecked; }
      if (c.type === "hidden" || c.tagName === "BUTTON") { return false; }
      return "defaultValue" in c && c.value !== c.defaultValue;
    });
  }

  /** True while the viewer is filling a form of the section: focus in it, unsent changes, or a
   *  post on its way. */
  function editing() {
    var current = section();
    if (!current) { return false; }
    var active = document.activeElement;
    if (inFlight > 0 || (active && active.closest && active.closest("#results form"))) { return true; }
    return Array.prototype.some.call(current.querySelectorAll("form"), dirty);
  }

  /** Fetch the section and put it in place; `asked`: the viewer pressed "Show the latest". */
  function refresh(asked) {
    refreshWanted = false;
    if (leaving) { return; }
    if (refreshing) {
      if (asked === true) { refreshing.then(function () { refresh(true); }); } else { refreshWanted = true; }
      return;
    }
    refreshing = fetch(new URL("./", window.location.href), {credentials: "same-origin",
                                                              headers: Object.assign({"Accept": "text/html"}, FRAGMENT)})
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (text) {
        refreshing = null;
        if (text === null) { return; }
        if (asked !== true && editing()) { refreshWanted = true; return; }  // they started typing meanwhile: later
        swapIn(parseSection(text));
        if (asked === true) { focusTitle(); }
      }, function () { refreshing = null; });
  }

  function refreshIfIdle() {
    if (!refreshWanted) { return; }
    if (!editing()) { refresh(); return; }
    var active = document.activeElement;
    if (inFlight === 0 && !(active && active.closest && active.closest("#results form"))) {
      offerRefresh();  // left with unsent entries: the viewer chooses when to drop them
    }
  }

  /** A line saying the section is out of date, with a button to show the latest (which drops
   *  the viewer's unsent entries, so it is theirs to press). */
  function offerRefresh() {
    if (document.getElementById("results-stale")) { return; }
    var line = document.createElement("p");
    line.id = "results-stale";
    line.className = "results-stale";
    line.textContent = "These matches have changed since you started filling a form. ";
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = "Show the latest (your unsent entries are dropped)";
    button.addEventListener("click", function () { refresh(true); });
    line.appendChild(button);
    document.getElementById("results-body").before(line);
  }

  var timer = null;
  function changed() {
    // Several elements of the page relay the same stream event: one refresh for them all.
    if (!section()) { return; }
    refreshWanted = true;
    clearTimeout(timer);
    timer = setTimeout(refreshIfIdle, 100);
  }

  document.body.addEventListener("sse:tournament", changed);
  document.body.addEventListener("live:resync", changed);
  // The moments a viewer may be done: focus leaves the form, a field is cleared back.
  document.addEventListener("focusout", function () { setTimeout(refreshIfIdle, 0); });
  document.addEventListener("input", function () { setTimeout(refreshIfIdle, 0); });
  document.addEventListener("reset", function () { setTimeout(refreshIfIdle, 0); });
}());
