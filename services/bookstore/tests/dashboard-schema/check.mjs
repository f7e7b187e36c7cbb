// Validates Grafana dashboard JSON files against the dashboard schema Grafana publishes in
// @grafana/schema: its TypeScript `Dashboard` type (the classic JSON model that file
// provisioning loads) is turned into JSON Schema, with no properties beyond the declared ones,
// and every file given on the command line is checked against it with Ajv.
//
//   node check.mjs ../../../../charts/bookstore/dashboards/*.json
//
// Prints one line per problem and exits 1 when any file does not validate.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import Ajv from 'ajv';
import { createGenerator } from 'ts-json-schema-generator';

const require = createRequire(import.meta.url);
const schemaPackage = path.dirname(require.resolve('@grafana/schema/package.json'));
const types = path.join(schemaPackage, 'dist/types/raw/dashboard/x/types.gen.d.ts');

const schema = createGenerator({
  path: types,
  type: 'Dashboard',
  skipTypeCheck: true,
  additionalProperties: false,
}).createSchema('Dashboard');

const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(schema);

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node check.mjs DASHBOARD.json...');
  process.exit(2);
}
let failures = 0;
for (const file of files) {
  let dashboard;
  try {
    dashboard = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    console.log(`${file}: not JSON: ${err.message}`);
    failures += 1;
    continue;
  }
  if (validate(dashboard)) {
    console.log(`${file}: valid`);
    continue;
  }
  failures += 1;
  for (const error of validate.errors) {
    const detail = error.params && Object.keys(error.params).length ? ` ${JSON.stringify(error.params)}` : '';
    console.log(`${file}: ${error.instancePath || '/'} ${error.message}${detail}`);
  }
}
process.exit(failures === 0 ? 0 : 1);
