#!/usr/bin/env node
// Offline validation of rendered Kubernetes manifests (the output of `kubectl kustomize`), used
// by scripts/k8s-check. No API server is involved. Three layers, each problem tagged with its
// layer:
//   schema  every document is built as its kubernetes-models class and validated against the
//           Kubernetes OpenAPI schema (types, enums, required fields); unknown apiVersion/kind
//           and non-GA (alpha/beta) APIs fail.
//   strict  the schema allows unknown fields, so each document is also type-checked by the
//           TypeScript compiler against the models' typed interfaces (in memory, no files
//           written): a misspelled or unknown field anywhere is an excess-property error.
//   policy  what matters for gatherd: probes, the security context, resources, a termination
//           grace above --shutdown_grace, selectors that select, flags gatherd can resolve,
//           Secrets' files under mounts, a PodDisruptionBudget that lets drains proceed, and a
//           NetworkPolicy whose open egress keeps private and metadata ranges closed.
//
// usage: node validate.js [--known-flags FILE] [--expect-fail SUBSTRING] LABEL=FILE ...
//   LABEL=FILE           a rendered multi-document YAML file; every object must pass. One line per
//                        object: "ok" or "FAIL" with each problem.
//   --expect-fail S      applies to the next LABEL=FILE only: it must fail, with a problem whose
//                        text ("layer: message") contains S (the self-test of scripts/k8s-check).
//   --known-flags FILE   gatherd's flag names, one a line: every flag the gatherd container is
//                        given (args and --fromenv lists) must be one of them.
// Exits 0 when everything is as expected, 1 otherwise, 2 on usage errors.
"use strict";

const fs = require("fs");
const path = require("path");
const YAML = require("yaml");
const ts = require("typescript");

const MODELS_DIR = path.dirname(require.resolve("kubernetes-models/package.json"));
const SECRET_FILE_FLAGS = ["tls_cert", "tls_key", "tls_client_ca", "token_file", "credentials_file"];
// Ranges an egress rule open to "everything" must keep closed: private, link-local (cloud
// metadata), CGNAT; for IPv6, unique-local and link-local.
const CLOSED_EGRESS_RANGES = {
  "0.0.0.0/0": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10"],
  "::/0": ["fc00::/7", "fe80::/10"],
};
const DEFAULT_SHUTDOWN_GRACE = 5; // gatherd's default
const DEFAULT_TERMINATION_GRACE = 30; // Kubernetes' default

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

// ---------------------------------------------------------------------------------------------
// Arguments.

function usage(message) {
  process.stderr.write(`validate.js: ${message}\n` +
    "usage: node validate.js [--known-flags FILE] [--expect-fail SUBSTRING] LABEL=FILE ...\n");
  process.exit(2);
}

const inputs = [];
let knownFlags = null;
{
  const argv = process.argv.slice(2);
  let expect = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--expect-fail" || arg === "--known-flags") {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      const value = argv[++i];
      if (arg === "--expect-fail") expect = value;
      else knownFlags = new Set(fs.readFileSync(value, "utf8").split(/\s+/).filter(Boolean));
    } else if (/^[^=]+=.+/.test(arg)) {
      const eq = arg.indexOf("=");
      inputs.push({ label: arg.slice(0, eq), file: arg.slice(eq + 1), expect, objects: [], problems: [] });
      expect = null;
    } else {
      usage(`unexpected argument ${JSON.stringify(arg)}`);
    }
  }
  if (inputs.length === 0) usage("no LABEL=FILE given");
  if (expect !== null) usage("--expect-fail must come before a LABEL=FILE");
}

// ---------------------------------------------------------------------------------------------
// Parsing and the schema layer.

function describe(obj) {
  const meta = (obj && obj.metadata) || {};
  const name = meta.namespace ? `${meta.namespace}/${meta.name}` : `${meta.name}`;
  return `${obj.apiVersion} ${obj.kind} ${name}`;
}

