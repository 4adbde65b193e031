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

// Select a freshly created API token on focus so it is easy to copy.
function selectOnFocus(root) {
  for (const el of root.querySelectorAll("input.token")) {
    el.addEventListener("focus", () => el.select());
  }
}

// While a customer types what is wrong (report a problem, new thread), show
// the open incidents and threads about it: the report page's matches, fetched
// and placed in the form's data-suggest element. Without JavaScript the
// report page does the same in two steps.
function suggestWhileTyping(root) {
  for (const form of root.querySelectorAll("form[data-suggest]")) {
    const slot = root.querySelector(form.dataset.suggest);
    const title = form.querySelector("[name=title]");
    const service = form.querySelector("select[name=service], select[name=service_id]");
    if (!slot || !title) continue;
    let timer = 0;
    let seq = 0;
    const refresh = async () => {
      const mine = ++seq;
      if (title.value.trim().length < 3) return;
      const params = new URLSearchParams({ title: title.value });
      if (service && service.value) params.set("service", service.value);
      try {
        const resp = await fetch("/report?" + params.toString(), { headers: { Accept: "text/html" } });
        if (!resp.ok || mine !== seq) return;
        const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
        const fresh = doc.querySelector("#report-matches");
        if (!fresh) return;
        localizeTimes(fresh);
        slot.replaceChildren(...fresh.childNodes);
      } catch (e) {
        // Offline or overloaded: the form still works.
      }
    };
    title.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(refresh, 300);
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  localizeTimes(document);
  selectOnFocus(document);
  suggestWhileTyping(document);
});
