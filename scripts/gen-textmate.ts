/**
 * Generates `syntaxes/iommu.tmLanguage.json`, the TextMate grammar of `.iommu` files, from the
 * sources that define the language: the keywords of the Langium grammar (`language/generated/
 * grammar.ts`), the ioctl names and kernel constants of the engine's uAPI tables
 * (`engine/uapi/`) and the engine's errno list (`engine/errno.ts`). The output is checked in and
 * never edited by hand; `test/client/textmate.test.ts` regenerates it and fails on a difference.
 *
 * Run: `npm run textmate:generate` (also part of `npm run langium:generate`).
 */

import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AstUtils, GrammarAST } from 'langium';
import { allErrnoNames } from '../engine/errno.js';
import { allConstantSets, allIoctls, shortName } from '../engine/uapi/index.js';
import { IommuScenarioGrammar } from '../language/generated/grammar.js';

/** Where the grammar goes, relative to the repository root. */
export const TEXTMATE_PATH = 'syntaxes/iommu.tmLanguage.json';

/**
 * How keywords are coloured. Keywords not listed here are attributes (`address-width`, `len`...)
 * and get `keyword.other.iommu`, so a keyword added to the Langium grammar is coloured at once.
 * The scopes are ones every default theme colours (Dark+/Light+, Dark/Light Modern, 2026).
 */
const KEYWORD_CLASSES: ReadonlyArray<{ readonly scope: string; readonly words: readonly string[] }> = [
    // what a file declares
    { scope: 'storage.type.declaration.iommu', words: ['machine', 'scenario', 'process', 'procedure', 'let'] },
    // hardware in a machine
    {
        scope: 'storage.type.device.iommu',
        words: ['iommu', 'pci', 'endpoint', 'root-port', 'switch', 'downstream', 'pci-bridge', 'platform', 'mdev'],
    },
    // what a process does
    {
        scope: 'keyword.control.statement.iommu',
        words: [
            'open', 'close', 'mmap', 'munmap', 'memfd', 'bind', 'unbind', 'sriov', 'sva-bind', 'sva-unbind', 'dma',
            'guest-map', 'guest-unmap',
            'call', 'exit', 'fork', 'send', 'for', 'in', 'repeat', 'expect', 'caps', 'vfio-group', 'vfio-device',
        ],
    },
    // outcomes an `expect` names
    { scope: 'constant.language.outcome.iommu', words: ['ok', 'fault'] },
];

/** Words of the grammar: every keyword that is a name (not punctuation). */
export function grammarKeywords(): string[] {
    const words = new Set<string>();
    for (const node of AstUtils.streamAllContents(IommuScenarioGrammar())) {
        if (GrammarAST.isKeyword(node) && /^[A-Za-z][\w-]*$/.test(node.value)) {
            words.add(node.value);
        }
    }
    return [...words].sort();
}

/** Kernel constants as written in full and short (`VFIO_GROUP_FLAGS_VIABLE`, `VIABLE`), and capabilities. */
export function kernelConstantNames(): { full: string[]; short: string[] } {
    const full = new Set<string>();
    const short = new Set<string>();
    for (const set of allConstantSets()) {
        for (const constant of set.constants) {
            full.add(constant.name);
            const s = shortName(constant, set);
            if (s !== undefined) {
                short.add(s);
            }
        }
    }
    return { full: [...full].sort(), short: [...short].filter((s) => !full.has(s)).sort() };
}

/** A regex alternation of literal words, longest first (so no word shadows a longer one). */
function alternation(words: Iterable<string>): string {
    return [...new Set(words)]
        .sort((a, b) => b.length - a.length || a.localeCompare(b))
        .map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('|');
}

/** Words of the language: not preceded or followed by a name character (`.` joins `gpu0.vf1`, `-` joins `root-port`). */
function word(alt: string): string {
    return `(?<![\\w.\\-])(?:${alt})(?![\\w\\-])`;
}

/** Names in the kernel's style (`VFIO_...`, `ENOENT`): a dash after them is an operator. */
function kernelWord(alt: string): string {
    return `(?<![\\w.])(?:${alt})(?![\\w])`;
}

type Rule = Record<string, unknown>;

