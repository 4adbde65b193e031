// Progressive enhancement only: every page works without this file.
"use strict";

// Show <time datetime> values in the reader's own time zone.
function localizeTimes(root) {
  const fmt = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric", hour: "numeric", minute: "2-digit", timeZoneName: "short" });
  for (const el of root.querySelectorAll("time[datetime][data-local]")) {
    const d = new Date(el.getAttribute("datetime"));
    if (!isNaN(d)) {
      el.title = el.textContent;
      el.textContent = fmt.format(d);
    }
  }
}

// Time fields on staff forms are UTC. Beside them: the current time in UTC
// and in the reader's own zone, each field's time in the reader's zone, and
// for the promise of the next update, when it falls due ("in 30 min, 14:30
// UTC"). The page says the same without JavaScript, in UTC only.
function utcFields(root) {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const utc = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: "UTC" });
  const local = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  const awayFromUTC = new Date().getTimezoneOffset() !== 0;
  // "14:30 UTC", and the reader's own time when their zone is not UTC.
  const both = (d) => utc.format(d) + " UTC" + (awayFromUTC ? ", " + local.format(d) + " your time" : "");
  const fromField = (v) => (v ? new Date(v + "Z") : null); // datetime-local, read as UTC
  const inWords = (ms) => {
    const min = Math.round(ms / 60000);
    if (min < 60) return "in " + min + " min";
    const h = Math.floor(min / 60);
    return "in " + h + " h" + (min % 60 ? " " + (min % 60) + " min" : "");
  };
  const notes = [];
  for (const input of root.querySelectorAll("input[data-utc]")) {
    const note = document.createElement("span");
    note.className = "help";
    note.setAttribute("aria-live", "polite");
    input.after(note);
    const show = () => {
      const d = fromField(input.value);
      note.textContent = d && !isNaN(d) && awayFromUTC ? "= " + local.format(d) + " your time" : "";
    };
    input.addEventListener("input", show);
    notes.push(show);
  }
  const promises = [];
  for (const set of root.querySelectorAll("[data-promise]")) {
    const preview = set.querySelector(".promise-preview");
    const at = set.querySelector("input[name=next_update_at]");
    const atChoice = set.querySelector("input[name=next_in][value=at]");
    const show = () => {
      const now = new Date();
      for (const radio of set.querySelectorAll("input[data-minutes]")) {
        const label = radio.parentElement.querySelector("[data-promise-at]");
        if (label) label.textContent = "(" + both(new Date(now.getTime() + radio.dataset.minutes * 60000)) + ")";
      }
      const chosen = set.querySelector("input[name=next_in]:checked");
      let when = null;
      if (chosen && chosen.dataset.minutes) when = new Date(now.getTime() + chosen.dataset.minutes * 60000);
      if (chosen && chosen.value === "at") when = fromField(at.value);
      preview.hidden = false;
      if (chosen && chosen.value === "none") {
        preview.textContent = "No further update planned: the incident will say so publicly.";
      } else if (when && !isNaN(when)) {
        preview.textContent = "Next update " + (when > now ? inWords(when - now) + ", " : "") + both(when) + (when > now ? "." : ": that is in the past.");
      } else {
        preview.hidden = true;
      }
    };
    if (at && atChoice) at.addEventListener("input", () => { atChoice.checked = true; show(); });
    set.addEventListener("change", show);
    promises.push(show);
  }
  const clocks = root.querySelectorAll("[data-utc-now]");
  const tick = () => {
    for (const el of clocks) el.textContent = both(new Date()) + (awayFromUTC ? " (" + zone + ")" : "");
    promises.forEach((f) => f());
  };
  notes.forEach((f) => f());
  if (clocks.length || promises.length) {
    tick();
    setInterval(tick, 30000);
  }
}

// Select a freshly created API token on focus so it is easy to copy.
function selectOnFocus(root) {
  for (const el of root.querySelectorAll("input.token")) {
    el.addEventListener("focus", () => el.select());
  }
}

