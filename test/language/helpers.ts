/**
 * Shared setup of the language tests: services on an empty file system, parse and validate
 * helpers, fixtures, and small readers for positions and diagnostics.
 */

import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AstUtils, EmptyFileSystem, type AstNode, type LangiumDocument } from 'langium';
import { parseHelper, validationHelper, type ValidationResult } from 'langium/test';
import type { IommuFile } from '../../language/generated/ast.js';
import { createIommuServices } from '../../language/iommu-module.js';
import { IommuCodes } from '../../language/validation/diagnostic-codes.js';

export const { shared, iommu } = createIommuServices(EmptyFileSystem);

const parseDocument = parseHelper<IommuFile>(iommu);
const validateDocument = validationHelper<IommuFile>(iommu);

let counter = 0;

/** Parses, links and validates `text` as a new document (a fresh URI each time). */
export async function parseValid(text: string, name?: string): Promise<LangiumDocument<IommuFile>> {
    counter++;
    return parseDocument(text, { validation: true, documentUri: `file:///test/${name ?? `doc${counter}`}.iommu` });
}

/** Parses and validates `text`, in the shape `langium/test`'s `expectError` and friends take. */
export async function validate(text: string, name?: string): Promise<ValidationResult<IommuFile>> {
    counter++;
    return validateDocument(text, { documentUri: `file:///test/${name ?? `doc${counter}`}.iommu` });
}

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** The text of `fixtures/<path>`. */
export function fixture(path: string): string {
    return readFileSync(join(FIXTURES, path), 'utf8');
}

/** The `.iommu` files of a fixture folder. */
export function fixtureFiles(folder: string): string[] {
    return readdirSync(join(FIXTURES, folder)).filter(f => f.endsWith('.iommu')).sort();
}

/** The contract's machine block (`machine workstation`). */
export const WORKSTATION = fixture('contract/machine.iommu');

/** 0-based line of the first line of `text` containing `needle` (after `from`, if given). */
export function lineOf(text: string, needle: string, from?: string): number {
    const start = from === undefined ? 0 : text.indexOf(from);
    const index = text.indexOf(needle, Math.max(start, 0));
    if (index < 0) {
        throw new Error(`'${needle}' not in text`);
    }
    return text.slice(0, index).split('\n').length - 1;
}

/** The LSP range of the `occurrence`-th `needle` in `text` (0-based). */
export function rangeOf(text: string, needle: string, occurrence = 0): { start: { line: number; character: number }; end: { line: number; character: number } } {
    let index = -1;
    for (let i = 0; i <= occurrence; i++) {
        index = text.indexOf(needle, index + 1);
        if (index < 0) {
            throw new Error(`'${needle}' #${occurrence} not in text`);
        }
    }
    const position = (offset: number) => {
        const before = text.slice(0, offset).split('\n');
        return { line: before.length - 1, character: before[before.length - 1]!.length };
    };
    return { start: position(index), end: position(index + needle.length) };
}

/** Codes of the diagnostics the language itself reports (not the engine-driven validation). */
const LANGUAGE_CODES = new Set<string>([
    ...Object.values(IommuCodes), 'lexing-error', 'lexing-warning', 'parsing-error', 'linking-error',
]);

/** Whether the language (parser, linker, its validators) reported this diagnostic. */
function isLanguageDiagnostic(diagnostic: NonNullable<LangiumDocument['diagnostics']>[number]): boolean {
    const data = diagnostic.data as { code?: string } | undefined;
    return diagnostic.code === undefined || LANGUAGE_CODES.has(String(diagnostic.code)) || LANGUAGE_CODES.has(String(data?.code));
}

/**
 * The language's diagnostics as `line:column: message [code]` lines, for readable failures.
 * Diagnostics of validators built on top (the engine's predictions) are left out: these tests
 * are about the language.
 */
export function describeDiagnostics(document: LangiumDocument): string[] {
    return (document.diagnostics ?? []).filter(isLanguageDiagnostic)
        .map(d => `${d.range.start.line + 1}:${d.range.start.character + 1}: ${d.message} [${String(d.code)}]`);
}

/** Lexer and parser errors of a document. */
export function syntaxErrors(document: LangiumDocument): string[] {
    return [
        ...document.parseResult.lexerErrors.map(e => `lexer: ${e.message}`),
        ...document.parseResult.parserErrors.map(e => `parser: ${e.token.startLine}: ${e.message}`),
    ];
}

/** All nodes under `root` (itself included) that `guard` accepts, in source order. */
export function nodesOf<T extends AstNode>(root: AstNode, guard: (node: unknown) => node is T): T[] {
    return AstUtils.streamAst(root).filter(guard).toArray();
}
