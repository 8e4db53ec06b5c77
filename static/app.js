// Solo's progressive enhancement. Every page and form works without this file; with it,
// action forms act in place, times stay relative, and new posts and notifications arrive live.
"use strict";

(function () {
  const FRAGMENT = "text/html-fragment";
  const ID = /^\d+$/;
  const LANG = document.documentElement.lang || "en";

  // --- Words: the page's language, from the JSON base.html puts in a <meta> --------------------

  const MESSAGES = (() => {
    const meta = document.querySelector("meta[name=script-messages]");
    try {
      return meta ? JSON.parse(meta.content) : {};
    } catch (error) {
      return {};
    }
  })();
  const PLURALS = new Intl.PluralRules(LANG);

  function say(key, n, fallback) {
    let text = MESSAGES[key] || fallback;
    if (Array.isArray(text)) text = text[PLURALS.select(n) === "one" ? 0 : 1];
    return text.replace("{n}", String(n));
  }

  function unit(count, name) {
    return new Intl.NumberFormat(LANG, { style: "unit", unit: name, unitDisplay: "narrow" })
      .format(count);
  }

  // --- Times: relative on the page, the reader's local time on hover -------------------------

  function relative(then, now) {
    const seconds = Math.max(0, Math.floor((now - then) / 1000));
    if (seconds < 60) return unit(seconds, "second");
    if (seconds < 3600) return unit(Math.floor(seconds / 60), "minute");
    if (seconds < 86400) return unit(Math.floor(seconds / 3600), "hour");
    if (seconds < 7 * 86400) return unit(Math.floor(seconds / 86400), "day");
    const sameYear = new Date(now).getFullYear() === then.getFullYear();
    const options = sameYear
      ? { month: "short", day: "numeric" }
      : { month: "short", day: "numeric", year: "numeric" };
    return then.toLocaleDateString(LANG, options);
  }

  function refreshTimes(root) {
    const now = Date.now();
    root.querySelectorAll("time[datetime]").forEach((element) => {
      if (element.closest(".joined")) return; // a date, not a moment
      const then = new Date(element.getAttribute("datetime"));
      if (Number.isNaN(then.getTime())) return;
      if (element.classList.contains("until")) {
        element.textContent = then.toLocaleString(LANG); // to come: when, not how long ago
        return;
      }
      element.textContent = relative(then, now);
      element.title = then.toLocaleString(LANG);
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
    if (text && text.length < 300) return text;
    return say("answered", status, "The server answered {n}. Try again.");
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
      showError(container, say("unreachable", 0, "The server could not be reached. Try again."));
      return;
    } finally {
      buttons.forEach((button) => (button.disabled = false));
    }
    if (!response.ok) {
      showError(container, messageOf(html, response.status));
      return;
    }
    if (response.status === 204) {
      const next = neighbour(container);
      container.remove();
      if (next) focusCard(next);
      announce(form.dataset.done);
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
      announce(form.dataset.done);
    } else {
      const hadFocus = container.contains(document.activeElement) || document.activeElement === document.body;
      container.replaceWith(node);
      if (hadFocus) focusAfter(node, form);
      const said = node.querySelector(".notice[role=status]");
      announce((said && said.textContent.trim()) || form.dataset.done);
    }
  }

  // --- Focus and what happened, after an action in place ----------------------------------------
  // The card or relationship is replaced by the server's new one: focus goes to the button that
  // now stands where the pressed one was (Favourite becomes Unfavourite), and the polite live
  // region says what happened, so that neither sight nor a screen reader loses its place.

  function pathOf(form) {
    return new URL(form.action, location.href).pathname;
  }

  function opposite(path) {
    const cut = path.lastIndexOf("/") + 1;
    const last = path.slice(cut);
    return path.slice(0, cut) + (last.startsWith("un") ? last.slice(2) : "un" + last);
  }

  function focusAfter(node, form) {
    const path = pathOf(form);
    const forms = Array.from(node.querySelectorAll("form"));
    const found =
      forms.find((f) => pathOf(f) === opposite(path)) || forms.find((f) => pathOf(f) === path);
    let button = found ? found.querySelector("button") : null;
    const menu = button ? button.closest("details:not([open])") : null;
    if (menu) button = menu.querySelector("summary");
    if (button) button.focus();
    else if (node.matches("article.status")) focusCard(node);
  }

  function neighbour(card) {
    if (!card.matches("article.status")) return null;
    const cards = visibleCards();
    const at = cards.indexOf(card);
    return cards[at + 1] || cards[at - 1] || null;
  }

  let announcer = null;

  function announce(text) {
    if (!announcer || !text) return;
    // Emptied first, so that saying the same thing twice is heard twice.
    announcer.textContent = "";
    window.setTimeout(() => (announcer.textContent = text), 50);
  }

  function makeAnnouncer() {
    announcer = document.createElement("div");
    announcer.id = "announcer";
    announcer.className = "visually-hidden";
    announcer.setAttribute("aria-live", "polite");
    announcer.setAttribute("role", "status");
    document.body.append(announcer);
  }

  // --- Live updates ---------------------------------------------------------------------------

  function setUnread(count) {
    document.querySelectorAll(".notification-count").forEach((badge) => {
      badge.textContent = String(count);
      badge.setAttribute("aria-label", say("unread", count, "{n} unread"));
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
    const pill = timeline ? newPosts(timeline) : null;
    source.addEventListener("update", async (event) => {
      const id = idOf(event);
      if (!id || !timeline || timeline.querySelector('[data-id="' + id + '"]')) return;
      const node = await fetchCard(id);
      if (!node) return;
      if (pill) pill.add(node);
      else place(timeline, node, false);
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

  // --- "N new posts": live posts wait above the timeline while the reader is further down -------
  // Inserting them there would move what the reader is reading; at the top they go straight in.

  function readingAtTop(timeline) {
    return timeline.getBoundingClientRect().top >= -40;
  }

  function newPosts(timeline) {
    const button = document.querySelector("button.new-posts");
    if (!button) return null;
    const waiting = [];

    function label() {
      return say("newPosts", waiting.length, "{n} new posts");
    }

    function show() {
      // Oldest first, so the newest ends on top (they may have arrived out of order).
      const cards = waiting.splice(0).sort((a, b) => (BigInt(a.dataset.id) < BigInt(b.dataset.id) ? -1 : 1));
      cards.forEach((node) => place(timeline, node, false));
      button.classList.add("hidden");
      return cards;
    }

    button.addEventListener("click", () => {
      const cards = show();
      timeline.scrollIntoView({ block: "start" });
      if (cards.length) focusCard(timeline.querySelector("article.status"));
    });
    window.addEventListener(
      "scroll",
      () => {
        if (waiting.length && readingAtTop(timeline)) show();
      },
      { passive: true }
    );

    return {
      add(node) {
        const known = waiting.findIndex((n) => n.dataset.id === node.dataset.id);
        if (known >= 0) waiting[known] = node;
        else if (readingAtTop(timeline) && !waiting.length) {
          place(timeline, node, false);
          return;
        } else waiting.unshift(node);
        button.textContent = label();
        button.classList.remove("hidden");
      },
    };
  }

  // --- Keyboard shortcuts ------------------------------------------------------------------------
  // Mastodon's: j/k move between posts, Enter or o opens one, r replies, f favourites, b boosts,
  // n writes a new post, / searches, ? lists them, Escape closes menus. Ignored while typing.

  function visibleCards() {
    return Array.from(document.querySelectorAll("main article.status")).filter(
      (card) => card.getClientRects().length > 0
    );
  }

  function focusCard(card) {
    if (!card) return;
    card.tabIndex = -1;
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
  }

  function currentCard() {
    const active = document.activeElement;
    return active instanceof Element ? active.closest("main article.status") : null;
  }

  function move(step) {
    const cards = visibleCards();
    if (!cards.length) return;
    const at = cards.indexOf(currentCard());
    const next = at < 0 ? (step > 0 ? 0 : cards.length - 1) : Math.min(Math.max(at + step, 0), cards.length - 1);
    focusCard(cards[next]);
  }

  function press(selector) {
    const card = currentCard();
    const button = card && card.querySelector(selector);
    if (button) button.click();
  }

  function visible(element) {
    return element && element.getClientRects().length > 0;
  }

  function goTo(field, address) {
    if (visible(field)) {
      field.scrollIntoView({ block: "center" });
      field.focus();
    } else {
      location.assign(address);
    }
  }

  function closeMenus() {
    let closed = false;
    document.querySelectorAll("details.more[open], details.menu[open]").forEach((menu) => {
      const inside = menu.contains(document.activeElement);
      menu.open = false;
      if (inside) menu.querySelector("summary").focus();
      closed = true;
    });
    return closed;
  }

  function typing(target) {
    return (
      target instanceof HTMLElement &&
      (target.isContentEditable || target.closest("input, textarea, select, [contenteditable]"))
    );
  }

  const KEYS = {
    j: () => move(1),
    k: () => move(-1),
    o: () => press("a.permalink"),
    r: () => press("a.action.reply"),
    f: () => press("form.favourite button, form.unfavourite button"),
    b: () => press("form.boost button, form.unboost button"),
    n: () => goTo(document.querySelector("#compose-text"), "/compose"),
    "/": () => goTo(document.querySelector("#search-q, #search-page-q"), "/search"),
    "?": () => {
      const help = document.querySelector("#shortcuts");
      if (help && !help.open) help.showModal();
    },
  };

  function onKey(event) {
    if (event.key === "Escape" && closeMenus()) {
      event.preventDefault();
      return;
    }
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target) || document.querySelector("dialog[open]")) return;
    if (event.key === "Enter" && event.target instanceof Element && event.target.matches("article.status")) {
      event.preventDefault();
      press("a.permalink");
      return;
    }
    const action = KEYS[event.key];
    if (!action) return;
    event.preventDefault();
    action();
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
  document.addEventListener("keydown", onKey);
  document.addEventListener("DOMContentLoaded", () => {
    makeAnnouncer();
    localTimes(document);
    refreshTimes(document);
    listen();
    window.setInterval(() => refreshTimes(document), 30000);
  });
})();
