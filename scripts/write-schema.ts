/**
 * Writes config/lapsebox.schema.json from the one schema declaration
 * (`npm run schema`). A test fails when the committed file is out of date.
 */
import fs from 'node:fs';
import path from 'node:path';
import { jsonSchema } from '../daemon/config/schema';
import { projectRoot } from '../daemon/package-info';

export const SCHEMA_FILE = path.join(projectRoot(), 'config', 'lapsebox.schema.json');

export function schemaText(): string {
  return `${JSON.stringify(jsonSchema(), null, 2)}\n`;
}

if (require.main === module) {
  fs.writeFileSync(SCHEMA_FILE, schemaText());
  process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
}
