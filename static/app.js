// Solo's progressive enhancement. Every page and form works without this file; with it,
// action forms act in place, times stay relative, and new posts and notifications arrive live.
"use strict";

(function () {
  const FRAGMENT = "text/html-fragment";
  const ID = /^\d+$/;

  // --- Times: relative on the page, the reader's local time on hover -------------------------

  function relative(then, now) {
    const seconds = Math.max(0, Math.floor((now - then) / 1000));
    if (seconds < 60) return seconds + "s";
    if (seconds < 3600) return Math.floor(seconds / 60) + "m";
    if (seconds < 86400) return Math.floor(seconds / 3600) + "h";
    if (seconds < 7 * 86400) return Math.floor(seconds / 86400) + "d";
    const sameYear = new Date(now).getFullYear() === then.getFullYear();
    const options = sameYear
      ? { month: "short", day: "numeric" }
      : { month: "short", day: "numeric", year: "numeric" };
    return then.toLocaleDateString(undefined, options);
  }

  function refreshTimes(root) {
    const now = Date.now();
    root.querySelectorAll("time[datetime]").forEach((element) => {
      if (element.closest(".joined")) return; // a date, not a moment
      const then = new Date(element.getAttribute("datetime"));
      if (Number.isNaN(then.getTime())) return;
      if (element.classList.contains("until")) {
        element.textContent = then.toLocaleString(); // a moment to come: when, not how long ago
        return;
      }
      element.textContent = relative(then, now);
      element.title = then.toLocaleString();
    });
  }

  // --- Fragments ------------------------------------------------------------------------------

  function parse(html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function messageOf(html, status) {
    const page = new DOMParser().parseFromString(html, "text/html");
    const found = page.querySelector(".error, [role=alert]");
    const text = (found ? found.textContent : page.body.textContent || "").trim();
    return text && text.length < 300 ? text : "The server answered " + status + ". Try again.";
  }

  function showError(container, message) {
    const slot = container.querySelector(".error[role=alert]");
    if (slot) {
      slot.textContent = message;
      slot.classList.remove("hidden");
    } else {
      window.alert(message);
    }
  }

  function dropEmptyNotice() {
    document.querySelectorAll("p.empty").forEach((element) => element.remove());
  }

  async function fetchCard(entryId) {
    const back = encodeURIComponent(location.pathname + location.search);
    const response = await fetch("/fragments/status/" + entryId + "?back=" + back, {
      headers: { Accept: FRAGMENT },
      credentials: "same-origin",
    });
    if (!response.ok) return null;
    const node = parse(await response.text());
    if (node) refreshTimes(node);
    return node;
  }

  function place(target, node, atEnd) {
    const existing = node.dataset.id && target.querySelector('[data-id="' + node.dataset.id + '"]');
    if (existing) existing.replaceWith(node);
    else if (atEnd) target.append(node);
    else target.prepend(node);
    dropEmptyNotice();
  }

  // --- Forms that act in place ----------------------------------------------------------------

  async function submitInPlace(event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-inplace")) return;
    const insert = form.dataset.insert;
    const target = insert ? document.querySelector(insert) : null;
    if (insert && !target) return; // nowhere to show the result: the plain form does it
    event.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    const container = insert ? form : form.closest("[data-fragment]") || form;
    const buttons = Array.from(form.querySelectorAll("button"));
    buttons.forEach((button) => (button.disabled = true));
    let response;
    let html;
    try {
      response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: FRAGMENT },
        credentials: "same-origin",
      });
      html = await response.text();
    } catch (error) {
      showError(container, "The server could not be reached. Try again.");
      return;
    } finally {
      buttons.forEach((button) => (button.disabled = false));
    }
    if (!response.ok) {
      showError(container, messageOf(html, response.status));
      return;
    }
    if (response.status === 204) {
      container.remove();
      return;
    }
    const node = parse(html);
    if (!node) return;
    refreshTimes(node);
    if (target) {
      place(target, node, insert === "#replies");
      form.reset();
      const slot = form.querySelector(".error[role=alert]");
      if (slot) slot.classList.add("hidden");
    } else {
      container.replaceWith(node);
    }
  }

  // --- Live updates ---------------------------------------------------------------------------

  function setUnread(count) {
    document.querySelectorAll(".notification-count").forEach((badge) => {
      badge.textContent = String(count);
      badge.setAttribute("aria-label", count + " unread");
      badge.classList.toggle("hidden", !count);
    });
  }

  function idOf(event) {
    try {
      const data = JSON.parse(event.data);
      const id = String(data.id);
      return ID.test(id) ? id : null;
    } catch (error) {
      return null;
    }
  }

  function listen() {
    if (!("EventSource" in window) || !document.body.hasAttribute("data-stream")) return;
    const timeline = document.querySelector("#timeline[data-live]");
    const query = timeline ? "?timeline=" + encodeURIComponent(timeline.dataset.live) : "";
    const source = new EventSource("/streaming" + query);
    source.addEventListener("update", async (event) => {
      const id = idOf(event);
      if (!id || !timeline || timeline.querySelector('[data-id="' + id + '"]')) return;
      const node = await fetchCard(id);
      if (node) place(timeline, node, false);
    });
    source.addEventListener("notification", (event) => {
      try {
        setUnread(Number(JSON.parse(event.data).unread) || 0);
      } catch (error) {
        // a malformed message changes nothing
      }
    });
    source.addEventListener("delete", (event) => {
      const id = idOf(event);
      if (!id) return;
      document
        .querySelectorAll('article.status[data-id="' + id + '"], article.status[data-status="' + id + '"]')
        .forEach((card) => card.remove());
    });
    source.addEventListener("status.update", (event) => {
      const id = idOf(event);
      if (!id) return;
      document.querySelectorAll('article.status[data-status="' + id + '"]').forEach(async (card) => {
        const node = await fetchCard(card.dataset.id);
        if (node && card.isConnected) card.replaceWith(node);
      });
    });
  }

  // --- Times typed into forms: the browser's local time ----------------------------------------
  // A datetime-local field has no time zone: without this script the server reads it as UTC
  // (and the label says so); with it, tz_offset carries the offset for the chosen date.

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  function localTimes(root) {
    root.querySelectorAll(".tz-label[data-local]").forEach((label) => {
      label.textContent = label.dataset.local;
    });
    root.querySelectorAll('input[type="datetime-local"][data-utc]').forEach((input) => {
      const then = new Date(input.dataset.utc + ":00Z");
      if (Number.isNaN(then.getTime())) return;
      input.value =
        then.getFullYear() + "-" + pad(then.getMonth() + 1) + "-" + pad(then.getDate()) +
        "T" + pad(then.getHours()) + ":" + pad(then.getMinutes());
    });
  }

  function fillOffset(event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    const field = form.elements.namedItem("scheduled_at");
    const offset = form.elements.namedItem("tz_offset");
    if (!(field instanceof HTMLInputElement) || !(offset instanceof HTMLInputElement)) return;
    const chosen = field.value ? new Date(field.value) : null;
    offset.value = chosen && !Number.isNaN(chosen.getTime()) ? String(chosen.getTimezoneOffset()) : "";
    // A scheduled post is no card to show here: the plain form goes to the scheduled list.
    if (field.value) form.removeAttribute("data-inplace");
  }

  document.addEventListener("submit", fillOffset, true);
  document.addEventListener("submit", submitInPlace);
  document.addEventListener("DOMContentLoaded", () => {
    localTimes(document);
    refreshTimes(document);
    listen();
    window.setInterval(() => refreshTimes(document), 30000);
  });
})();
