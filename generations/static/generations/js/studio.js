// The studio pages: batch progress, compare (one quote, videos as they arrive, played in sync) and the frame picker.
const $all = (selector, root = document) => Array.from(root.querySelectorAll(selector));

function csrfToken(form) {
  const input = (form || document).querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.json();
}

const ENDED = ["succeeded", "failed", "cancelled"];

// Batch page: the counts per status follow the batch; "cancel the rest" hides once nothing is left to cancel.
function batchProgress(box) {
  const url = box.dataset.batchUrl;
  const tick = async () => {
    let body;
    try { body = await getJSON(url); } catch (error) { setTimeout(tick, 5000); return; }
    Object.entries(body.counts).forEach(([status, n]) => {
      const cell = box.querySelector(`[data-count="${status}"]`);
      if (cell) cell.textContent = String(n);
    });
    const open = body.generations.filter((g) => !ENDED.includes(g.status)).length;
    const cancel = box.querySelector("[data-cancel-rest]");
    if (cancel) cancel.hidden = open === 0 || body.generations.every((g) => ENDED.includes(g.status) || g.status === "mirroring");
    if (open > 0) setTimeout(tick, 2000);
  };
  tick();
}

// Compare page: one set of controls drives every video (play/pause together, one position).
function syncPlayer(root, controls) {
  const videos = () => $all("[data-sync-video]", root);
  const play = controls.querySelector("[data-sync-play]");
  const seek = controls.querySelector("[data-sync-seek]");
  const time = controls.querySelector("[data-sync-time]");
  const longest = () => Math.max(0, ...videos().map((v) => (Number.isFinite(v.duration) ? v.duration : 0)));
  let playing = false;
  let dragging = false;
  const setAll = (seconds) => videos().forEach((v) => {
    const end = Number.isFinite(v.duration) ? v.duration : seconds;
    v.currentTime = Math.min(seconds, end);
  });
  play.addEventListener("click", async () => {
    playing = !playing;
    play.setAttribute("aria-pressed", String(playing));
    play.textContent = playing ? "Pause all" : "Play all";
    if (playing) {
      const lead = videos()[0];
      const at = lead ? lead.currentTime : 0;
      setAll(at >= longest() ? 0 : at);
      await Promise.allSettled(videos().map((v) => v.play()));
    } else {
      videos().forEach((v) => v.pause());
      const lead = videos()[0];
      if (lead) setAll(lead.currentTime);
    }
  });
  seek.addEventListener("input", () => {
    dragging = true;
    setAll((Number(seek.value) / 1000) * longest());
  });
  seek.addEventListener("change", () => { dragging = false; });
  const follow = () => {
    const lead = videos()[0];
    if (lead) {
      const total = longest();
      if (!dragging && total > 0) seek.value = String(Math.round((lead.currentTime / total) * 1000));
      time.textContent = `${lead.currentTime.toFixed(1)} s`;
      // Keep the others on the lead's clock: a drift beyond a tenth of a second is corrected.
      if (playing) videos().slice(1).forEach((v) => {
        if (!v.ended && Math.abs(v.currentTime - lead.currentTime) > 0.1 && lead.currentTime <= v.duration) {
          v.currentTime = lead.currentTime;
        }
      });
      if (playing && videos().every((v) => v.ended || v.paused)) {
        playing = false;
        play.setAttribute("aria-pressed", "false");
        play.textContent = "Play all";
      }
    }
    requestAnimationFrame(follow);
  };
  requestAnimationFrame(follow);
}

