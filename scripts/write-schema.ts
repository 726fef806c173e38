/**
 * Writes config/lapsebox.schema.json from the one schema declaration
 * (`npm run schema`). A test fails when the committed file is out of date.
 */
import fs from 'node:fs';
import path from 'node:path';
import { jsonSchema } from '../daemon/config/schema';

/** The checkout's root, whether this runs compiled (dist/scripts) or from source (scripts). */
function projectRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the lapsebox checkout (no package.json above this script)');
    dir = parent;
  }
  return dir;
}

export const SCHEMA_FILE = path.join(projectRoot(), 'config', 'lapsebox.schema.json');

export function schemaText(): string {
  return `${JSON.stringify(jsonSchema(), null, 2)}\n`;
}

if (require.main === module) {
  fs.writeFileSync(SCHEMA_FILE, schemaText());
  process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
}
