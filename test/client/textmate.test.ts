/**
 * The TextMate grammar: generated from one source (scripts/gen-textmate.ts), checked in
 * unchanged, and colouring what a user sees, tokenized here by the same engine VS Code uses
 * (vscode-textmate with Oniguruma).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import * as oniguruma from 'vscode-oniguruma';
import * as vsctm from 'vscode-textmate';
import { allIoctls } from '../../engine/uapi/index.js';
import { generateTextMateText, grammarKeywords, TEXTMATE_PATH } from '../../scripts/gen-textmate.js';

const root = join(import.meta.dirname, '..', '..');
const checkedIn = readFileSync(join(root, TEXTMATE_PATH), 'utf8');

let grammar: vsctm.IGrammar;

beforeAll(async () => {
    const require = createRequire(import.meta.url);
    const wasm = readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
    await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
    const registry = new vsctm.Registry({
        onigLib: Promise.resolve({
            createOnigScanner: (patterns: string[]) => new oniguruma.OnigScanner(patterns),
            createOnigString: (s: string) => new oniguruma.OnigString(s),
        }),
        loadGrammar: async (scope) => scope === 'source.iommu' ? vsctm.parseRawGrammar(checkedIn, 'iommu.tmLanguage.json') : null,
    });
    const loaded = await registry.loadGrammar('source.iommu');
    if (!loaded) {
        throw new Error('grammar did not load');
    }
    grammar = loaded;
});

/** The tokens of `lines`: text and innermost scope, whitespace-only tokens dropped. */
function tokenize(...lines: string[]): Array<[string, string]> {
    let state = vsctm.INITIAL;
    const out: Array<[string, string]> = [];
    for (const line of lines) {
        const r = grammar.tokenizeLine(line, state);
        for (const t of r.tokens) {
            const text = line.slice(t.startIndex, t.endIndex);
            if (text.trim() !== '') {
                out.push([text, t.scopes[t.scopes.length - 1]!]);
            }
        }
        state = r.ruleStack;
    }
    return out;
}

/** The innermost scope of the first token with this text. */
function scopeOf(tokens: Array<[string, string]>, text: string): string | undefined {
    return tokens.find(([t]) => t === text)?.[1];
}

describe('generated grammar', () => {
    test('the checked-in file is what the generator writes (run `npm run textmate:generate`)', () => {
        expect(checkedIn).toBe(generateTextMateText());
    });

    test('every keyword of the Langium grammar is coloured', () => {
        for (const keyword of grammarKeywords()) {
            const tokens = tokenize(`x ${keyword} y`);
            expect(scopeOf(tokens, keyword), keyword).toMatch(/^(keyword|storage|constant\.language)\./);
        }
    });

    test('every ioctl of the uAPI tables is coloured as a function', () => {
        for (const ioctl of allIoctls()) {
            expect(scopeOf(tokenize(`${ioctl.name}(fd)`), ioctl.name)).toBe('support.function.ioctl.iommu');
        }
    });
});