// Compare page: videos appear in their boxes as each model finishes.
function compareArrivals(root) {
  if (root.dataset.active !== "1") return;
  const url = root.dataset.batchUrl;
  const tick = async () => {
    let body;
    try { body = await getJSON(url); } catch (error) { setTimeout(tick, 5000); return; }
    body.generations.forEach((g) => {
      const card = root.querySelector(`[data-generation-id="${g.id}"]`);
      if (!card || card.dataset.status === g.status) return;
      card.dataset.status = g.status;
      const media = card.querySelector("[data-media]");
      if (g.video_url && !media.querySelector("video")) {
        const video = document.createElement("video");
        video.className = "gmi-compare__video";
        video.src = g.video_url;
        if (g.thumbnail_url) video.poster = g.thumbnail_url;
        video.preload = "auto";
        video.muted = true;
        video.playsInline = true;
        video.setAttribute("data-sync-video", "");
        media.replaceChildren(video);
      } else if (!g.video_url) {
        const wait = media.querySelector("[data-wait]");
        if (wait) wait.textContent = g.status === "failed" ? `Failed: ${g.error}` : g.status;
      }
    });
    if (body.generations.some((g) => !ENDED.includes(g.status))) setTimeout(tick, 2000);
    else if (body.generations.some((g) => g.video_url)) root.dataset.active = "0";
  };
  tick();
}

// Compare form: one quote for the chosen models, refreshed as the choice changes.
function compareQuote(form) {
  const out = form.querySelector("[data-compare-quote]");
  const url = form.dataset.quoteUrl;
  let timer = null;
  const refresh = async () => {
    const prompt = form.querySelector("[name=prompt]").value;
    const models = $all("input[name=models]:checked", form).map((box) => box.value);
    if (models.length < 2 || !prompt.trim()) { out.textContent = "Choose 2 to 4 models and write a prompt to see the cost."; return; }
    // Each model names its prompt as its own schema does (data-prompt-name, from the page).
    const items = models.map((model) => {
      const box = form.querySelector(`[data-model-params="${CSS.escape(model)}"]`);
      const name = (box && box.dataset.promptName) || "prompt";
      return { model, payload: { [name]: prompt } };
    });
    const team = form.querySelector("[name=team]");
    try {
      const response = await fetch(url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken(form) },
        body: JSON.stringify({ items, team: team ? team.value : "" }),
      });
      const body = await response.json();
      if (!response.ok) { out.textContent = body.detail || "This compare cannot be quoted yet."; return; }
      out.textContent = `${body.jobs} videos, ${body.credits} credits together` +
        (body.accepted ? (body.will_wait ? " — some will wait for a free slot." : ".") : ` — over your limit (${body.refusal.limit}).`);
    } catch (error) { out.textContent = ""; }
  };
  // Only the chosen models' parameter panels are shown (without this script, all of them are).
  const showChosen = () => {
    const chosen = new Set($all("input[name=models]:checked", form).map((box) => box.value));
    $all("[data-model-params]", form).forEach((box) => { box.hidden = !chosen.has(box.dataset.modelParams); });
  };
  form.addEventListener("input", () => { showChosen(); clearTimeout(timer); timer = setTimeout(refresh, 400); });
  showChosen();
  refresh();
}

// Frame picker: the scrubber moves the preview and fills in the time ("last" at the very end).
function framePicker(form) {
  const video = form.querySelector("[data-frame-video]");
  const scrubber = form.querySelector("[data-frame-scrubber]");
  const at = form.querySelector("[name=at]");
  const place = () => {
    if (!Number.isFinite(video.duration) || video.duration <= 0) return;
    const value = Number(scrubber.value);
    if (value >= 1000) { at.value = "last"; video.currentTime = Math.max(0, video.duration - 0.001); return; }
    const seconds = (value / 1000) * video.duration;
    at.value = seconds.toFixed(2);
    video.currentTime = seconds;
  };
  scrubber.addEventListener("input", place);
  video.addEventListener("loadedmetadata", place);
  at.addEventListener("change", () => {
    const seconds = Number(at.value);
    if (Number.isFinite(seconds) && Number.isFinite(video.duration) && video.duration > 0) {
      scrubber.value = String(Math.min(1000, Math.round((seconds / video.duration) * 1000)));
      video.currentTime = Math.min(seconds, video.duration);
    }
  });
}

$all("[data-batch-progress]").forEach(batchProgress);
$all("[data-compare]").forEach((root) => {
  const controls = document.querySelector("[data-sync-controls]");
  if (controls) syncPlayer(root, controls);
  compareArrivals(root);
});
$all("[data-compare-form]").forEach(compareQuote);
$all("[data-frame-picker]").forEach(framePicker);
