import { describe, expect, test } from 'vitest';
import { expectSemanticToken, highlightHelper } from 'langium/test';
import { SemanticTokenTypes } from 'vscode-languageserver';
import { iommu } from '../helpers.js';

const highlight = highlightHelper(iommu);

const TEXT = `<|machine|> <|box|> {
    iommu <|dmar0|> <|intel-vtd|> { features <|intr-remap|> }
    pci 0000 iommu dmar0 {
        root-port <|00:1d.0|> rp1 {
            endpoint 02:00.0 <|nic0|> { driver <|ixgbe|> }
        }
    }
}
scenario s on box {
    process <|qemu|> {
        unbind <|nic0|>
        bind nic0 <|vfio-pci|>
        let <|c|> = open <|"/dev/vfio/vfio"|>
        <|VFIO_SET_IOMMU|>(<|c|>, <|VFIO_TYPE1v2_IOMMU|>)
        let ram = mmap <|1G|>
        VFIO_IOMMU_MAP_DMA(c, <|vaddr|>: ram, iova: 0, size: 1G, flags: <|READ|> | WRITE)
        close(99) expect <|EBADF|>
        <|for|> <|i|> in 1 .. 2 { close(<|i|>) expect EBADF }
    }
    procedure p(<|dev|>) {
        unbind <|dev|>
        let <|id|> = open "/dev/iommu"
    }
}
`;

const EXPECTED: ReadonlyArray<[string, SemanticTokenTypes]> = [
    ['machine', SemanticTokenTypes.keyword],
    ['box', SemanticTokenTypes.namespace],
    ['dmar0', SemanticTokenTypes.interface],
    ['intel-vtd', SemanticTokenTypes.enumMember],
    ['intr-remap', SemanticTokenTypes.enumMember],
    ['00:1d.0 (a BDF)', SemanticTokenTypes.number],
    ['nic0 (declared)', SemanticTokenTypes.class],
    ['ixgbe', SemanticTokenTypes.string],
    ['qemu', SemanticTokenTypes.type],
    ['nic0 (used)', SemanticTokenTypes.class],
    ['vfio-pci', SemanticTokenTypes.string],
    ['c (declared)', SemanticTokenTypes.variable],
    ['a path', SemanticTokenTypes.string],
    ['VFIO_SET_IOMMU', SemanticTokenTypes.function],
    ['c (used)', SemanticTokenTypes.variable],
    ['VFIO_TYPE1v2_IOMMU', SemanticTokenTypes.enumMember],
    ['1G', SemanticTokenTypes.number],
    ['vaddr', SemanticTokenTypes.property],
    ['READ', SemanticTokenTypes.enumMember],
    ['EBADF', SemanticTokenTypes.macro],
    ['for', SemanticTokenTypes.keyword],
    ['i (declared)', SemanticTokenTypes.variable],
    ['i (used)', SemanticTokenTypes.variable],
    ['dev (declared)', SemanticTokenTypes.parameter],
    ['dev (used as a device)', SemanticTokenTypes.parameter],
    ['id, a keyword used as a name', SemanticTokenTypes.variable],
];

describe('semantic tokens', () => {
    test('devices, variables, ioctls, constants, errnos, numbers, BDFs and keywords', async () => {
        const tokens = await highlight(TEXT);
        expect(tokens.ranges).toHaveLength(EXPECTED.length);
        EXPECTED.forEach(([what, tokenType], rangeIndex) => {
            expect(() => expectSemanticToken(tokens, { rangeIndex, tokenType }), what).not.toThrow();
        });
    });

    test('keywords that are parts of names are not keywords', async () => {
        const tokens = await highlight('machine m { pci 0000 { endpoint 01:00.0 x { driver pci-stub } } }');
        const keywords = tokens.tokens.filter(t => t.tokenType === SemanticTokenTypes.keyword).map(t => t.text);
        expect(keywords).toEqual(['machine', 'pci', 'endpoint', 'driver']);
    });
});
