"""The line-up test as one self-contained HTML page (pictures inline, no network, no server).

Answers are kept in the browser's ``localStorage`` under ``facecloak-lineup:<test id>`` (they
survive a reload) and exported as ``{"test", "answers": {trial: candidate}, "exported"}`` JSON,
both as a download and in a text box to copy from.
"""

from __future__ import annotations

import html
import json

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem auto;max-width:980px;color:#222}
#trial{display:flex;gap:2rem;align-items:flex-start;flex-wrap:wrap}
#probe img{width:240px;height:240px;border:3px solid #444}
#grid{display:grid;grid-template-columns:repeat(3,160px);gap:8px}
#grid button{padding:0;border:3px solid transparent;background:none;cursor:pointer}
#grid button.chosen{border-color:#0a7}
#grid img{display:block;width:160px;height:160px}
nav{margin:1rem 0;display:flex;gap:.5rem;align-items:center}
textarea{width:100%;height:6rem}
"""

_SCRIPT = """
const data = JSON.parse(document.getElementById('lineup-data').textContent);
const storeKey = 'facecloak-lineup:' + data.test;
let answers = JSON.parse(localStorage.getItem(storeKey) || '{}');
let current = Math.max(0, data.trials.findIndex(t => !(t.id in answers)));
function save() { localStorage.setItem(storeKey, JSON.stringify(answers)); }
function show(index) {
  current = Math.min(Math.max(index, 0), data.trials.length - 1);
  const trial = data.trials[current];
  document.getElementById('probe-img').src = trial.probe;
  document.getElementById('trial-number').textContent =
    'Photo ' + (current + 1) + ' of ' + data.trials.length;
  const grid = document.getElementById('grid');
  grid.replaceChildren();
  trial.candidates.forEach((candidate, position) => {
    const button = document.createElement('button');
    button.dataset.candidate = candidate.id;
    button.title = 'candidate ' + (position + 1);
    if (answers[trial.id] === candidate.id) button.classList.add('chosen');
    const img = document.createElement('img');
    img.src = candidate.src;
    img.alt = 'candidate ' + (position + 1);
    button.appendChild(img);
    button.addEventListener('click', () => choose(trial.id, candidate.id));
    grid.appendChild(button);
  });
  progress();
}
function choose(trialId, candidateId) {
  answers[trialId] = candidateId;
  save();
  const next = data.trials.findIndex(t => !(t.id in answers));
  show(next === -1 ? current : next);
}
function progress() {
  const done = data.trials.filter(t => t.id in answers).length;
  document.getElementById('progress').textContent =
    done + ' / ' + data.trials.length + ' answered' +
    (done === data.trials.length ? ': thank you, please export your answers' : '');
}
function exported() {
  return JSON.stringify({test: data.test, answers: answers, exported: new Date().toISOString()});
}
document.getElementById('previous').addEventListener('click', () => show(current - 1));
document.getElementById('next').addEventListener('click', () => show(current + 1));
document.getElementById('export').addEventListener('click', () => {
  const text = exported();
  document.getElementById('export-text').value = text;
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([text], {type: 'application/json'}));
  link.download = 'lineup-answers-' + data.test + '.json';
  document.body.appendChild(link);
  link.click();
  link.remove();
});
document.getElementById('clear').addEventListener('click', () => {
  if (confirm('Forget every answer given on this computer?')) {
    answers = {}; save(); show(0);
  }
});
show(current);
"""


def render_page(test_id: str, trials: list[dict]) -> str:
    """The page for ``trials`` (each ``{"id", "probe", "candidates": [{"id", "src"}]}``)."""
    payload = json.dumps({"test": test_id, "trials": trials}).replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Who is this? (facecloak line-up {html.escape(test_id)})</title>
<style>{_STYLE}</style></head>
<body>
<h1>Who is this?</h1>
<p>The photo on the left was changed to hide who it shows. Click the one of the nine photos that
you think shows the same person. If you cannot tell, take your best guess. Your answers stay in
this browser until you export them.</p>
<nav><button id="previous">Previous</button><button id="next">Next</button>
<strong id="trial-number"></strong> <span id="progress"></span></nav>
<div id="trial"><div id="probe"><img id="probe-img" alt="changed photo"></div>
<div id="grid"></div></div>
<nav><button id="export">Export answers (JSON)</button>
<button id="clear">Forget my answers</button></nav>
<textarea id="export-text" readonly placeholder="Exported answers appear here too"></textarea>
<script type="application/json" id="lineup-data">{payload}</script>
<script>{_SCRIPT}</script>
</body></html>
"""
