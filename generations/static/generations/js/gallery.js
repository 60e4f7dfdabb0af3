/* The gallery: a muted preview plays on hover or keyboard focus (one at a time, no video bytes
   before), a lightbox opens a card by click or Enter (←/→ move, Esc closes, focus returns to the
   card), and stars toggle in place. Without this module every link opens the video's page and
   every star is a plain form post. The action bar for ticked cards is a plain form too: here it only
   says how many are chosen and stays in view while some are. */
const gallery = document.querySelector("[data-gallery]");

function cards() {
  return Array.from(document.querySelectorAll("[data-gallery] a[data-video]"));
}

/* ------------------------------------------------------------------ hover-to-play */
let previewing = null;

function stopPreview() {
  if (!previewing) { return; }
  const video = previewing.querySelector("video[data-preview]");
  previewing = null;  // first: removing the video can fire focusout, which calls here again
  if (video) { video.pause(); video.removeAttribute("src"); video.load(); if (video.isConnected) { video.remove(); } }
}

function startPreview(link) {
  if (previewing === link) { return; }
  stopPreview();
  if (window.matchMedia("(prefers-reduced-motion: reduce)").matches) { return; }
  const video = document.createElement("video");
  video.muted = true;
  video.loop = true;
  video.playsInline = true;
  video.preload = "none";
  video.setAttribute("data-preview", "");
  video.setAttribute("aria-hidden", "true");
  video.tabIndex = -1;
  if (link.dataset.poster) { video.poster = link.dataset.poster; }
  video.src = link.dataset.video;
  link.appendChild(video);
  previewing = link;
  const playing = video.play();
  if (playing && playing.catch) { playing.catch(() => {}); }
}

if (gallery) {
  gallery.addEventListener("pointerover", (event) => {
    const link = event.target.closest("a[data-video]");
    if (link && event.pointerType !== "touch") { startPreview(link); }
  });
  gallery.addEventListener("pointerout", (event) => {
    const link = event.target.closest("a[data-video]");
    if (link && !link.contains(event.relatedTarget)) { stopPreview(); }
  });
  gallery.addEventListener("focusin", (event) => {
    const link = event.target.closest("a[data-video]");
    if (link) { startPreview(link); }
  });
  gallery.addEventListener("focusout", (event) => {
    const link = event.target.closest("a[data-video]");
    if (link && !link.contains(event.relatedTarget)) { stopPreview(); }
  });
}

/* ------------------------------------------------------------------ lightbox */
const dialog = document.querySelector("[data-lightbox]");
let current = null;

function show(link) {
  if (!dialog || !link) { return; }
  current = link;
  stopPreview();
  const stage = dialog.querySelector("[data-lightbox-stage]");
  stage.replaceChildren();
  const video = document.createElement("video");
  video.controls = true;
  video.autoplay = true;
  video.playsInline = true;
  video.preload = "auto";
  if (link.dataset.poster) { video.poster = link.dataset.poster; }
  video.src = link.dataset.video;
  video.setAttribute("data-lightbox-video", "");
  video.setAttribute("aria-label", link.dataset.title || "Video");
  stage.appendChild(video);
  dialog.querySelector("[data-lightbox-title]").textContent = link.dataset.title || "";
  dialog.querySelector("[data-lightbox-page]").href = link.href;
  // The owner's own settings, from the card: rename, share with a team or keep, as a plain form post.
  const article = link.closest("article");
  const edit = dialog.querySelector("[data-lightbox-edit]");
  if (edit) {
    edit.hidden = !article.dataset.editUrl;
    if (article.dataset.editUrl) {
      const form = edit.querySelector("form");
      form.setAttribute("action", article.dataset.editUrl);
      const title = form.querySelector("[data-lightbox-edit-title]");
      title.value = article.dataset.ownTitle || "";
      title.placeholder = link.dataset.title || "";
      form.querySelector("[data-lightbox-edit-team]").value = article.dataset.team || "";
      form.querySelector("[data-lightbox-edit-keep]").checked = article.dataset.keep === "1";
    }
  }
  const collectId = dialog.querySelector("[data-lightbox-id]");
  if (collectId) { collectId.value = link.closest("article").dataset.generationId; }
  // The owner's star, mirrored from the card: the same form, so one answer updates both.
  const cardStar = link.closest("article").querySelector("form[data-star-form]");
  const star = dialog.querySelector("form[data-lightbox-star]");
  star.hidden = !cardStar;
  if (cardStar) {
    star.setAttribute("action", cardStar.getAttribute("action"));
    const favorite = cardStar.querySelector("input[name=favorite]").value === "0";
    star.querySelector("input[name=favorite]").value = favorite ? "0" : "1";
    const button = star.querySelector("[data-star]");
    button.setAttribute("aria-pressed", String(favorite));
    button.querySelector("[aria-hidden]").textContent = favorite ? "★" : "☆";
    button.querySelector(".gmi-star__label").textContent = favorite ? "Starred" : "Star";
  }
  const all = cards();
  const index = all.indexOf(link);
  dialog.querySelector("[data-lightbox-prev]").disabled = index <= 0;
  dialog.querySelector("[data-lightbox-next]").disabled = index >= all.length - 1;
  if (!dialog.open) { dialog.showModal(); }
  // The old video took focus with it: keep the keyboard inside the lightbox.
  if (!dialog.contains(document.activeElement) || document.activeElement === dialog) { video.focus(); }
  const playing = video.play();
  if (playing && playing.catch) { playing.catch(() => {}); }
}

