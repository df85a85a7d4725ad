/**
 * The contract's forms parse, link and lower: every code block of language.md (fixtures/contract,
 * with the machine they need), every shared example (fixtures/examples), and the lexical forms.
 */

import { describe, expect, test } from 'vitest';
import { isDmaStatement, isEndpoint, isIoctlStatement, isNameRef, isNumberLiteral, isScenario } from '../../language/generated/ast.js';
import { lowerDocument } from '../../language/lowering/lower-document.js';
import { describeDiagnostics, fixture, fixtureFiles, nodesOf, parseValid, syntaxErrors, WORKSTATION } from './helpers.js';

describe.each(['contract', 'examples'])('fixtures/%s', folder => {
    test.each(fixtureFiles(folder))('%s parses, links and validates with no issue, and lowers', async file => {
        const document = await parseValid(fixture(`${folder}/${file}`), `${folder}-${file.replace('.iommu', '')}`);
        expect(syntaxErrors(document)).toEqual([]);
        expect(describeDiagnostics(document)).toEqual([]);
        const lowered = lowerDocument(document);
        expect(lowered.machines.length + lowered.scenarios.length).toBeGreaterThan(0);
        for (const scenario of lowered.scenarios) {
            expect(scenario.diagnostics).toEqual([]);
            expect(scenario.program).toBeDefined();
            expect(scenario.program!.steps.length).toBeGreaterThan(0);
            expect(scenario.program!.steps.every(step => step.loc !== undefined)).toBe(true);
        }
    });
});

/** A scenario on the contract's machine, with `body` as the body of process `p`. */
function scenario(body: string): string {
    return `${WORKSTATION}\nscenario s on workstation {\n    process p {\n${body}\n    }\n}\n`;
}

describe('lexical forms', () => {
    test('comments of both kinds, anywhere', async () => {
        const document = await parseValid(scenario(`
            /* a block
               comment */ unbind nic0 // a line comment
            bind /* inline */ nic0 vfio-pci`));
        expect(syntaxErrors(document)).toEqual([]);
        expect(describeDiagnostics(document)).toEqual([]);
    });

    test('numbers: decimal, hex, separators and binary size suffixes', async () => {
        const literals = ['4096', '0x1000', '0x4000_0000', '1_000', '4K', '2M', '1G', '1T', '4KiB', '2MiB', '1GiB', '1TiB'];
        const document = await parseValid(scenario(literals.map(l => `        dma nic0 read ${l} len 1 expect fault`).join('\n')));
        expect(describeDiagnostics(document)).toEqual([]);
        const values = nodesOf(document.parseResult.value, isDmaStatement).map(d => isNumberLiteral(d.iova) ? d.iova.value : undefined);
        expect(values).toEqual([4096n, 0x1000n, 0x4000_0000n, 1000n, 4096n, 2n << 20n, 1n << 30n, 1n << 40n, 4096n, 2n << 20n, 1n << 30n, 1n << 40n]);
    });

    test('PCI addresses: full, and short inside a pci block', async () => {
        const document = await parseValid(`machine m {
            pci 0000 {
                endpoint 0000:02:00.1 a { }
                endpoint 02:00.2 b { dma-alias 0000:02:00.0 }
                endpoint 1f:1f.7 c
            }
        }`);
        expect(describeDiagnostics(document)).toEqual([]);
        expect(nodesOf(document.parseResult.value, isEndpoint).map(e => e.bdf)).toEqual(['0000:02:00.1', '02:00.2', '1f:1f.7']);
    });

    test('names: identifiers with digits and underscores, dotted VF names, keywords as binding and field names', async () => {
        const document = await parseValid(scenario(`
            let rp_1 = open "/dev/iommu"
            let id = IOMMU_IOAS_ALLOC(rp_1)
            IOMMU_DESTROY(rp_1, id: id)
            let pasid = open vfio-device(gpu0.vf1)
            dma gpu0.vf3 read 0 len 4 pasid pasid expect fault`));
        expect(syntaxErrors(document)).toEqual([]);
        expect(describeDiagnostics(document)).toEqual([]);
    });

    test('strings with escapes', async () => {
        const document = await parseValid(scenario(`
            let g = open vfio-group(nic0)
            VFIO_GROUP_GET_DEVICE_FD(g, "0000:02:00.0 vf_token=\\"x\\"")`));
        expect(describeDiagnostics(document)).toEqual([]);
        const call = nodesOf(document.parseResult.value, isIoctlStatement)[0]!;
        expect(call.args[0]!.value).toMatchObject({ $type: 'StringLiteral', value: '0000:02:00.0 vf_token="x"' });
    });

    test('kernel constants in full or short, combined with |, and numbers in their place', async () => {
        const document = await parseValid(scenario(`
            let c = open "/dev/vfio/vfio"
            VFIO_SET_IOMMU(c, VFIO_TYPE1v2_IOMMU)
            VFIO_SET_IOMMU(c, TYPE1v2_IOMMU)
            VFIO_SET_IOMMU(c, 3)
            let ram = mmap 4K
            VFIO_IOMMU_MAP_DMA(c, vaddr: ram, iova: 0, size: 4K, flags: READ | VFIO_DMA_MAP_FLAG_WRITE | 0x4)`));
        expect(describeDiagnostics(document)).toEqual([]);
        const refs = nodesOf(document.parseResult.value, isNameRef).filter(r => r.ref.ref?.$type === 'KernelConstant');
        expect(refs.map(r => [r.ref.$refText, r.ref.ref?.name])).toEqual([
            ['VFIO_TYPE1v2_IOMMU', 'VFIO_TYPE1v2_IOMMU'],
            ['TYPE1v2_IOMMU', 'VFIO_TYPE1v2_IOMMU'],
            ['READ', 'VFIO_DMA_MAP_FLAG_READ'],
            ['VFIO_DMA_MAP_FLAG_WRITE', 'VFIO_DMA_MAP_FLAG_WRITE'],
        ]);
    });

    test('a file may hold only machines, only scenarios, or nothing', async () => {
        expect(syntaxErrors(await parseValid(''))).toEqual([]);
        expect(syntaxErrors(await parseValid('// nothing but a comment'))).toEqual([]);
        const document = await parseValid('scenario lonely on nowhere { }');
        expect(syntaxErrors(document)).toEqual([]);
        expect(nodesOf(document.parseResult.value, isScenario)).toHaveLength(1);
    });
});
