// The top bar's "More" disclosure (a <details>): a click elsewhere or Escape closes it (Escape
// gives the focus back to its summary), and Space on the summary opens it instead of starting.

export function createMore(details) {
  const summary = details.querySelector("summary");
  const inDrawer = () => document.body.classList.contains("drawer-open");
  document.addEventListener("click", (ev) => {
    if (details.open && !inDrawer() && !details.contains(ev.target)) details.open = false;
  });
  details.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && details.open) {
      ev.stopPropagation();
      details.open = false;
      summary.focus();
    } else if (ev.target === summary && (ev.key === " " || ev.key === "Enter")) {
      ev.stopPropagation(); // the page's own keys (Space = start) stay out of the summary's way
    }
  });
}
