import { describe, expect, test } from 'vitest';
import { expectFoldings, expectSymbols } from 'langium/test';
import type { DocumentSymbol } from 'vscode-languageserver';
import { SymbolKind } from 'vscode-languageserver';
import { iommu } from '../helpers.js';
import { BOX } from './lsp-fixtures.js';

/** `name (detail)` per symbol, children indented. */
function outline(symbols: readonly DocumentSymbol[], depth = 0): string[] {
    return symbols.flatMap(s => [`${'  '.repeat(depth)}${s.name} (${s.detail})`, ...outline(s.children ?? [], depth + 1)]);
}

const SCENARIO = `${BOX}
scenario assign on box {
    process qemu {
        let group = open vfio-group(nic0)
        for i in 1 .. 2 {
            let ram = mmap 2M
        }
    }
    procedure poke(dev) {
        unbind dev
    }
}
`;

describe('document symbols', () => {
    test('machines with IOMMU units and the PCI tree; scenarios with processes and procedures', async () => {
        await expectSymbols(iommu)({
            text: SCENARIO,
            disposeAfterCheck: true,
            assert: symbols => {
                expect(outline(symbols)).toEqual([
                    'box (machine)',
                    '  dmar0 (iommu intel-vtd)',
                    '  pci 0000 (iommu dmar0)',
                    '    rp0 (root-port 00:1c.0)',
                    '      nvme0 (endpoint 01:00.0, nvme)',
                    '    rp1 (root-port 00:1d.0)',
                    '      nic0 (endpoint 02:00.0, ixgbe)',
                    '      nic1 (endpoint 02:00.1, ixgbe)',
                    'assign (on box)',
                    '  qemu (process)',
                    '    group (open)',
                    '    i (loop variable)',
                    '    ram (mmap)',
                    '  poke (procedure(dev))',
                    '    dev (parameter)',
                ]);
                expect(symbols[0]!.kind).toBe(SymbolKind.Module);
                const nic0 = symbols[0]!.children![1]!.children![1]!.children![0]!;
                expect(nic0.selectionRange.start).toEqual({ line: 7, character: 29 });
            },
        });
    });

    test('an unnamed port is listed by its address', async () => {
        await expectSymbols(iommu)({
            text: BOX.replace('root-port 00:1c.0 rp0 acs', 'root-port 00:1c.0 acs'),
            disposeAfterCheck: true,
            assert: symbols => expect(symbols[0]!.children![1]!.children![0]!.name).toBe('00:1c.0'),
        });
    });
});

describe('folding', () => {
    test('blocks and comments fold', async () => {
        await expectFoldings(iommu)({
            text: `// a machine
// with a comment of two lines
machine m {
    iommu u intel-vtd {
        features intr-remap
    }
    pci 0000 iommu u {
        endpoint 01:00.0 nic0 { driver ixgbe }
    }
}
scenario s on m {
    /* a block
       comment */
    process p {
        for i in 1 .. 2 {
            close(i) expect EBADF
        }
    }
}
`,
            disposeAfterCheck: true,
            assert: (foldings) => {
                const lines = foldings.map(f => `${f.startLine}-${f.endLine}${f.kind ? ` ${f.kind}` : ''}`);
                expect(lines).toEqual(expect.arrayContaining(['0-1 comment', '2-8', '3-4', '6-7', '10-17', '11-12 comment', '13-16', '14-15']));
                expect(lines).toHaveLength(8);
            },
        });
    });
});
