// validate.mjs — offline schema validation of Kubernetes objects.
//
//   kubectl kustomize deploy/k8s | node validate.mjs
//
// Every object of the YAML stream on stdin is checked against the
// Kubernetes API schema shipped by the npm package kubernetes-models
// (its validate(): types, required fields, enums, formats), and strictly:
// a field the schema does not know (a typo such as "readinesProbe") is an
// error too, found by walking the object along the package's type
// declarations. An object of a kind the package does not have is an error.
// Prints one line per object; exits 1 on any error.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import YAML from "yaml";

const here = path.dirname(fileURLToPath(import.meta.url));
const modules = path.join(here, "node_modules");

// ---- type declarations: interface fields, by file ----
const cache = new Map();

function resolveImport(fromFile, spec) {
  let p = spec.startsWith(".") ? path.resolve(path.dirname(fromFile), spec) : path.join(modules, spec);
  p = p.replace(/\.js$/, "");
  return p + ".d.ts";
}

// Split an interface body into [name, type] pairs (types may hold braces).
function fields(body) {
  const out = [];
  let i = 0;
  while (i < body.length) {
    const m = /^\s*"([^"]+)"\??:\s*/.exec(body.slice(i));
    if (!m) break;
    i += m[0].length;
    let depth = 0, j = i;
    for (; j < body.length; j++) {
      const c = body[j];
      if (c === "{" || c === "<" || c === "(") depth++;
      else if (c === "}" || c === ">" || c === ")") depth--;
      else if (c === ";" && depth === 0) break;
    }
    out.push([m[1], body.slice(i, j).trim()]);
    i = j + 1;
  }
  return out;
}

function loadType(file) {
  if (cache.has(file)) return cache.get(file);
  let info = null;
  if (fs.existsSync(file)) {
    const src = fs.readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
    const imports = new Map();
    for (const m of src.matchAll(/import \{ (\w+) \} from "([^"]+)";/g))
      imports.set(m[1], resolveImport(file, m[2]));
    const start = src.search(/export interface \w+[^{]*\{/);
    if (start >= 0) {
      const open = src.indexOf("{", start);
      let depth = 0, end = open;
      for (; end < src.length; end++) {
        if (src[end] === "{") depth++;
        else if (src[end] === "}" && --depth === 0) break;
      }
      info = { file, imports, props: new Map(fields(src.slice(open + 1, end))) };
    }
  }
  cache.set(file, info);
  return info;
}

// ---- strict walk ----
function checkValue(value, type, ctx, where, errors) {
  if (value === null || value === undefined) return;
  type = type.trim();
  let m;
  if ((m = /^Array<([\s\S]*)>$/.exec(type))) {
    if (Array.isArray(value)) value.forEach((v, i) => checkValue(v, m[1], ctx, `${where}[${i}]`, errors));
    return;
  }
  if ((m = /^\{\s*\[key: string\]:\s*([\s\S]*?);?\s*\}$/.exec(type))) {
    if (value && typeof value === "object" && !Array.isArray(value))
      for (const [k, v] of Object.entries(value)) checkValue(v, m[1], ctx, `${where}.${k}`, errors);
    return;
  }
  if (ctx.imports.has(type)) {
    const t = loadType(ctx.imports.get(type));
    if (t) checkObject(value, t, where, errors);
  }
}

function checkObject(obj, t, where, errors) {
  if (!obj || typeof obj !== "object" || Array.isArray(obj)) return; // validate() reports it
  for (const [k, v] of Object.entries(obj)) {
    if (!t.props.has(k)) {
      errors.push(`${where}.${k}: unknown field`);
      continue;
    }
    checkValue(v, t.props.get(k), t, `${where}.${k}`, errors);
  }
}

// ---- main ----
const input = fs.readFileSync(0, "utf8");
const docs = YAML.parseAllDocuments(input).filter((d) => d.contents !== null);
let failed = 0;
if (docs.length === 0) {
  console.error("no objects on stdin");
  process.exit(1);
}
for (const doc of docs) {
  if (doc.errors.length) {
    console.error(`YAML error: ${doc.errors[0].message}`);
    failed++;
    continue;
  }
  const obj = doc.toJS();
  const id = `${obj?.kind ?? "?"}/${obj?.metadata?.name ?? "?"}`;
  const errors = [];
  if (!obj || typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") {
    console.error(`${id}: no apiVersion or kind`);
    failed++;
    continue;
  }
  const base = path.join(modules, "kubernetes-models", obj.apiVersion, obj.kind);
  if (!fs.existsSync(base + ".js")) {
    console.error(`${id}: unknown kind ${obj.apiVersion} ${obj.kind}`);
    failed++;
    continue;
  }
  const mod = await import(pathToFileURL(base + ".js").href);
  const Model = mod[obj.kind];
  try {
    new Model(obj).validate();
  } catch (e) {
    errors.push(String(e.message ?? e).trim());
  }
  const t = loadType(base + ".d.ts");
  if (!t) errors.push(`no type declarations for ${obj.apiVersion} ${obj.kind}`);
  else checkObject(obj, t, obj.kind, errors);
  if (errors.length) {
    failed++;
    console.error(`${id}: INVALID`);
    for (const e of errors) console.error(`  ${e}`);
  } else {
    console.log(`${id}: valid (${obj.apiVersion})`);
  }
}
process.exit(failed ? 1 : 0);