// The models' module for apiVersion/kind, or an error message.
function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") return { error: "apiVersion and kind must be strings" };
  if (!/^([a-z0-9.-]+\/)?v[0-9]+((alpha|beta)[0-9]+)?$/.test(apiVersion) || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) {
    return { error: `malformed apiVersion/kind ${apiVersion} ${kind}` };
  }
  if (/(alpha|beta)[0-9]+$/.test(apiVersion)) {
    return { error: `${apiVersion} is not a GA API (alpha and beta APIs are removed or off by default; use the v1/v2 version)` };
  }
  const file = path.join(MODELS_DIR, apiVersion, `${kind}.js`);
  if (kind.endsWith("List") || !fs.existsSync(file)) return { error: `unknown kind ${kind} in ${apiVersion}` };
  const Model = require(file)[kind];
  if (typeof Model !== "function") return { error: `unknown kind ${kind} in ${apiVersion}` };
  return { Model, module: `kubernetes-models/${apiVersion}/${kind}`, iface: `I${kind}` };
}

function schemaErrors(err) {
  if (err && Array.isArray(err.errors)) {
    return err.errors.map((e) => {
      const parts = (e.instancePath || "").split("/").slice(1)
        .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
        .map((p) => (/^[0-9]+$/.test(p) ? Number(p) : p));
      const where = pathText(parts);
      let message = e.message || e.keyword;
      if (e.params && e.params.allowedValues) message += ` (${e.params.allowedValues.join(", ")})`;
      return `${where}: ${message}`;
    });
  }
  return [String((err && err.message) || err)];
}

for (const input of inputs) {
  let text;
  try {
    text = fs.readFileSync(input.file, "utf8");
  } catch (err) {
    input.problems.push(`input: cannot read ${input.file}: ${err.message}`);
    continue;
  }
  const docs = YAML.parseAllDocuments(text, { prettyErrors: true });
  if (!Array.isArray(docs)) {
    input.problems.push(`yaml: ${docs.errors.map((e) => e.message).join("; ")}`);
    continue;
  }
  docs.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      input.problems.push(`yaml: document ${index + 1}: ${doc.errors.map((e) => e.message).join("; ")}`);
      return;
    }
    const obj = doc.toJS();
    if (obj === null || obj === undefined) return; // an empty document
    const entry = { obj, name: `document ${index + 1}`, problems: [] };
    input.objects.push(entry);
    if (typeof obj !== "object" || Array.isArray(obj)) {
      entry.problems.push("schema: a document must be a mapping");
      return;
    }
    entry.name = describe(obj);
    const found = modelFor(obj.apiVersion, obj.kind);
    if (found.error) {
      entry.problems.push(`schema: ${found.error}`);
      return;
    }
    entry.model = found;
    try {
      new found.Model(obj).validate();
    } catch (err) {
      for (const message of schemaErrors(err)) entry.problems.push(`schema: ${message}`);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// The strict layer: every known object becomes an annotated TypeScript constant,
//   import type { IDeployment as T } from "kubernetes-models/apps/v1/Deployment";
//   const doc: T = { ...the object... };
// and one in-memory program checks them all. Excess-property errors name misspelled fields.

// Appends `value` as TypeScript source to `lines`, one property or item per line, each line
// remembering the path it writes (so a diagnostic's line names the field).
function emit(value, at, indent, prefix, suffix, lines) {
  const pad = "  ".repeat(indent);
  if (Array.isArray(value) && value.length > 0) {
    lines.push({ path: at, text: `${pad}${prefix}[` });
    value.forEach((item, i) => emit(item, [...at, i], indent + 1, "", ",", lines));
    lines.push({ path: at, text: `${pad}]${suffix}` });
  } else if (isObject(value) && Object.keys(value).length > 0) {
    lines.push({ path: at, text: `${pad}${prefix}{` });
    for (const [key, v] of Object.entries(value)) {
      if (v === null) continue; // null means absent to the API server
      emit(v, [...at, key], indent + 1, `${JSON.stringify(key)}: `, ",", lines);
    }
    lines.push({ path: at, text: `${pad}}${suffix}` });
  } else {
    lines.push({ path: at, text: `${pad}${prefix}${value === undefined ? "undefined" : JSON.stringify(value)}${suffix}` });
  }
}

function pathText(parts) {
  let out = "";
  for (const part of parts) out += typeof part === "number" ? `[${part}]` : (out ? "." : "") + part;
  return out || "(document)";
}

function strictCheck() {
  const virtualDir = path.join(__dirname, ".virtual"); // never written: served from memory
  const files = new Map(); // file name -> { text, lines, entry, headerLines }
  let n = 0;
  for (const input of inputs) {
    for (const entry of input.objects) {
      if (!entry.model) continue;
      const header = [`import type { ${entry.model.iface} as T } from ${JSON.stringify(entry.model.module)};`];
      const lines = [];
      emit(entry.obj, [], 0, "const doc: T = ", ";", lines);
      const text = [...header, ...lines.map((l) => l.text), "void doc;", "export {};", ""].join("\n");
      files.set(path.join(virtualDir, `doc${n++}.ts`), { text, lines, entry, headerLines: header.length });
    }
  }
  if (files.size === 0) return;

  const options = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    lib: ["lib.es2020.d.ts"],
    target: ts.ScriptTarget.ES2020,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    ignoreDeprecations: "5.0",
  };
  const host = ts.createCompilerHost(options, true);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    const virtual = files.get(path.resolve(fileName));
    if (virtual) return ts.createSourceFile(fileName, virtual.text, languageVersion, true);
    return getSourceFile.call(host, fileName, languageVersion, onError, shouldCreate);
  };
  host.fileExists = (fileName) => files.has(path.resolve(fileName)) || fileExists.call(host, fileName);
  host.readFile = (fileName) => {
    const virtual = files.get(path.resolve(fileName));
    return virtual ? virtual.text : readFile.call(host, fileName);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  for (const diag of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diag.messageText, " ");
    const virtual = diag.file && files.get(path.resolve(diag.file.fileName));
    if (!virtual) {
      // A problem of the toolchain itself (a missing model module, a broken install).
      for (const input of inputs) input.problems.push(`strict: ${message}`);
      continue;
    }
    const { line } = diag.file.getLineAndCharacterOfPosition(diag.start || 0);
    const emitted = virtual.lines[line - virtual.headerLines];
    const where = emitted ? pathText(emitted.path) : "(document)";
    virtual.entry.problems.push(`strict: ${where}: ${message}`);
  }
}

