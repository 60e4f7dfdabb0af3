/* The site header on a phone: the links fold behind one Menu button so the header stays one row. */
const button = document.querySelector("[data-menu-button]");
const menu = document.querySelector("[data-menu]");
if (button && menu) {
  const narrow = window.matchMedia("(max-width: 899px)");
  const close = () => { button.setAttribute("aria-expanded", "false"); menu.classList.remove("is-open"); };
  const sync = () => { button.hidden = !narrow.matches; if (!narrow.matches) { close(); } };
  button.addEventListener("click", () => {
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    menu.classList.toggle("is-open", open);
    if (open) { const first = menu.querySelector("a, button, select"); if (first) { first.focus(); } }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") { close(); button.focus(); }
  });
  narrow.addEventListener("change", sync);
  sync();
  document.documentElement.classList.add("gmi-has-menu");
}
