/**
 * The language server must survive any file: every example, cut at many points (what a file
 * looks like while being typed) and with random deletions, parses, links, lowers and simulates
 * without an internal error — only ordinary diagnostics.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { EmptyFileSystem, URI } from 'langium';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { createIommuServices } from '../../../language/iommu-module.js';

const root = join(import.meta.dirname, '..', '..', '..');
const files = [
    ...readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.iommu')).map((f) => join(root, 'examples', f)),
    ...readdirSync(join(root, 'examples', 'shared')).filter((f) => f.endsWith('.iommu')).map((f) => join(root, 'examples', 'shared', f)),
];

const { shared } = createIommuServices(EmptyFileSystem);
let n = 0;

/** Validates a text; returns internal errors (Langium turns a thrown check into such a diagnostic). */
async function internalErrors(text: string): Promise<string[]> {
    const uri = URI.parse(`file:///robust/${n++}.iommu`);
    const doc = shared.workspace.LangiumDocumentFactory.fromString(text, uri);
    shared.workspace.LangiumDocuments.addDocument(doc);
    try {
        await shared.workspace.DocumentBuilder.build([doc], { validation: true });
        return (doc.diagnostics ?? [])
            .map((d) => (typeof d.message === 'string' ? d.message : d.message.value))
            .filter((m) => /An error occurred|TypeError|Cannot read propert|is not a function|engine invariant/.test(m));
    } finally {
        shared.workspace.LangiumDocuments.deleteDocument(uri);
    }
}

describe('any text', () => {
    for (const file of files) {
        test(`${file.slice(root.length + 1)} cut at every 13th character`, async () => {
            const text = readFileSync(file, 'utf8');
            const bad: string[] = [];
            for (let cut = 0; cut < text.length; cut += 13) {
                for (const e of await internalErrors(text.slice(0, cut))) {
                    bad.push(`cut at ${cut}: ${e}`);
                }
            }
            expect(bad.slice(0, 5)).toEqual([]);
        }, 300_000);
    }

    test('random deletions and insertions of punctuation in the examples', async () => {
        const texts = files.map((f) => readFileSync(f, 'utf8'));
        await fc.assert(fc.asyncProperty(
            fc.integer({ min: 0, max: texts.length - 1 }),
            fc.array(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), del: fc.integer({ min: 0, max: 12 }), ins: fc.constantFrom('', '(', ')', '{', '}', ',', ':', '|', '0x', 'let ', '"', '..') }), { minLength: 1, maxLength: 4 }),
            async (which, edits) => {
                let text = texts[which]!;
                for (const e of edits) {
                    const at = Math.floor(e.at * text.length);
                    text = text.slice(0, at) + e.ins + text.slice(at + e.del);
                }
                expect(await internalErrors(text)).toEqual([]);
            },
        ), { numRuns: 150, seed: 20261121 });
    }, 600_000);
});
