// facecloak's page: protect photos through /api/v1/jobs, show before/after, verdicts and
// detections, download; compare two photos. No framework, no external asset.
"use strict";

const API = "/api/v1";
const $ = (selector, root = document) => root.querySelector(selector);
const state = { token: sessionStorage.getItem("facecloak-token"), jobId: null, files: [] };

if (location.hash.startsWith("#token=")) {
  state.token = decodeURIComponent(location.hash.slice(7));
  sessionStorage.setItem("facecloak-token", state.token);
  history.replaceState(null, "", location.pathname);
}

async function call(path, options = {}) {
  const headers = state.token ? { Authorization: `Bearer ${state.token}` } : {};
  const response = await fetch(API + path, { ...options, headers });
  if (response.status === 401) $("#token-panel").hidden = false;
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).error || message; } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

const json = async (path, options) => (await call(path, options)).json();
const blobUrl = async (path) => URL.createObjectURL(await (await call(path)).blob());

function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

function fillSelect(select, values, chosen) {
  select.replaceChildren(...values.map((v) => element("option", { value: v }, v)));
  select.value = chosen;
}

async function loadOptions() {
  const [models, health] = await Promise.all([json("/models"), json("/health")]);
  const options = models.options;
  const fieldset = $("#against");
  options.against.forEach((value, i) => {
    const label = element("label");
    const radio = element("input", { type: "radio", name: "against", value });
    radio.checked = i === 0;
    label.append(radio, ` ${value}`);
    fieldset.append(label);
  });
  fillSelect($("#method"), options.methods, options.methods[0]);
  fillSelect($("#strength"), options.strengths, options.default_strength);
  const limits = health.limits;
  $("#limits").textContent = `Up to ${limits.max_photos} photos, ` +
    `${limits.max_bytes / 1e6} MB and ${limits.max_megapixels} megapixels each.`;
  const visible = options.visible_methods.join(", ");
  $("#method-help").textContent = `"cloak" changes the face invisibly so recognizers miss it; ` +
    `${visible} change it visibly (against recognition only).`;
}

function chooseFiles(files) {
  state.files = [...files];
  $("#chosen").replaceChildren(...state.files.map((f) => element("li", {}, f.name)));
}

function setupDrop() {
  const drop = $("#drop");
  const input = $("#photos");
  input.addEventListener("change", () => chooseFiles(input.files));
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    input.files = event.dataTransfer.files;
    chooseFiles(event.dataTransfer.files);
  });
}

function say(selector, message, isError = false) {
  const node = $(selector);
  node.textContent = message;
  node.classList.toggle("error", isError);
}

async function submitJob(event) {
  event.preventDefault();
  if (!state.files.length) return say("#protect-status", "Choose at least one photo.", true);
  const form = new FormData();
  state.files.forEach((file) => form.append("photos", file, file.name));
  form.append("against", $("input[name=against]:checked").value);
  form.append("method", $("#method").value);
  form.append("strength", $("#strength").value);
  const button = $("#protect-button");
  button.disabled = true;
  forgetJob();
  $("#zip-button").hidden = true;
  $("#forget-button").hidden = true;
  try {
    const job = await json("/jobs", { method: "POST", body: form });
    state.jobId = job.id;
    say("#protect-status", `Protecting ${job.photos} photo(s)…`);
    const cards = state.files.map((file) => addCard(file));
    await poll(job.id, cards);
  } catch (error) {
    say("#protect-status", error.message, true);
  } finally {
    button.disabled = false;
  }
}

function addCard(file) {
  const card = $("#photo-card").content.firstElementChild.cloneNode(true);
  $(".name", card).textContent = file.name;
  $(".before img", card).src = URL.createObjectURL(file);
  $("#results").append(card);
  return { card, file, shown: false };
}

async function poll(jobId, cards) {
  for (;;) {
    const job = await json(`/jobs/${jobId}`);
    for (const photo of job.photos) await updateCard(jobId, photo, cards[photo.n]);
    if (job.status === "done" || job.status === "failed") {
      const done = job.photos.filter((p) => p.status === "done").length;
      say("#protect-status", `Done: ${done} of ${job.photos.length} photo(s) protected.`);
      $("#zip-button").hidden = done === 0;
      $("#forget-button").hidden = false;
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 400));
  }
}

async function updateCard(jobId, photo, entry) {
  const { card } = entry;
  if (entry.shown) return;
  $("progress", card).value = photo.progress;
  $(".photo-status", card).textContent = photo.error ? `Failed: ${photo.error}` : photo.status;
  $(".photo-status", card).classList.toggle("error", Boolean(photo.error));
  if (photo.status !== "done") return;
  entry.shown = true;
  const [after, difference] = await Promise.all([
    blobUrl(`/jobs/${jobId}/files/${photo.n}`),
    blobUrl(`/jobs/${jobId}/files/${photo.n}?variant=difference`),
  ]);
  showResult(card, photo, after, difference);
}

