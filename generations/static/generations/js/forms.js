/* Forms: a live character counter where a model caps a field (the server refuses longer text with a
   message; nothing is cut), long prompts folded past a few lines, and drop zones with a preview
   (the image, or a video's first frame), replace and remove around the upload inputs app.js sends. */

/* ------------------------------------------------------------------ counters */
document.querySelectorAll("[data-max-chars]").forEach((control) => {
  const max = Number(control.getAttribute("data-max-chars"));
  let counter = control.id ? document.querySelector(`[data-counter-for="${CSS.escape(control.id)}"]`) : null;
  if (!counter) {
    counter = document.createElement("p");
    counter.className = "gmi-counter";
    counter.setAttribute("aria-live", "polite");
    control.insertAdjacentElement("afterend", counter);
  }
  counter.id = counter.id || `${control.id || control.name}-counter`;
  const described = (control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
  if (!described.includes(counter.id)) { control.setAttribute("aria-describedby", [...described, counter.id].join(" ")); }
  const update = () => {
    const length = control.value.length;
    const over = length > max;
    counter.hidden = length < max * 0.8 && !over;
    counter.classList.toggle("is-over", over);
    counter.textContent = over
      ? `${(length - max).toLocaleString()} characters too many (${length.toLocaleString()} of ${max.toLocaleString()}): shorten it before sending.`
      : `${length.toLocaleString()} of ${max.toLocaleString()} characters`;
  };
  control.addEventListener("input", update);
  update();
});

/* ------------------------------------------------------------------ folded prompts */
document.querySelectorAll("[data-fold]").forEach((block) => {
  const body = block.querySelector("[data-fold-body]");
  if (!body || body.scrollHeight < 140) { return; }  // about six lines: short prompts stay open
  block.classList.add("is-folded");
  const toggle = document.createElement("button");
  toggle.type = "button";
  toggle.className = "gmi-linkbtn gmi-prompt__toggle";
  toggle.setAttribute("aria-expanded", "false");
  toggle.setAttribute("aria-controls", body.id);
  toggle.textContent = "Show the whole prompt";
  toggle.addEventListener("click", () => {
    const folded = block.classList.toggle("is-folded");
    toggle.setAttribute("aria-expanded", String(!folded));
    toggle.textContent = folded ? "Show the whole prompt" : "Show less";
  });
  block.appendChild(toggle);
});

/* ------------------------------------------------------------------ drop zones */
document.querySelectorAll("[data-drop]").forEach((zone) => {
  const input = zone.querySelector("[data-upload-input]");
  const field = zone.querySelector("[data-param]");
  const preview = zone.querySelector("[data-drop-preview]");
  const media = zone.querySelector("[data-drop-media]");
  const hint = zone.querySelector("[data-drop-hint]");
  if (!input || !field || !preview || !media) { return; }
  if (hint) { hint.hidden = false; }
  let objectUrl = null;

  const show = (file) => {
    if (objectUrl) { URL.revokeObjectURL(objectUrl); }
    media.replaceChildren();
    if (!file) { preview.hidden = true; return; }
    objectUrl = URL.createObjectURL(file);
    let element;
    if (file.type.startsWith("image/")) {
      element = document.createElement("img");
      element.alt = `Preview of ${file.name}`;
    } else if (file.type.startsWith("video/")) {
      element = document.createElement("video");  // shows its first frame
      element.muted = true;
      element.preload = "metadata";
      element.setAttribute("aria-label", `Preview of ${file.name}`);
    } else {
      element = document.createElement("span");
      element.textContent = file.name;
    }
    if (element.tagName !== "SPAN") { element.src = objectUrl; }
    media.appendChild(element);
    preview.hidden = false;
  };

  input.addEventListener("change", () => show(input.files[0] || null));
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("is-over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("is-over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("is-over");
    if (!event.dataTransfer || !event.dataTransfer.files.length) { return; }
    const transfer = new DataTransfer();
    Array.from(event.dataTransfer.files).slice(0, input.multiple ? 20 : 1).forEach((file) => transfer.items.add(file));
    input.files = transfer.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
  zone.querySelector("[data-drop-replace]").addEventListener("click", () => input.click());
  zone.querySelector("[data-drop-remove]").addEventListener("click", () => {
    input.value = "";
    field.value = "";
    show(null);
    const status = zone.parentElement.querySelector("[data-upload-status]");
    if (status) { status.textContent = "Removed."; }
    field.dispatchEvent(new Event("input", { bubbles: true }));
    field.focus();
  });
});