/** The grammar as a JSON-ready object. */
export function generateTextMate(): Rule {
    const keywords = grammarKeywords();
    const classified = new Set(KEYWORD_CLASSES.flatMap((c) => c.words));
    const unknownClassified = [...classified].filter((w) => !keywords.includes(w));
    if (unknownClassified.length > 0) {
        throw new Error(`KEYWORD_CLASSES names words the Langium grammar does not have: ${unknownClassified.join(', ')}`);
    }
    const otherKeywords = keywords.filter((k) => !classified.has(k));
    const constants = kernelConstantNames();
    const ioctls = allIoctls().map((i) => i.name).sort();
    const errnos = [...allErrnoNames()].sort();

    const hex = '0[xX][0-9a-fA-F](?:_?[0-9a-fA-F])*';
    const dec = '[0-9](?:_?[0-9])*';
    const tail = '(?![\\w])';

    return {
        $schema: 'https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json',
        name: 'IOMMU Scenarios',
        scopeName: 'source.iommu',
        fileTypes: ['iommu'],
        comment: 'GENERATED by scripts/gen-textmate.ts from the Langium grammar and the engine\'s uAPI tables: do not edit.',
        patterns: [
            { include: '#comments' },
            { include: '#strings' },
            { include: '#declarations' },
            { include: '#pci' },
            { include: '#numbers' },
            { include: '#ioctls' },
            { include: '#errnos' },
            { include: '#constants' },
            { include: '#keywords' },
            { include: '#operators' },
            { include: '#punctuation' },
        ],
        repository: {
            comments: {
                patterns: [
                    {
                        name: 'comment.block.iommu',
                        begin: '/\\*',
                        end: '\\*/',
                        beginCaptures: { 0: { name: 'punctuation.definition.comment.begin.iommu' } },
                        endCaptures: { 0: { name: 'punctuation.definition.comment.end.iommu' } },
                    },
                    {
                        name: 'comment.line.double-slash.iommu',
                        begin: '//',
                        end: '$',
                        beginCaptures: { 0: { name: 'punctuation.definition.comment.iommu' } },
                    },
                ],
            },
            strings: {
                name: 'string.quoted.double.iommu',
                begin: '"',
                end: '"|$',
                beginCaptures: { 0: { name: 'punctuation.definition.string.begin.iommu' } },
                endCaptures: { 0: { name: 'punctuation.definition.string.end.iommu' } },
                patterns: [{ name: 'constant.character.escape.iommu', match: '\\\\.' }],
            },
            declarations: {
                patterns: [
                    {
                        comment: 'machine NAME',
                        match: `(?<![\\w.\\-])(machine)\\s+([A-Za-z_]\\w*)`,
                        captures: { 1: { name: 'storage.type.declaration.iommu' }, 2: { name: 'entity.name.type.machine.iommu' } },
                    },
                    {
                        comment: 'scenario NAME on MACHINE',
                        match: `(?<![\\w.\\-])(scenario)\\s+([A-Za-z_]\\w*)(?:\\s+(on)\\s+([A-Za-z_]\\w*))?`,
                        captures: {
                            1: { name: 'storage.type.declaration.iommu' },
                            2: { name: 'entity.name.function.scenario.iommu' },
                            3: { name: 'keyword.other.iommu' },
                            4: { name: 'entity.name.type.machine.iommu' },
                        },
                    },
                    {
                        comment: 'process NAME / procedure NAME',
                        match: `(?<![\\w.\\-])(process|procedure)\\s+([A-Za-z_]\\w*)`,
                        captures: { 1: { name: 'storage.type.declaration.iommu' }, 2: { name: 'entity.name.function.process.iommu' } },
                    },
                    {
                        comment: 'let NAME =',
                        match: `(?<![\\w.\\-])(let)\\s+([A-Za-z_]\\w*)`,
                        captures: { 1: { name: 'storage.type.declaration.iommu' }, 2: { name: 'variable.other.declaration.iommu' } },
                    },
                    {
                        comment: 'kernel 6.12',
                        match: `(?<![\\w.\\-])(kernel)\\s+([0-9]+(?:\\.[0-9]+)?)${tail}`,
                        captures: { 1: { name: 'keyword.other.iommu' }, 2: { name: 'constant.numeric.version.iommu' } },
                    },
                ],
            },
            pci: {
                patterns: [
                    {
                        comment: 'a PCI address: 0000:02:00.1 (segment:bus:device.function)',
                        name: 'constant.numeric.pci-address.iommu',
                        match: '(?<![\\w:.])[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7](?![\\w])',
                    },
                    {
                        comment: 'a PCI address in a segment: 02:00.1',
                        name: 'constant.numeric.pci-address.iommu',
                        match: '(?<![\\w:.])[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7](?![\\w])',
                    },
                    {
                        comment: 'vendor:device ID: 8086:9a49',
                        name: 'constant.numeric.pci-id.iommu',
                        match: '(?<![\\w:.])[0-9a-fA-F]{4}:[0-9a-fA-F]{4}(?![\\w:.])',
                    },
                ],
            },
            numbers: {
                patterns: [
                    {
                        name: 'constant.numeric.hex.iommu',
                        match: `(?<![\\w])${hex}${tail}`,
                    },
                    {
                        comment: 'decimal, with a binary size suffix: 4K, 2MiB, 1G',
                        match: `(?<![\\w])(${dec})(KiB|MiB|GiB|TiB|K|M|G|T)?${tail}`,
                        captures: {
                            1: { name: 'constant.numeric.decimal.iommu' },
                            2: { name: 'keyword.other.unit.suffix.iommu' },
                        },
                    },
                ],
            },
            ioctls: {
                comment: 'ioctl names of the uAPI tables (engine/uapi)',
                name: 'support.function.ioctl.iommu',
                match: kernelWord(alternation(ioctls)),
            },
            errnos: {
                comment: 'errno names (engine/errno.ts)',
                name: 'constant.language.errno.iommu',
                match: kernelWord(alternation(errnos)),
            },
            constants: {
                patterns: [
                    {
                        comment: 'kernel constants in full (engine/uapi)',
                        name: 'variable.other.constant.kernel.iommu',
                        match: kernelWord(alternation(constants.full)),
                    },
                    {
                        comment: 'capabilities: CAP_IPC_LOCK',
                        name: 'variable.other.constant.capability.iommu',
                        match: '(?<![\\w.])CAP_[A-Z0-9_]+(?![\\w.])',
                    },
                    {
                        comment: 'kernel constants by their short name inside a call: READ, FIXED_IOVA, VIABLE',
                        name: 'variable.other.constant.kernel.short.iommu',
                        match: kernelWord(alternation(constants.short)),
                    },
                ],
            },
            keywords: {
                patterns: [
                    ...KEYWORD_CLASSES.map((c) => ({ name: c.scope, match: word(alternation(c.words)) })),
                    { name: 'keyword.other.iommu', match: word(alternation(otherKeywords)) },
                ],
            },
            operators: {
                patterns: [
                    { name: 'keyword.operator.range.iommu', match: '\\.\\.' },
                    { name: 'keyword.operator.shift.iommu', match: '<<|>>' },
                    { name: 'keyword.operator.bitwise.iommu', match: '[|&^~]' },
                    { name: 'keyword.operator.arithmetic.iommu', match: '[-+*/%]' },
                    { name: 'keyword.operator.assignment.iommu', match: '=' },
                ],
            },
            punctuation: {
                patterns: [
                    { name: 'punctuation.section.block.begin.iommu', match: '\\{' },
                    { name: 'punctuation.section.block.end.iommu', match: '\\}' },
                    { name: 'punctuation.section.parens.begin.iommu', match: '\\(' },
                    { name: 'punctuation.section.parens.end.iommu', match: '\\)' },
                    { name: 'punctuation.section.brackets.begin.iommu', match: '\\[' },
                    { name: 'punctuation.section.brackets.end.iommu', match: '\\]' },
                    { name: 'punctuation.separator.comma.iommu', match: ',' },
                    { name: 'punctuation.separator.key-value.iommu', match: ':' },
                ],
            },
        },
    };
}

/** The file's text: stable key order, two-space indent, trailing newline. */
export function generateTextMateText(): string {
    return JSON.stringify(generateTextMate(), null, 2) + '\n';
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
    const root = join(dirname(fileURLToPath(import.meta.url)), '..');
    writeFileSync(join(root, TEXTMATE_PATH), generateTextMateText());
    console.log(`wrote ${TEXTMATE_PATH}`);
}
