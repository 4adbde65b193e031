// Progressive enhancement only: every page works without this file.
"use strict";

// Show <time datetime> values in the reader's own time zone.
function localizeTimes(root) {
  const fmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  for (const el of root.querySelectorAll("time[datetime][data-local]")) {
    const d = new Date(el.getAttribute("datetime"));
    if (!isNaN(d)) {
      el.title = el.textContent;
      el.textContent = fmt.format(d);
    }
  }
}

// Select a freshly created API token on focus so it is easy to copy.
function selectOnFocus(root) {
  for (const el of root.querySelectorAll("input.token")) {
    el.addEventListener("focus", () => el.select());
  }
}

// "Report a problem": while the customer types, fetch the same page the
// Continue button would show and put its matches under the form. Without
// JavaScript the button does the same in two steps.
function suggestWhileTyping(root) {
  const form = root.querySelector("form#report-form");
  if (!form) return;
  const input = form.querySelector("#report-title");
  let timer = 0;
  let seq = 0;
  const refresh = async () => {
    const mine = ++seq;
    const params = new URLSearchParams(new FormData(form));
    if (input.value.trim().length < 3) return;
    try {
      const resp = await fetch(form.action + "?" + params.toString(), { headers: { Accept: "text/html" } });
      if (!resp.ok || mine !== seq) return;
      const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
      const fresh = doc.querySelector("section[aria-labelledby=matches-heading]");
      const old = root.querySelector("section[aria-labelledby=matches-heading]");
      if (!fresh) return;
      localizeTimes(fresh);
      if (old) old.replaceWith(fresh); else form.after(fresh);
    } catch (e) {
      // Offline or overloaded: the Continue button still works.
    }
  };
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  localizeTimes(document);
  selectOnFocus(document);
  suggestWhileTyping(document);
});
