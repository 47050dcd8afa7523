// Renders /openapi.json as a list of endpoints, their parameters and responses, offline.
"use strict";

function el(tag, text = "", cls = "") {
  const node = document.createElement(tag);
  if (text) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

function resolve(spec, schema) {
  const ref = schema && schema.$ref;
  if (!ref) return schema || {};
  return ref.split("/").slice(1).reduce((node, key) => node[key], spec);
}

function parameters(spec, operation) {
  const rows = (operation.parameters || []).map((p) => [p.name, p.in, p.required ? "yes" : "no", p.description || ""]);
  const content = operation.requestBody && operation.requestBody.content;
  for (const [type, body] of Object.entries(content || {})) {
    const schema = resolve(spec, body.schema);
    for (const [name, field] of Object.entries(schema.properties || {})) {
      const required = (schema.required || []).includes(name) ? "yes" : "no";
      rows.push([name, type, required, field.description || field.title || ""]);
    }
  }
  return rows;
}

function table(header, rows) {
  const node = el("table");
  const head = el("tr");
  header.forEach((h) => { const th = el("th", h); th.scope = "col"; head.append(th); });
  node.append(head);
  for (const row of rows) {
    const tr = el("tr");
    row.forEach((cell) => tr.append(el("td", String(cell))));
    node.append(tr);
  }
  return node;
}

function operationSection(spec, path, method, operation) {
  const section = el("section", "", "panel");
  section.append(el("h2", `${method.toUpperCase()} ${path}`));
  section.append(el("p", operation.summary || ""));
  const rows = parameters(spec, operation);
  if (rows.length) section.append(table(["Parameter", "In", "Required", "About"], rows));
  const responses = Object.entries(operation.responses || {}).map(([code, r]) => [code, r.description || ""]);
  section.append(table(["Status", "Meaning"], responses));
  return section;
}

async function render() {
  const target = document.getElementById("endpoints");
  try {
    const spec = await (await fetch("/openapi.json")).json();
    const sections = [];
    for (const [path, methods] of Object.entries(spec.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        sections.push(operationSection(spec, path, method, operation));
      }
    }
    const errors = el("p", "Errors: every 4xx answer is JSON {\"error\": \"one line saying what to do\"}: " +
      "400 empty upload, 401 token, 404 unknown job, 409 not ready, 413 too large or too many, " +
      "415 not an image, 422 bad option or damaged image, 429 busy (retry later).");
    target.replaceChildren(errors, ...sections);
  } catch (error) {
    target.textContent = `Could not load /openapi.json: ${error.message}`;
  }
}

document.addEventListener("DOMContentLoaded", render);