function step(delta) {
  const all = cards();
  const next = all[all.indexOf(current) + delta];
  if (next) { show(next); }
}

if (dialog && gallery) {
  gallery.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-video]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) { return; }
    event.preventDefault();
    show(link);
  });
  dialog.querySelector("[data-lightbox-prev]").addEventListener("click", () => step(-1));
  dialog.querySelector("[data-lightbox-next]").addEventListener("click", () => step(1));
  dialog.querySelector("[data-lightbox-close]").addEventListener("click", () => dialog.close());
  document.addEventListener("keydown", (event) => {
    if (!dialog.open) { return; }
    if (event.key === "ArrowLeft") { event.preventDefault(); step(-1); }
    if (event.key === "ArrowRight") { event.preventDefault(); step(1); }
  });
  dialog.addEventListener("click", (event) => { if (event.target === dialog) { dialog.close(); } });
  dialog.addEventListener("close", () => {
    const video = dialog.querySelector("video");
    if (video) { video.pause(); video.removeAttribute("src"); video.load(); }
    dialog.querySelector("[data-lightbox-stage]").replaceChildren();
    if (current) { current.focus({ preventScroll: false }); stopPreview(); }
  });
}

/* ------------------------------------------------------------------ stars */
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-star-form]");
  if (!form || !window.fetch) { return; }
  event.preventDefault();
  const input = form.querySelector("input[name=favorite]");
  const button = form.querySelector("[data-star]");
  fetch(form.action, {
    method: "POST", credentials: "same-origin", body: new FormData(form),
    headers: { Accept: "application/json" },
  }).then((response) => (response.ok ? response.json() : Promise.reject(response)))
    .then((data) => {
      document.querySelectorAll(`form[data-star-form][action="${form.getAttribute("action")}"]`).forEach((each) => {
        each.querySelector("input[name=favorite]").value = data.favorite ? "0" : "1";
        const star = each.querySelector("[data-star]");
        star.setAttribute("aria-pressed", String(data.favorite));
        star.querySelector("[aria-hidden]").textContent = data.favorite ? "★" : "☆";
        const label = star.querySelector(".gmi-star__label");
        if (label) { label.textContent = data.favorite ? "Starred" : "Star"; }
      });
    })
    .catch(() => { form.submit(); });
  if (input && button) { button.blur(); button.focus(); }
});

/* ------------------------------------------------------------------ choosing cards for a collection */
const bar = document.querySelector("[data-collect-bar]");

function countChosen() {
  const count = document.querySelectorAll("input[data-collect-pick]:checked").length;
  bar.querySelector("[data-collect-count]").textContent = count
    ? `${count} selected` : "Tick the box on a card to choose it.";
  bar.classList.toggle("is-active", count > 0);
}

if (bar && gallery) {
  gallery.addEventListener("change", (event) => {
    if (event.target.matches("input[data-collect-pick]")) { countChosen(); }
  });
  countChosen();  // a reload can keep boxes ticked
}
