// "Leave quickly", and a tab history that holds at most one Veil page.
//
// The quick-exit link (#quick-exit) goes to the operator's neutral page
// (Settings.quick_exit_url, about:blank by default). Clicked, it first blanks this
// page and forgets what the page holds (the caller's `forget`), then uses
// location.replace: the neutral page takes this page's place in the tab's history,
// so Back does not return to Veil. Without JavaScript it is still a plain link.
//
// Links from one Veil page to the other (/protect <-> /case) also replace the page
// instead of adding to the history, so there is never an earlier Veil page for Back
// to show either. What a script cannot do is erase the browser's own history list;
// the page says so, and suggests a private window.

/** Go to `href` in place of this page in the tab's history. */
export function replacePage(href) {
  window.location.replace(href);
}

function plainClick(event) {
  return event.button === 0 && !event.ctrlKey && !event.metaKey && !event.shiftKey
    && !event.altKey;
}

/**
 * Wire #quick-exit and the links between the pages. `forget()` drops what the page
 * holds (a case code, chosen photos) and any "are you sure?" before leaving.
 */
export function startExit(forget) {
  const exit = document.getElementById("quick-exit");
  if (exit) {
    exit.addEventListener("click", (event) => {
      event.preventDefault();
      try {
        if (forget) forget();
      } finally {
        document.documentElement.classList.add("leaving"); // nothing left on screen
        replacePage(exit.href);
      }
    });
  }
  for (const a of document.querySelectorAll("a[data-lang-href]")) {
    a.addEventListener("click", (event) => {
      if (!plainClick(event) || event.defaultPrevented) return;
      event.preventDefault();
      replacePage(a.href);
    });
  }
}
