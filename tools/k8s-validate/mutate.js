#!/usr/bin/env node
// Breaks one field of one object in a Kubernetes YAML file, in place, for the self-test of
// scripts/k8s-check (which runs it on a temporary copy of k8s/, never on the repository).
// Comments and the other documents are kept. Fails when the field is not there, so a self-test
// case can never silently test nothing.
//
// usage: node mutate.js FILE KIND/NAME rename PATH NEW_KEY
//        node mutate.js FILE KIND/NAME set    PATH JSON_VALUE
//        node mutate.js FILE KIND/NAME delete PATH
// PATH is dotted, list items by index: spec.template.spec.containers.0.readinessProbe
"use strict";

const fs = require("fs");
const YAML = require("yaml");

function die(message) {
  process.stderr.write(`mutate.js: ${message}\n`);
  process.exit(2);
}

const [file, target, op, pathArg, value] = process.argv.slice(2);
if (!file || !target || !pathArg || !["rename", "set", "delete"].includes(op) || (op !== "delete" && value === undefined)) {
  die("usage: node mutate.js FILE KIND/NAME rename|set|delete PATH [NEW_KEY|JSON_VALUE]");
}
const [kind, name] = target.split("/");
const parts = pathArg.split(".").map((p) => (/^[0-9]+$/.test(p) ? Number(p) : p));

const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
const doc = docs.find((d) => {
  const obj = d.toJS() || {};
  return obj.kind === kind && obj.metadata && obj.metadata.name === name;
});
if (!doc) die(`${file}: no ${kind} named ${name}`);
if (!doc.hasIn(parts)) die(`${file}: ${target} has no ${pathArg}`);

if (op === "delete") {
  doc.deleteIn(parts);
} else if (op === "set") {
  let parsed;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    die(`set needs a JSON value: ${err.message}`);
  }
  doc.setIn(parts, parsed);
} else {
  const parent = parts.length > 1 ? doc.getIn(parts.slice(0, -1), true) : doc.contents;
  const pair = YAML.isMap(parent) && parent.items.find((p) => (YAML.isScalar(p.key) ? p.key.value : p.key) === parts[parts.length - 1]);
  if (!pair) die(`${file}: ${pathArg} is not a mapping key`);
  pair.key = doc.createNode(value);
}

fs.writeFileSync(file, docs.map((d, i) => {
  const text = d.toString();
  return i > 0 && !text.startsWith("---") ? `---\n${text}` : text;
}).join(""));
