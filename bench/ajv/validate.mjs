// Schema-only validation of every corpus config with ajv, for comparison with orrery-schema.
//
//   node validate.mjs SCHEMA.json CORPUS_DIR [--repeat N] [--own CONFIG_SCHEMA ORB_SCHEMA] [--verdicts]
//
// SCHEMA.json is SchemaStore's CircleCI schema (draft-07), e.g. the copy check-jsonschema
// vendors. Each pass reads, parses (YAML 1.2 core schema plus merge keys, duplicate keys allowed: the `yaml` package's 1.1 mode reads `.` as a number) and validates
// every `.yml` file. Prints one JSON line: the median in-process pass in ms, the whole process
// time in ms (node start-up and module loading included) and the valid/invalid/unparsed counts.
//
// --own compiles Orrery's own schemas (draft 2020-12) instead and validates with them;
// --verdicts prints `FILE<TAB>valid|invalid|unparsed` lines for every file (first pass) before
// the summary, so a test can compare ajv's verdicts with Orrery's.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import Ajv from "ajv";
import Ajv2020 from "ajv/dist/2020.js";
import YAML from "yaml";

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args.splice(i, 2)[1];
};
const own = args.indexOf("--own");
let ownSchemas;
if (own >= 0) {
  ownSchemas = args.splice(own, 3).slice(1);
}
const verdicts = args.indexOf("--verdicts") >= 0;
if (verdicts) args.splice(args.indexOf("--verdicts"), 1);
const repeat = Number(option("--repeat") ?? 1);
const [schemaPath, corpus] = args;

let validate;
if (ownSchemas) {
  // Orrery's `x-` keywords are annotations for its own checker.
  const ajv = new Ajv2020({ strict: false, allErrors: false });
  ajv.addKeyword("x-expected");
  ajv.addKeyword("x-warn-unknown");
  const [configPath, orbPath] = ownSchemas;
  ajv.addSchema(JSON.parse(readFileSync(orbPath, "utf8")));
  validate = ajv.compile(JSON.parse(readFileSync(configPath, "utf8")));
} else {
  const ajv = new Ajv({ strict: false, allErrors: false });
  validate = ajv.compile(JSON.parse(readFileSync(schemaPath, "utf8")));
}

const files = readdirSync(corpus)
  .filter((f) => f.endsWith(".yml") || f.endsWith(".yaml"))
  .sort();

function pass(report) {
  const counts = { valid: 0, invalid: 0, unparsed: 0 };
  for (const file of files) {
    const text = readFileSync(join(corpus, file), "utf8");
    let verdict;
    try {
      const doc = YAML.parse(text, { merge: true, uniqueKeys: false, maxAliasCount: -1 });
      verdict = validate(doc) ? "valid" : "invalid";
    } catch {
      verdict = "unparsed";
    }
    counts[verdict] += 1;
    if (report) console.log(`${file}\t${verdict}`);
  }
  return counts;
}

const times = [];
let counts;
for (let i = 0; i < repeat; i++) {
  const start = performance.now();
  counts = pass(verdicts && i === 0);
  times.push(performance.now() - start);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(
  JSON.stringify({
    files: files.length,
    ...counts,
    passes: repeat,
    median_pass_ms: Number(median.toFixed(2)),
    process_ms: Number((process.uptime() * 1000).toFixed(1)),
  }),
);
