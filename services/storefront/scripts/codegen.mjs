// Generates src/api/schema.d.ts from the API's OpenAPI document (docs/openapi.json).
// `npm run codegen` writes the file; `npm run codegen:check` fails when it is stale.
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";

const here = new URL("../", import.meta.url);
const source = new URL("../../docs/openapi.json", here);
const target = new URL("src/api/schema.d.ts", here);
const HEADER =
  "// Generated from docs/openapi.json by `npm run codegen` (openapi-typescript). Do not edit; regenerate instead.\n";

const ast = await openapiTS(JSON.parse(await readFile(source, "utf8")), {
  alphabetize: true,
});
const text = HEADER + "\n" + astToString(ast);

if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = await readFile(target, "utf8");
  } catch {
    // missing counts as stale
  }
  if (current !== text) {
    console.error(
      `${fileURLToPath(target)} is stale: run \`npm run codegen\` in services/storefront and commit the result.`,
    );
    process.exit(1);
  }
  console.log("src/api/schema.d.ts is up to date");
} else {
  await writeFile(target, text);
  console.log(`wrote ${fileURLToPath(target)}`);
}
