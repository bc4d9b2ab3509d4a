/* The annotation page: keyboard-first pairwise judgments, loaded and submitted through the JSON API.
   All user text is inserted with textContent, never as HTML; the one exception is a qualification item's guideline
   passage, which the server renders from Markdown and sanitizes with nh3 (as the guidelines dialog). */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("annotate-config").textContent);
  const $ = (id) => document.getElementById(id);
  const PICK_LABELS = { left: "Left better", right: "Right better", tie: "Tie", both_bad: "Both unacceptable" };
  const PICK_KEYS = { left: "1", right: "2", tie: "0", both_bad: "X" };
  const REASON_KEYS = ["5", "6", "7", "8"];
  const STRENGTHS = [["slightly", "Slightly", "Q"], ["clearly", "Clearly", "W"]];

  let item = null;
  let rows = [];
  let active = 0;
  let busy = false;
  let shownAt = 0;
  let hiddenSince = null;
  let hiddenMs = 0;
  let afterFeedback = null;  // the response to show once the annotator has read a qualification item's feedback

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: JSON.stringify(body || {}),
    });
    let data = null;
    try { data = await response.json(); } catch (error) { data = null; }
    return { ok: response.ok, status: response.status, data: data };
  }

  function say(message, kind) {
    const status = $("status");
    status.textContent = message || "";
    status.className = "status" + (kind ? " " + kind : "");
  }

  function elapsed() {
    const hidden = hiddenMs + (hiddenSince === null ? 0 : performance.now() - hiddenSince);
    return Math.max(0, Math.round(performance.now() - shownAt - hidden));
  }

  document.addEventListener("visibilitychange", function () {
    // Time on task counts only while the page is visible.
    if (document.hidden) { hiddenSince = performance.now(); }
    else if (hiddenSince !== null) { hiddenMs += performance.now() - hiddenSince; hiddenSince = null; }
  });

  // --- Rendering --------------------------------------------------------------------------------------------------

  function bubble(kind, who, text) {
    const div = document.createElement("div");
    div.className = "bubble " + kind;
    const label = document.createElement("span");
    label.className = "who";
    label.textContent = who;
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    div.append(label, body);
    return div;
  }

  // The messages come from corpus.rendering.conversation_messages: the post, then doctor/patient turns.
  function renderContext(context) {
    const chat = $("context");
    chat.replaceChildren();
    (context.messages || []).forEach(function (message, index) {
      if (!message.content) return;
      if (message.role === "assistant") chat.append(bubble("doctor", "Doctor", message.content));
      else chat.append(bubble("patient", index === 0 ? "Patient's post" : "Patient", message.content));
    });
  }

  function setProgress(progress) {
    if (!progress) return;
    const assigned = Math.max(progress.assigned || 0, progress.done || 0);
    $("progress-text").textContent = progress.done + " done / " + assigned + " assigned";
    $("progress-bar").style.width = (assigned ? (100 * progress.done) / assigned : 0) + "%";
  }

  function button(label, key, onClick, extraClass) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "choice " + (extraClass || "");
    const k = document.createElement("kbd");
    k.textContent = key;
    b.append(k, document.createTextNode(" " + label));
    b.addEventListener("click", onClick);
    return b;
  }

  function renderRows() {
    const container = $("judgments");
    container.replaceChildren();
    rows.forEach(function (row, index) {
      const section = document.createElement("div");
      section.className = "judgment" + (index === active ? " active" : "") + (row.pick ? " picked" : "");
      section.dataset.attribute = row.attribute;
      section.addEventListener("click", function () { if (active !== index) { active = index; renderRows(); } });

      const head = document.createElement("div");
      head.className = "judgment-head";
      const title = document.createElement("strong");
      title.textContent = rows.length > 1 ? (index + 1) + ". " + row.name : row.name;
      const definition = document.createElement("span");
      definition.className = "muted definition";
      definition.textContent = row.definition;
      head.append(title, definition);

      const choices = document.createElement("div");
      choices.className = "choices";
      ["left", "tie", "right", "both_bad"].forEach(function (pick) {
        const b = button(PICK_LABELS[pick], PICK_KEYS[pick], function () { active = index; choose(pick); },
                         pick === row.pick ? "selected" : "");
        b.dataset.pick = pick;
        b.setAttribute("aria-pressed", pick === row.pick ? "true" : "false");
        choices.append(b);
      });

      const extras = document.createElement("div");
      extras.className = "extras";
      if (row.pick === "left" || row.pick === "right") {
        STRENGTHS.forEach(function (entry) {
          const b = button(entry[1], entry[2], function () { active = index; setStrength(entry[0]); },
                           row.strength === entry[0] ? "selected small" : "small");
          b.dataset.strength = entry[0];
          extras.append(b);
        });
      }
      if (row.pick === "both_bad") {
        config.reasons.forEach(function (reason, i) {
          const b = button(reason[1], REASON_KEYS[i], function () { active = index; toggleReason(reason[0]); },
                           row.reasons.has(reason[0]) ? "selected small" : "small");
          b.dataset.reason = reason[0];
          extras.append(b);
        });
      }

      const rationale = document.createElement("textarea");
      rationale.rows = 1;
      rationale.placeholder = "Rationale (optional, R)";
      rationale.className = "rationale";
      rationale.value = row.rationale;
      rationale.addEventListener("input", function () { row.rationale = rationale.value; });
      rationale.addEventListener("focus", function () { active = index; markActive(); });

      section.append(head, choices, extras, rationale);
      container.append(section);
    });
    updateHint();
  }

  function markActive() {
    document.querySelectorAll(".judgment").forEach(function (el, i) { el.classList.toggle("active", i === active); });
  }

  function updateHint() {
    const missing = rows.filter(function (row) { return !row.pick; }).length;
    const reasonless = rows.filter(function (row) { return row.pick === "both_bad" && !row.reasons.size; }).length;
    $("submit").disabled = busy || missing > 0 || reasonless > 0;
    $("submit-hint").textContent = missing ? missing + " judgment(s) left" :
      reasonless ? "Give a reason for 'both unacceptable'" : "";
  }

  function show(payload) {
    setProgress(payload.progress);
    item = payload.item;
    const banner = $("qualification-banner");
    banner.hidden = !(item && item.qualification);
    if (item && item.qualification) {
      banner.textContent = "Qualification round " + item.qualification.round + ": item " + item.qualification.position +
        " of " + item.qualification.of + ". Each answer is followed by the expected one and the guideline passage.";
    }
    if (!item) {
      $("workspace").hidden = true;
      const failed = payload.feedback && payload.feedback.qualification.status === "failed";
      if (failed) { say(payload.feedback.message, "warn"); }
      $("done").hidden = failed;
      return;
    }
    $("done").hidden = true;
    $("workspace").hidden = false;
    $("feedback").hidden = true;
    $("left-card").classList.remove("expected");
    $("right-card").classList.remove("expected");
    document.querySelector(".submit-row").hidden = false;
    renderContext(item.context);
    $("left").textContent = item.left;
    $("right").textContent = item.right;
    rows = item.judgments.map(function (judgment) {
      const previous = (item.previous || {})[judgment.attribute] || {};
      return {
        attribute: judgment.attribute, name: judgment.name, definition: judgment.definition,
        pick: previous.pick || null, strength: previous.strength || "", reasons: new Set(previous.reasons || []),
        rationale: previous.rationale || "", time_ms: null,
      };
    });
    active = 0;
    shownAt = performance.now();
    hiddenMs = 0;
    hiddenSince = document.hidden ? shownAt : null;
    renderRows();
    document.getElementById("annotate").dataset.assignment = item.assignment;
    window.scrollTo(0, 0);
  }

  // --- Actions ----------------------------------------------------------------------------------------------------

  function choose(pick) {
    const row = rows[active];
    if (!row) return;
    row.pick = pick;
    row.time_ms = elapsed();
    if (pick !== "left" && pick !== "right") row.strength = "";
    if (pick !== "both_bad") row.reasons.clear();
    if (pick !== "both_bad" && active < rows.length - 1) active += 1;  // straight on to the next judgment
    renderRows();
  }

  function setStrength(strength) {
    const row = rows[active];
    if (!row || (row.pick !== "left" && row.pick !== "right")) return;
    row.strength = row.strength === strength ? "" : strength;
    renderRows();
  }

  function toggleReason(code) {
    const row = rows[active];
    if (!row || row.pick !== "both_bad") return;
    if (row.reasons.has(code)) row.reasons.delete(code); else row.reasons.add(code);
    renderRows();
  }

  async function run(action) {
    if (busy) return;
    busy = true;
    updateHint();
    try { await action(); } catch (error) { say("Network error: " + error.message, "error"); }
    finally { busy = false; updateHint(); }
  }

  function load() {
    return run(async function () {
      const result = await post(config.nextUrl);
      if (!result.ok) { say((result.data && result.data.detail) || "Could not load the next item.", "error"); return; }
      show(result.data);
    });
  }

  function submit() {
    if (!item || $("submit").disabled) { updateHint(); return; }
    const body = {
      judgments: rows.map(function (row) {
        return { attribute: row.attribute, pick: row.pick, strength: row.strength, reasons: Array.from(row.reasons),
                 rationale: row.rationale, time_ms: row.time_ms };
      }),
      duration_ms: elapsed(),
      next: true,
    };
    const url = config.submitUrl.replace("/0/", "/" + item.assignment + "/");
    return run(async function () {
      const result = await post(url, body);
      if (result.status === 409) { await refused(result); return; }
      if (!result.ok) { say(describe(result.data) || "Could not save.", "error"); return; }
      if (result.data.feedback) { showFeedback(result.data); return; }
      say("Saved.", "ok");
      show(result.data);
    });
  }

  const STATUS_WORDS = { passed: "You passed the qualification round.", failed: "", pending: "" };

  // After a qualification item: right or not, the expected answer on screen, the guideline passage; Enter goes on.
  function showFeedback(payload) {
    const feedback = payload.feedback;
    const state = feedback.qualification;
    afterFeedback = payload;
    item = null;
    document.querySelector(".submit-row").hidden = true;
    $("feedback-verdict").textContent = feedback.correct ? "As expected" : "Not the expected answer";
    $("feedback").className = "card feedback " + (feedback.correct ? "correct" : "incorrect");
    let expected = "Expected: " + PICK_LABELS[feedback.expected] + ".";
    if (feedback.expected_text) expected += " “" + feedback.expected_text + "”";
    if (!feedback.correct) expected += " You answered: " + (PICK_LABELS[feedback.your_pick] || feedback.your_pick) + ".";
    $("feedback-expected").textContent = expected;
    if (feedback.expected === "left" || feedback.expected === "right") {
      $(feedback.expected + "-card").classList.add("expected");
    }
    $("feedback-explanation").innerHTML = feedback.explanation_html;  // sanitized server-side (nh3)
    $("feedback-standing").textContent = (STATUS_WORDS[state.status] || "") + " " + state.correct + " of " +
      state.seen + " as expected so far; " + state.needed + " of " + state.items + " needed to pass." +
      (feedback.message ? " " + feedback.message : "");
    $("feedback").hidden = false;
    say("Saved.", "ok");
    $("feedback-continue").focus();
  }

  function continueAfterFeedback() {
    if (!afterFeedback) return;
    const payload = afterFeedback;
    afterFeedback = null;
    $("feedback").hidden = true;
    show(payload);
  }

  // A 409 says why the item took nothing: already submitted or expired (the next item follows), or the campaign
  // is paused or closed, or the annotator was removed (the next item is refused too, and the reason stays shown).
  async function refused(result) {
    const next = await post(config.nextUrl);
    if (next.ok) {
      say(describe(result.data) + " Here is your next item.", "warn");
      show(next.data);
      return;
    }
    say(describe(result.data), "warn");
    item = null;
    $("workspace").hidden = true;
  }

  function describe(data) {
    if (!data) return "";
    if (data.detail) return data.detail;
    return JSON.stringify(data);
  }

  function undo() {
    return run(async function () {
      const result = await post(config.undoUrl);
      if (!result.ok) { say(describe(result.data) || "Nothing to undo.", "warn"); return; }
      say("Undone: your previous answer is shown again. Change it and submit.", "ok");
      show(result.data);
    });
  }

  function openSkip() {
    if (!item) return;
    const dialog = $("skip-dialog");
    $("skip-form").reset();
    dialog.returnValue = "";
    dialog.showModal();
  }

  $("skip-dialog").addEventListener("keydown", function (event) {
    const radios = this.querySelectorAll("input[name=reason]");
    const n = parseInt(event.key, 10);
    if (event.target.tagName !== "TEXTAREA" && n >= 1 && n <= radios.length) {
      radios[n - 1].checked = true;
      event.preventDefault();
    } else if (event.key === "Enter" && event.target.tagName !== "TEXTAREA") {
      event.preventDefault();
      this.close("skip");
    }
  });

  $("skip-dialog").addEventListener("close", function () {
    if (this.returnValue !== "skip" || !item) return;
    const form = $("skip-form");
    const reason = form.querySelector("input[name=reason]:checked").value;
    const url = config.skipUrl.replace("/0/", "/" + item.assignment + "/");
    run(async function () {
      const result = await post(url, { reason: reason, note: form.elements.note.value, next: true });
      if (result.status === 409) { await refused(result); return; }
      if (!result.ok) { say(describe(result.data), "error"); return; }
      say("Skipped.", "ok");
      show(result.data);
    });
  });

  function toggleGuidelines() {
    const dialog = $("guidelines-dialog");
    if (dialog.open) dialog.close(); else dialog.showModal();
  }

  $("submit").addEventListener("click", submit);
  $("feedback-continue").addEventListener("click", continueAfterFeedback);
  $("undo").addEventListener("click", undo);
  $("open-skip").addEventListener("click", openSkip);
  $("open-guidelines").addEventListener("click", toggleGuidelines);

  // --- Keyboard ---------------------------------------------------------------------------------------------------

  const KEYMAP = {
    "1": function () { choose("left"); }, "2": function () { choose("right"); }, "0": function () { choose("tie"); },
    x: function () { choose("both_bad"); }, q: function () { setStrength("slightly"); },
    w: function () { setStrength("clearly"); }, s: openSkip, u: undo, g: toggleGuidelines, Enter: submit,
    ArrowDown: function () { active = Math.min(rows.length - 1, active + 1); markActive(); },
    ArrowUp: function () { active = Math.max(0, active - 1); markActive(); },
    r: function () { const boxes = document.querySelectorAll(".rationale"); if (boxes[active]) boxes[active].focus(); },
  };

  document.addEventListener("keydown", function (event) {
    if (document.querySelector("dialog[open]")) return;  // dialogs handle their own keys
    if (afterFeedback) {  // reading the feedback: Enter goes on, G opens the guidelines, nothing else
      if (event.key === "Enter") { event.preventDefault(); continueAfterFeedback(); }
      else if (event.key.toLowerCase() === "g" && !event.ctrlKey && !event.metaKey) { toggleGuidelines(); }
      return;
    }
    const typing = /^(TEXTAREA|INPUT|SELECT)$/.test(event.target.tagName);
    if (typing) {
      if (event.key === "Escape") { event.target.blur(); event.preventDefault(); }
      else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); submit(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    const reasonIndex = REASON_KEYS.indexOf(key);
    if (reasonIndex >= 0 && config.reasons[reasonIndex]) {
      event.preventDefault();
      toggleReason(config.reasons[reasonIndex][0]);
      return;
    }
    const handler = KEYMAP[key];
    if (!handler || (!item && key !== "u" && key !== "g")) return;
    if (event.target.tagName === "BUTTON" && key === "Enter") { event.preventDefault(); }
    event.preventDefault();
    handler();
  });

  if (config.serving) { load(); } else { say("This campaign is not active.", "warn"); }
})();
