/** docs/protocol.md and language/protocol/messages.ts must name the same methods (style rule 5). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import * as messages from '../../language/protocol/messages.js';

const root = join(import.meta.dirname, '..', '..');

test('every custom method is documented, and every documented method exists', () => {
    const inModule = new Set((Object.values(messages) as unknown[]).filter((v): v is string => typeof v === 'string' && v.startsWith('iommu/')));
    const doc = readFileSync(join(root, 'docs', 'protocol.md'), 'utf8');
    const inDoc = new Set([...doc.matchAll(/^### `(iommu\/[^`]+)`/gm)].map((m) => m[1]!));
    expect([...inModule].filter((m) => !inDoc.has(m)).sort()).toEqual([]);
    expect([...inDoc].filter((m) => !inModule.has(m)).sort()).toEqual([]);
});