// While someone types into a form with data-suggest, show what matches:
// the page at data-suggest-from (the form's own address by default) is
// fetched with what was typed (the data-suggest-field input, "title" by
// default, and the service chosen) and its data-suggest-part element (the
// slot's own selector by default) fills the data-suggest slot. "Report a
// problem" and the new-thread form offer the open incidents and threads
// about it; the merge tool the threads to merge into. Without JavaScript
// each form does the same in two steps.
function suggestWhileTyping(root) {
  for (const form of root.querySelectorAll("form[data-suggest]")) {
    const slot = root.querySelector(form.dataset.suggest);
    const field = form.dataset.suggestField || "title";
    const input = form.querySelector("[name=" + field + "]");
    const service = form.querySelector("select[name=service], select[name=service_id]");
    const from = form.dataset.suggestFrom || form.getAttribute("action");
    const part = form.dataset.suggestPart || form.dataset.suggest;
    const least = Number(form.dataset.suggestMin || 3);
    if (!slot || !input) continue;
    let timer = 0;
    let seq = 0;
    const refresh = async () => {
      const mine = ++seq;
      if (input.value.trim().length < least) return;
      const params = new URLSearchParams({ [field]: input.value });
      if (service && service.value) params.set("service", service.value);
      try {
        const resp = await fetch(from + "?" + params.toString(), { headers: { Accept: "text/html" } });
        if (!resp.ok || mine !== seq) return;
        const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
        const fresh = doc.querySelector(part);
        if (!fresh) return;
        localizeTimes(fresh);
        slot.replaceChildren(...fresh.childNodes);
      } catch (e) {
        // Offline or overloaded: the form still works.
      }
    };
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(refresh, 300);
    });
  }
}

// A form refused for coming too soon says how long to wait. Count it down,
// keep the send button off until then, and turn it on at zero (previews
// stay on: they are limited apart).
function countdowns(root) {
  for (const timer of root.querySelectorAll("[data-countdown]")) {
    const left = timer.querySelector("[data-countdown-left]");
    const form = timer.closest("form");
    const buttons = form ? [...form.querySelectorAll("button[type=submit]:not([name=preview])")] : [];
    const end = Date.now() + Number(timer.dataset.countdown) * 1000;
    buttons.forEach((b) => (b.disabled = true));
    const tick = () => {
      const s = Math.ceil((end - Date.now()) / 1000);
      if (s > 0) {
        left.textContent = s === 1 ? "1 second" : s + " seconds";
        return;
      }
      clearInterval(id);
      timer.textContent = "You can send it now.";
      buttons.forEach((b) => (b.disabled = false));
    };
    const id = setInterval(tick, 250);
    tick();
  }
}

// Live updates (Server-Sent Events). The events say what changed; the page
// takes the new state from the server's own HTML for that address, so what
// a stream shows is always what a reload would show. Without EventSource, or
// when the server has no room for another stream, the page stays as it is.

// fetchPage reads a page of this site as a document, or null.
async function fetchPage(url) {
  try {
    const resp = await fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" });
    if (!resp.ok) return null;
    return new DOMParser().parseFromString(await resp.text(), "text/html");
  } catch (e) {
    return null;
  }
}

// replaceFrom swaps each selector's element for its fresh copy in doc.
function replaceFrom(doc, selectors) {
  for (const sel of selectors) {
    const old = document.querySelector(sel);
    const fresh = doc.querySelector(sel);
    if (old && fresh) {
      localizeTimes(fresh);
      old.replaceWith(document.importNode(fresh, true));
    }
  }
}

// listen opens a stream and hands each named event to its handler. A stream
// the server refused (busy, or gone) is tried again a minute later; the
// browser reconnects by itself, with Last-Event-ID, after a dropped one.
function listen(url, handlers) {
  if (!window.EventSource) return;
  const es = new EventSource(url);
  for (const [name, fn] of Object.entries(handlers)) {
    es.addEventListener(name, (ev) => {
      try {
        fn(JSON.parse(ev.data));
      } catch (e) {
        // A malformed event changes nothing on the page.
      }
    });
  }
  es.addEventListener("error", () => {
    if (es.readyState === EventSource.CLOSED) setTimeout(() => listen(url, handlers), 60000);
  });
}