function showResult(card, photo, after, difference) {
  const result = photo.result;
  const afterImg = $(".after img", card);
  afterImg.src = after;
  $(".viewer", card).hidden = false;
  const hiddenOnly = result.protect.method === "evasion";
  $(".photo-status", card).textContent = `Protected: ${result.faces_found} face(s).` +
    (hiddenOnly ? " Hidden from detectors only: recognizers were not aimed at (choose both)." : "");
  const slider = $(".slider", card);
  const before = $(".layer.before", card);
  const clip = () => { before.style.clipPath = `inset(0 ${100 - slider.value}% 0 0)`; };
  slider.addEventListener("input", clip);
  clip();
  $(".diff", card).addEventListener("change", (event) => {
    const on = event.target.checked; // the difference fills the view; the slider rests
    afterImg.src = on ? difference : after;
    afterImg.alt = on ? "amplified difference (x10): black where nothing changed" : "after protection";
    before.hidden = on;
    slider.disabled = on;
  });
  drawBoxes($(".before .boxes", card), result.detections_before, result);
  drawBoxes($(".after .boxes", card), result.detections_after, result);
  const showBoxes = $(".show-boxes", card);
  showBoxes.checked = hiddenOnly || "faces_hidden" in result.protect;
  const toggle = () => card.querySelectorAll(".boxes").forEach((s) => { s.style.display = showBoxes.checked ? "" : "none"; });
  showBoxes.addEventListener("change", toggle);
  toggle();
  const before_n = result.detections_before.faces.length;
  const after_n = result.detections_after.faces.length;
  $(".detections", card).textContent = `Faces the ${result.detections_before.detector} ` +
    `detector finds: ${before_n} before, ${after_n} after (green: before, red: after).`;
  $(".faces", card).replaceChildren(...result.faces.map(faceTable));
  $(".download", card).addEventListener("click", () => download(after, protectedName(photo.name)));
}

function drawBoxes(svg, detections, result) {
  svg.setAttribute("viewBox", `0 0 ${result.width} ${result.height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.replaceChildren(...detections.faces.map(({ box }) => {
    const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
    const [x0, y0, x1, y1] = box;
    Object.entries({ x: x0, y: y0, width: x1 - x0, height: y1 - y0 })
      .forEach(([k, v]) => rect.setAttribute(k, v));
    return rect;
  }));
}

function faceTable(face) {
  const table = element("table");
  const change = [`SSIM ${face.ssim}`];
  if (face.ssimulacra2 !== null) change.push(`SSIMULACRA2 ${face.ssimulacra2}`);
  table.append(element("caption", {}, `Face ${face.index + 1}: visible change ${change.join(" · ")}`));
  const head = element("tr");
  ["Recognizer", "Distance / threshold", "Still matches"].forEach((t) => head.append(element("th", { scope: "col" }, t)));
  table.append(head);
  for (const v of face.verdicts) {
    const row = element("tr");
    row.append(element("th", { scope: "row" }, v.recognizer));
    row.append(element("td", {}, `${v.distance.toFixed(3)} / ${v.threshold}`));
    row.append(element("td", { class: v.still_matches ? "yes" : "no" }, `still matches: ${v.still_matches ? "yes" : "no"}`));
    table.append(row);
  }
  return table;
}

function protectedName(name) {
  return `${name.replace(/\.[^.]+$/, "")}-protected.png`;
}

function download(url, name) {
  const link = element("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
}

async function downloadZip() {
  try {
    download(await blobUrl(`/jobs/${state.jobId}/zip`), "facecloak-protected.zip");
  } catch (error) {
    say("#protect-status", error.message, true);
  }
}

async function submitCompare(event) {
  event.preventDefault();
  const form = new FormData($("#compare-form"));
  say("#compare-status", "Comparing…");
  try {
    const result = await json("/compare", { method: "POST", body: form });
    const table = element("table");
    table.append(element("caption", {}, `${result.matches} of ${result.recognizers} recognizers take them for the same person`));
    const head = element("tr");
    ["Recognizer", "Distance / threshold", "Same person"].forEach((t) => head.append(element("th", { scope: "col" }, t)));
    table.append(head);
    for (const v of result.verdicts) {
      const row = element("tr");
      row.append(element("th", { scope: "row" }, v.recognizer));
      row.append(element("td", {}, `${v.distance.toFixed(3)} / ${v.threshold}`));
      row.append(element("td", { class: v.same_person ? "yes" : "no" }, v.same_person ? "yes" : "no"));
      table.append(row);
    }
    $("#compare-result").replaceChildren(table);
    say("#compare-status", "Compared.");
  } catch (error) {
    say("#compare-status", error.message, true);
  }
}

// The server forgets a job 15 minutes after it was last read; this forgets it at once.
function forgetJob(keepalive = false) {
  if (!state.jobId) return;
  const headers = state.token ? { Authorization: `Bearer ${state.token}` } : {};
  fetch(`${API}/jobs/${state.jobId}`, { method: "DELETE", headers, keepalive }).catch(() => {});
  state.jobId = null;
}

function forgetNow() {
  forgetJob();
  $("#zip-button").hidden = true;
  $("#forget-button").hidden = true;
  say("#protect-status", "The server has forgotten these photos; your downloads are kept.");
}

function setupToken() {
  $("#token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.token = $("#token").value;
    sessionStorage.setItem("facecloak-token", state.token);
    $("#token-panel").hidden = true;
    start();
  });
}

function start() {
  loadOptions().catch((error) => say("#protect-status", error.message, true));
}

document.addEventListener("DOMContentLoaded", () => {
  setupToken();
  setupDrop();
  $("#protect-form").addEventListener("submit", submitJob);
  $("#compare-form").addEventListener("submit", submitCompare);
  $("#zip-button").addEventListener("click", downloadZip);
  $("#forget-button").addEventListener("click", forgetNow);
  window.addEventListener("pagehide", () => forgetJob(true));
  start();
});