strictCheck();

// ---------------------------------------------------------------------------------------------
// The policy layer.

// Whether a label selector (matchLabels / matchExpressions) selects `labels`.
function selects(selector, labels) {
  if (!isObject(selector)) return false;
  labels = labels || {};
  for (const [k, v] of Object.entries(selector.matchLabels || {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions || []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const values = e.values || [];
    if (e.operator === "In" && !(has && values.includes(labels[e.key]))) return false;
    if (e.operator === "NotIn" && has && values.includes(labels[e.key])) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

// "--name=value" / "--name value" flags of an argument list, as [name, value] pairs.
function flagsOf(args) {
  const out = [];
  for (let i = 0; i < args.length; i++) {
    const m = /^--?([A-Za-z0-9_-]+)(?:=(.*))?$/s.exec(String(args[i]));
    if (!m) continue;
    let value = m[2];
    if (value === undefined && i + 1 < args.length && !String(args[i + 1]).startsWith("-")) value = String(args[++i]);
    out.push([m[1], value]);
  }
  return out;
}

// The value a container's environment gives variable `name`: { value } or { unknown: why } or null.
function envValue(container, name, configMaps) {
  let found = null;
  for (const source of container.envFrom || []) {
    const prefix = source.prefix || "";
    if (!name.startsWith(prefix)) continue;
    const key = name.slice(prefix.length);
    if (source.configMapRef) {
      const cm = configMaps.get(source.configMapRef.name);
      if (cm && cm.data && Object.prototype.hasOwnProperty.call(cm.data, key)) found = { value: String(cm.data[key]) };
    } else if (source.secretRef) {
      found = found || { unknown: `may come from Secret ${source.secretRef.name}` };
    }
  }
  for (const env of container.env || []) {
    if (env.name !== name) continue;
    if (env.value !== undefined) found = { value: String(env.value) };
    else if (env.valueFrom && env.valueFrom.configMapKeyRef) {
      const ref = env.valueFrom.configMapKeyRef;
      const cm = configMaps.get(ref.name);
      found = cm && cm.data && ref.key in cm.data ? { value: String(cm.data[ref.key]) } : null;
    } else found = { unknown: "set from a reference the render does not hold" };
  }
  return found;
}

function isGatherd(container) {
  const words = [...(container.command || []), String(container.image || "")];
  return words.some((w) => /(^|\/)gatherd(:|@|$)/.test(String(w)));
}

function checkProbe(kind, probe, container, problems) {
  const where = `container ${container.name}`;
  if (!isObject(probe)) {
    problems.push(`policy: ${where} has no ${kind} (a hung gatherd would stay in the endpoints or never restart)`);
    return;
  }
  const handlers = ["exec", "httpGet", "tcpSocket", "grpc"].filter((h) => probe[h] !== undefined && probe[h] !== null);
  if (handlers.length !== 1) {
    problems.push(`policy: ${where} ${kind} needs exactly one handler (exec, httpGet, tcpSocket or grpc), has ${handlers.length ? handlers.join(", ") : "none"}`);
    return;
  }
  const handler = probe[handlers[0]];
  if (handlers[0] === "exec" && !(Array.isArray(handler.command) && handler.command.length > 0)) {
    problems.push(`policy: ${where} ${kind} exec has no command`);
  }
  if (handler.port !== undefined) {
    const ports = container.ports || [];
    const ok = ports.some((p) => p.containerPort === handler.port || (p.name !== undefined && p.name === handler.port));
    if (!ok) problems.push(`policy: ${where} ${kind} port ${handler.port} is not one of the container's ports`);
  }
}

function checkWorkload(entry, ctx) {
  const obj = entry.obj;
  const problems = entry.problems;
  const spec = obj.spec || {};
  const template = spec.template || {};
  const podLabels = (template.metadata && template.metadata.labels) || {};
  const pod = template.spec || {};
  const podSc = pod.securityContext || {};

  if (!selects(spec.selector, podLabels)) problems.push("policy: spec.selector does not select the pod template's labels");
  const containers = pod.containers || [];
  if (containers.length === 0) problems.push("policy: no containers");
  const volumes = new Set((pod.volumes || []).map((v) => v.name));
  const termination = pod.terminationGracePeriodSeconds ?? DEFAULT_TERMINATION_GRACE;

  for (const c of [...(pod.initContainers || []), ...containers]) {
    const where = `container ${c.name}`;
    const sc = c.securityContext || {};
    const isInit = (pod.initContainers || []).includes(c);
    if (!isInit) {
      checkProbe("readinessProbe", c.readinessProbe, c, problems);
      checkProbe("livenessProbe", c.livenessProbe, c, problems);
    }
    if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) problems.push(`policy: ${where}: runAsNonRoot must be true (pod or container securityContext)`);
    const uid = sc.runAsUser ?? podSc.runAsUser;
    if (uid === undefined || uid === 0) problems.push(`policy: ${where}: runAsUser must name a non-zero uid`);
    if (sc.readOnlyRootFilesystem !== true) problems.push(`policy: ${where}: securityContext.readOnlyRootFilesystem must be true`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`policy: ${where}: securityContext.allowPrivilegeEscalation must be false`);
    if (sc.privileged === true) problems.push(`policy: ${where}: must not be privileged`);
    const caps = sc.capabilities || {};
    if (!(caps.drop || []).includes("ALL")) problems.push(`policy: ${where}: securityContext.capabilities.drop must contain ALL`);
    if ((caps.add || []).length > 0) problems.push(`policy: ${where}: must not add capabilities (${caps.add.join(", ")})`);
    const seccomp = (sc.seccompProfile || podSc.seccompProfile || {}).type;
    if (seccomp !== "RuntimeDefault") problems.push(`policy: ${where}: seccompProfile.type must be RuntimeDefault (is ${seccomp || "unset"})`);
    const res = c.resources || {};
    for (const [group, key] of [["requests", "cpu"], ["requests", "memory"], ["limits", "memory"]]) {
      if (!res[group] || res[group][key] === undefined) problems.push(`policy: ${where}: resources.${group}.${key} must be set`);
    }
    const image = String(c.image || "");
    const tag = image.includes("@") ? "digest" : (/:([^/:]+)$/.exec(image) || [])[1];
    if (!tag || tag === "latest") problems.push(`policy: ${where}: image ${image || "(none)"} must carry a tag other than latest (kustomize images:) or a digest`);
    for (const m of c.volumeMounts || []) {
      if (!volumes.has(m.name)) problems.push(`policy: ${where}: volumeMount ${m.name} names no volume of the pod`);
    }
    for (const source of c.envFrom || []) {
      const ref = source.configMapRef;
      if (ref && !ref.optional && !ctx.configMaps.has(ref.name)) problems.push(`policy: ${where}: envFrom ConfigMap ${ref.name} is not in the render`);
    }
    if (!isGatherd(c)) continue;

    // gatherd's flags: explicit, or read by absl's --fromenv / --tryfromenv from FLAGS_<name>.
    const flags = flagsOf([...(c.command || []).slice(1), ...(c.args || [])]);
    const graces = [];
    for (const [name, value] of flags) {
      if (knownFlags && !knownFlags.has(name)) problems.push(`policy: ${where}: gatherd has no flag --${name}`);
      if (name === "shutdown_grace") graces.push(value);
      if (SECRET_FILE_FLAGS.includes(name)) {
        const mounted = (c.volumeMounts || []).some((m) => value && value.startsWith(m.mountPath.replace(/\/*$/, "/")));
        if (!mounted) problems.push(`policy: ${where}: --${name}=${value} is not under a mounted volume (Secrets are mounted, never baked into the image)`);
      }
      if (name === "fromenv" || name === "tryfromenv") {
        for (const fromName of String(value || "").split(",").filter(Boolean)) {
          if (knownFlags && !knownFlags.has(fromName)) problems.push(`policy: ${where}: --${name} names ${fromName}, which is not a gatherd flag`);
          const found = envValue(c, `FLAGS_${fromName}`, ctx.configMaps);
          if (!found && name === "fromenv") problems.push(`policy: ${where}: --fromenv names ${fromName} but FLAGS_${fromName} is in no env or ConfigMap of the render (gatherd would not start)`);
          if (fromName === "shutdown_grace" && found) graces.push(found.value !== undefined ? found.value : null);
        }
      }
    }
    if (graces.length === 0) graces.push(String(DEFAULT_SHUTDOWN_GRACE));
    for (const grace of graces) {
      const seconds = Number(grace);
      if (grace === null || grace === undefined || !Number.isFinite(seconds)) {
        problems.push(`policy: ${where}: cannot resolve --shutdown_grace (${grace === null ? "from a Secret" : JSON.stringify(grace)}) to check it against terminationGracePeriodSeconds`);
      } else if (!(termination > seconds)) {
        problems.push(`policy: terminationGracePeriodSeconds ${termination} must be greater than --shutdown_grace ${seconds} of ${where} (else the kubelet kills running calls)`);
      }
    }
  }
}

function runPolicies(input) {
  const all = input.objects.filter((e) => isObject(e.obj) && e.model);
  const ns = (o) => (o.metadata && o.metadata.namespace) || "";
  const byKind = (kind) => all.filter((e) => e.obj.kind === kind);
  const workloads = all.filter((e) => ["Deployment", "StatefulSet", "DaemonSet"].includes(e.obj.kind));
  const configMaps = new Map(byKind("ConfigMap").map((e) => [e.obj.metadata.name, e.obj]));
  const ctx = { configMaps };
  const podsOf = (o) => workloads.filter((w) => ns(w.obj) === ns(o));
  const podLabels = (w) => (((w.obj.spec || {}).template || {}).metadata || {}).labels || {};
  const podSpec = (w) => (((w.obj.spec || {}).template || {}).spec) || {};

  for (const w of workloads) {
    checkWorkload(w, ctx);
    for (const t of podSpec(w).topologySpreadConstraints || []) {
      if (!selects(t.labelSelector, podLabels(w))) w.problems.push(`policy: topologySpreadConstraint on ${t.topologyKey} does not select the workload's own pods`);
    }
  }

  for (const e of byKind("Service")) {
    const spec = e.obj.spec || {};
    if (!spec.selector) continue;
    const targets = podsOf(e.obj).filter((w) => selects({ matchLabels: spec.selector }, podLabels(w)));
    if (targets.length === 0) {
      e.problems.push("policy: spec.selector selects no workload's pods in the render");
      continue;
    }
    for (const port of spec.ports || []) {
      const target = port.targetPort ?? port.port;
      const ok = targets.some((w) => (podSpec(w).containers || []).some((c) => (c.ports || []).some((p) => p.containerPort === target || p.name === target)));
      if (!ok) e.problems.push(`policy: port ${port.name || port.port}: targetPort ${target} is no container port of the selected pods`);
    }
  }

  const hpas = byKind("HorizontalPodAutoscaler");
  for (const e of hpas) {
    const spec = e.obj.spec || {};
    const ref = spec.scaleTargetRef || {};
    if (!workloads.some((w) => w.obj.kind === ref.kind && w.obj.metadata.name === ref.name && ns(w.obj) === ns(e.obj))) {
      e.problems.push(`policy: scaleTargetRef ${ref.kind}/${ref.name} is not in the render`);
    }
    if ((spec.minReplicas ?? 1) > spec.maxReplicas) e.problems.push(`policy: minReplicas ${spec.minReplicas} is above maxReplicas ${spec.maxReplicas}`);
  }

  for (const e of byKind("PodDisruptionBudget")) {
    const spec = e.obj.spec || {};
    if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined) {
      e.problems.push("policy: set minAvailable or maxUnavailable, not both (the API server refuses it)");
    }
    const targets = podsOf(e.obj).filter((w) => selects(spec.selector, podLabels(w)));
    if (targets.length === 0) e.problems.push("policy: spec.selector selects no workload's pods in the render");
    for (const w of targets) {
      const hpa = hpas.find((h) => ((h.obj.spec || {}).scaleTargetRef || {}).name === w.obj.metadata.name && ns(h.obj) === ns(w.obj));
      const least = hpa ? (hpa.obj.spec.minReplicas ?? 1) : (w.obj.spec.replicas ?? 1);
      if (Number.isInteger(spec.minAvailable) && spec.minAvailable >= least) {
        e.problems.push(`policy: minAvailable ${spec.minAvailable} is not below the ${least} replica(s) ${w.obj.metadata.name} may run: node drains would never proceed`);
      }
      if (spec.maxUnavailable === 0 || spec.maxUnavailable === "0%") e.problems.push("policy: maxUnavailable 0 blocks every node drain");
    }
  }

  for (const e of byKind("NetworkPolicy")) {
    const spec = e.obj.spec || {};
    if (podsOf(e.obj).filter((w) => selects(spec.podSelector, podLabels(w))).length === 0) {
      e.problems.push("policy: spec.podSelector selects no workload's pods in the render");
    }
    const types = spec.policyTypes || ["Ingress"];
    if (!types.includes("Egress")) continue;
    (spec.egress || []).forEach((rule, i) => {
      if (!rule.to || rule.to.length === 0) {
        e.problems.push(`policy: egress[${i}] has no 'to': it opens every destination, including cloud metadata and the cluster`);
        return;
      }
      for (const peer of rule.to) {
        const block = peer.ipBlock;
        if (!block || !CLOSED_EGRESS_RANGES[block.cidr]) continue;
        const missing = CLOSED_EGRESS_RANGES[block.cidr].filter((r) => !(block.except || []).includes(r));
        if (missing.length) e.problems.push(`policy: egress[${i}] opens ${block.cidr} without excepting ${missing.join(", ")}`);
      }
    });
  }
}

for (const input of inputs) runPolicies(input);

// ---------------------------------------------------------------------------------------------
// Report.

let failed = false;
const width = Math.max(0, ...inputs.filter((i) => i.expect === null).map((i) => i.label.length));
for (const input of inputs) {
  const label = input.expect === null ? input.label.padEnd(width) : input.label;
  const problems = [...input.problems, ...input.objects.flatMap((e) => e.problems.map((p) => `${e.name}: ${p}`))];
  if (input.expect !== null) {
    const hit = problems.find((p) => p.includes(input.expect));
    if (hit) {
      console.log(`ok    ${label}  rejected as expected: ${hit}`);
    } else {
      failed = true;
      console.log(`FAIL  ${label}  expected a failure containing ${JSON.stringify(input.expect)}; ${problems.length ? "got only:" : "the render passed"}`);
      for (const p of problems) console.log(`        ${p}`);
    }
    continue;
  }
  if (input.objects.length === 0 && input.problems.length === 0) input.problems.push("input: no objects");
  for (const p of input.problems) {
    failed = true;
    console.log(`FAIL  ${label}  ${p}`);
  }
  for (const e of input.objects) {
    if (e.problems.length === 0) {
      console.log(`ok    ${label}  ${e.name}`);
    } else {
      failed = true;
      console.log(`FAIL  ${label}  ${e.name}`);
      for (const p of e.problems) console.log(`        ${p}`);
    }
  }
}
process.exit(failed ? 1 : 0);
