// The Node side of tests/test_asyncapi_node.py, one process for the whole batch.
//
// Reads a JSON job on standard input:
//   {"documents": {NAME: {"text": TEXT, "document": DOC}},
//    "samples": [{"document": NAME, "operation": ID, "instance": V}]}
// where TEXT is an AsyncAPI document as JSON or YAML text and DOC the same document as JSON
// (the Python dict), and writes a JSON report:
//   {"documents": {NAME: {"diagnostics": [...], "typescript": SOURCE | null}},
//    "samples": [{"valid": BOOL, "errors": [...]}]}
// - diagnostics: what @asyncapi/parser says about the document (severity 0 is an error);
// - typescript: json-schema-to-typescript's types for the message payloads, one exported union
//   per operation (named after the operation id: `chat_receive` -> `ChatReceive`) and one type
//   per schema it reaches;
// - samples: each instance checked by Ajv (JSON Schema Draft 07, formats on) against the union of
//   the payloads of one operation.
import { Parser } from "@asyncapi/parser";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import { compile } from "json-schema-to-typescript";

const job = JSON.parse(await readStdin());
const parser = new Parser();
const report = { documents: {}, samples: [] };
const roots = {};

for (const [name, { text, document: raw }] of Object.entries(job.documents)) {
  const { document, diagnostics } = await parser.parse(text);
  const entry = {
    diagnostics: diagnostics.map((d) => ({
      code: d.code,
      message: d.message,
      severity: d.severity,
      path: d.path,
    })),
    typescript: null,
  };
  report.documents[name] = entry;
  if (document === undefined) continue;
  const root = payloadsRoot(raw);
  roots[name] = root;
  entry.typescript = await compile(structuredClone(root), "AsyncAPIMessages", {
    bannerComment: "",
    unreachableDefinitions: true,
    strictIndexSignatures: true,
    format: false,
  });
}

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
// msgspec's formats that Draft 07 and ajv-formats do not define: annotations only.
for (const format of ["decimal"]) ajv.addFormat(format, true);
const validators = new Map();
for (const sample of job.samples ?? []) {
  const key = `${sample.document}#${sample.operation}`;
  if (!validators.has(key)) {
    // Only the definitions and components: Ajv 8 would also apply the root's keywords.
    const { definitions, components } = roots[sample.document];
    validators.set(key, ajv.compile({ definitions, components, $ref: `#/definitions/${sample.operation}` }));
  }
  const validate = validators.get(key);
  const valid = validate(sample.instance);
  report.samples.push({ valid, errors: valid ? [] : validate.errors });
}

process.stdout.write(JSON.stringify(report));

// One JSON Schema whose definitions are the operations' payload unions; the document's
// components ride along so that the payloads' "#/components/schemas/..." refs resolve in it.
function payloadsRoot(raw) {
  const definitions = {};
  for (const [id, operation] of Object.entries(raw.operations ?? {})) {
    const payloads = (operation.messages ?? []).map((ref) => pointer(raw, ref.$ref).payload);
    definitions[id] = { title: id, oneOf: payloads };
  }
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    title: "AsyncAPIMessages",
    type: "object",
    additionalProperties: false,
    definitions,
    components: raw.components ?? {},
  };
}

function pointer(doc, ref) {
  if (!ref.startsWith("#/")) throw new Error(`not a local ref: ${ref}`);
  return ref
    .slice(2)
    .split("/")
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce((node, part) => {
      if (node === undefined || !(part in node)) throw new Error(`unresolved ref: ${ref}`);
      return node[part];
    }, doc);
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}
