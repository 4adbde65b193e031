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

document.addEventListener("DOMContentLoaded", () => {
  localizeTimes(document);
  selectOnFocus(document);
});