describe('what a user sees', () => {
    test('comments', () => {
        expect(tokenize('// a comment')).toContainEqual([' a comment', 'comment.line.double-slash.iommu']);
        const block = tokenize('/* one', 'two */ machine');
        expect(block).toContainEqual(['two ', 'comment.block.iommu']);
        expect(scopeOf(block, 'machine')).toBe('storage.type.declaration.iommu');
    });

    test('strings, with escapes', () => {
        const tokens = tokenize('let c = open "/dev/vfio/vfio" // x');
        expect(tokens).toContainEqual(['/dev/vfio/vfio', 'string.quoted.double.iommu']);
        expect(scopeOf(tokenize('"a\\"b"'), '\\"')).toBe('constant.character.escape.iommu');
    });

    test('numbers with separators and size suffixes', () => {
        const tokens = tokenize('VFIO_IOMMU_MAP_DMA(container, vaddr: ram, iova: 0x4000_0000, size: 1G, flags: READ | WRITE)');
        expect(scopeOf(tokens, '0x4000_0000')).toBe('constant.numeric.hex.iommu');
        expect(scopeOf(tokens, '1')).toBe('constant.numeric.decimal.iommu');
        expect(scopeOf(tokens, 'G')).toBe('keyword.other.unit.suffix.iommu');
        expect(scopeOf(tokens, 'READ')).toBe('variable.other.constant.kernel.short.iommu');
        expect(scopeOf(tokens, '|')).toBe('keyword.operator.bitwise.iommu');
        expect(scopeOf(tokenize('mmap 2MiB'), 'MiB')).toBe('keyword.other.unit.suffix.iommu');
        expect(scopeOf(tokenize('for len in 1 .. 8191 {'), '8191')).toBe('constant.numeric.decimal.iommu');
        expect(scopeOf(tokenize('for len in 1..8191 {'), '8191')).toBe('constant.numeric.decimal.iommu');
    });

    test('PCI addresses and IDs', () => {
        expect(scopeOf(tokenize('endpoint 0000:02:00.1 nic1 { id 8086:9a49 }'), '0000:02:00.1')).toBe('constant.numeric.pci-address.iommu');
        expect(scopeOf(tokenize('endpoint 02:00.1 nic1'), '02:00.1')).toBe('constant.numeric.pci-address.iommu');
        expect(scopeOf(tokenize('endpoint 02:00.1 nic1 { id 8086:9a49 }'), '8086:9a49')).toBe('constant.numeric.pci-id.iommu');
        expect(scopeOf(tokenize('dma-alias 00:1e.0'), 'dma-alias')).toBe('keyword.other.iommu');
    });

    test('ioctls, constants, errnos and outcomes', () => {
        const tokens = tokenize('VFIO_SET_IOMMU(container, VFIO_TYPE1v2_IOMMU) expect EBUSY');
        expect(scopeOf(tokens, 'VFIO_SET_IOMMU')).toBe('support.function.ioctl.iommu');
        expect(scopeOf(tokens, 'VFIO_TYPE1v2_IOMMU')).toBe('variable.other.constant.kernel.iommu');
        expect(scopeOf(tokens, 'expect')).toBe('keyword.control.statement.iommu');
        expect(scopeOf(tokens, 'EBUSY')).toBe('constant.language.errno.iommu');
        expect(scopeOf(tokenize('dma nic0 read 0x4000_0000 len 8 expect fault'), 'fault')).toBe('constant.language.outcome.iommu');
        expect(scopeOf(tokenize('caps CAP_IPC_LOCK'), 'CAP_IPC_LOCK')).toBe('variable.other.constant.capability.iommu');
        // an unknown name in the kernel's style stays plain: the language server reports it
        expect(scopeOf(tokenize('VFIO_NO_SUCH_THING(fd)'), 'VFIO_NO_SUCH_THING')).toBe('source.iommu');
    });

    test('declarations name things', () => {
        const tokens = tokenize('scenario assign_nic on legacy_server {', '    process qemu {');
        expect(scopeOf(tokens, 'assign_nic')).toBe('entity.name.function.scenario.iommu');
        expect(scopeOf(tokens, 'legacy_server')).toBe('entity.name.type.machine.iommu');
        expect(scopeOf(tokens, 'qemu')).toBe('entity.name.function.process.iommu');
        expect(scopeOf(tokenize('machine workstation {', '    kernel 6.12'), '6.12')).toBe('constant.numeric.version.iommu');
    });

    test('dashed words are one keyword, and names with keywords inside stay names', () => {
        expect(scopeOf(tokenize('root-port 00:1c.0 rp0 acs {'), 'root-port')).toBe('storage.type.device.iommu');
        expect(scopeOf(tokenize('let g = open vfio-group(nic0)'), 'vfio-group')).toBe('keyword.control.statement.iommu');
        expect(scopeOf(tokenize('page-sizes 4K 2M'), 'page-sizes')).toBe('keyword.other.iommu');
        // `gpu0.vf1`, `open_fd`, `intel-vtd`: no keyword inside
        expect(tokenize('dma gpu0.vf1 write 0 len 4').some(([t]) => t === 'vf1')).toBe(false);
        expect(scopeOf(tokenize('let open_fd = 1'), 'open_fd')).toBe('variable.other.declaration.iommu');
        expect(scopeOf(tokenize('iommu dmar0 intel-vtd {'), 'intel-vtd')).toBeUndefined();
    });

    test('the examples tokenize without a runaway string or comment', () => {
        const text = readFileSync(join(root, 'examples', '02-legacy-vfio.iommu'), 'utf8');
        const tokens = tokenize(...text.split('\n'));
        const last = tokens[tokens.length - 1]!;
        expect(last[1]).not.toMatch(/^(string|comment\.block)/);
        expect(tokens.filter(([, s]) => s === 'support.function.ioctl.iommu').length).toBeGreaterThan(5);
    });
});