// liveThread keeps a thread or incident page current: the incident's header
// and timeline change in place, a changed post is redrawn, and new posts wait
// behind a "N new posts: show" bar instead of moving the page.
function liveThread(root) {
  const article = root.querySelector("[data-live-thread]");
  if (!article) return;
  const bar = root.querySelector("#new-posts");
  const button = bar && bar.querySelector("button");
  const waiting = new Set();
  const here = () => article.dataset.livePage; // not a form's address after a refused post
  const showBar = () => {
    if (!bar) return;
    bar.hidden = waiting.size === 0;
    button.textContent = waiting.size === 1 ? "1 new post: show" : waiting.size + " new posts: show";
  };
  const refreshParts = async () => {
    const doc = await fetchPage(here());
    if (doc) replaceFrom(doc, ["#incident-header", "#thread-header", "#thread-banners", "#timeline", "#affected"]);
  };
  if (button) {
    button.addEventListener("click", async () => {
      const doc = await fetchPage(here());
      const list = document.querySelector("ol.posts");
      if (!doc || !list) return;
      const newest = Math.max(...waiting);
      for (const li of doc.querySelectorAll("ol.posts > li.post")) {
        if (!document.getElementById(li.id)) {
          localizeTimes(li);
          list.appendChild(document.importNode(li, true));
        }
      }
      waiting.clear();
      showBar();
      const shown = document.getElementById("post-" + newest);
      if (shown) {
        shown.scrollIntoView({ behavior: "smooth", block: "start" });
      } else {
        location.href = "/posts/" + newest; // on a later page
      }
    });
  }
  listen("/api/v1/stream?thread=" + encodeURIComponent(article.dataset.liveThread), {
    post: async (p) => {
      const li = document.getElementById("post-" + p.id);
      if (!li) {
        if (!p.hidden && String(p.thread_id) === article.dataset.liveThread) {
          waiting.add(p.id);
          showBar();
        }
        return;
      }
      const doc = await fetchPage(here());
      if (doc && p.official) replaceFrom(doc, ["#timeline"]); // shown there in full
      const fresh = doc && doc.getElementById("post-" + p.id);
      if (fresh) {
        localizeTimes(fresh);
        li.replaceWith(document.importNode(fresh, true));
      } else if (doc) {
        li.remove(); // moved away, or hidden from this reader
      }
    },
    incident: refreshParts,
    thread: refreshParts,
  });
}

// liveStatus refreshes the dashboard in place when its data changes.
function liveStatus(root) {
  if (!root.querySelector("[data-live-status]")) return;
  listen("/api/v1/stream?status=1", {
    status: async () => {
      const doc = await fetchPage("/");
      if (!doc) return;
      const days = () => [...document.querySelectorAll("details.day")];
      const open = days().findIndex((d) => d.open); // keep a day's popover open
      replaceFrom(doc, ["#dashboard"]);
      if (open >= 0 && days()[open]) days()[open].open = true;
    },
  });
}

// liveBell keeps the navigation's count of unread notifications current.
function liveBell(root) {
  const count = root.querySelector("#unread-count");
  if (!count || !document.body.dataset.notifications) return;
  listen("/api/v1/stream?notifications=1", {
    notification: (n) => {
      count.dataset.count = n.unread;
      count.textContent = n.unread > 0 ? String(n.unread) : "";
      if (n.unread > 0) {
        const hidden = document.createElement("span");
        hidden.className = "visually-hidden";
        hidden.textContent = " unread";
        count.appendChild(hidden);
      }
    },
  });
}

// jumpToUnread brings the first post the reader has not read into view
// when it is on this page (the banner's link does it otherwise).
function jumpToUnread(root) {
  const banner = root.querySelector("[data-first-unread]");
  if (!banner || location.hash) return;
  const post = document.getElementById("post-" + banner.dataset.firstUnread);
  if (post) post.scrollIntoView({ block: "start" });
}

// The dashboard's days open one at a time without script (details
// name="day"); Escape or a tap elsewhere closes the open one.
function closeDays() {
  const close = (except) => {
    for (const d of document.querySelectorAll("details.day[open]")) {
      if (d !== except) d.open = false;
    }
  };
  document.addEventListener("click", (ev) => close(ev.target.closest && ev.target.closest("details.day")));
  document.addEventListener("keydown", (ev) => {
    const open = ev.key === "Escape" && document.querySelector("details.day[open]");
    if (open) {
      close(null);
      open.querySelector("summary").focus();
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  localizeTimes(document);
  jumpToUnread(document);
  selectOnFocus(document);
  countdowns(document);
  utcFields(document);
  suggestWhileTyping(document);
  liveThread(document);
  liveStatus(document);
  closeDays();
  liveBell(document);
});
