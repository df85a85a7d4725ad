/** The snippets, with their placeholders filled in, are valid `.iommu` that simulates as expected. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { validate } from '../language/helpers.js';

const root = join(import.meta.dirname, '..', '..');
const snippets = JSON.parse(readFileSync(join(root, 'snippets', 'iommu.code-snippets'), 'utf8')) as Record<string, { prefix: string; body: string[] }>;

/** The text a snippet inserts when each placeholder keeps its default (or first choice). */
function expand(name: string, indent = ''): string {
    const snippet = snippets[name];
    if (!snippet) {
        throw new Error(`no snippet '${name}'`);
    }
    return snippet.body.map((l) => indent + l).join('\n')
        .replace(/\$\{\d+:([^}]*)\}/g, '$1')
        .replace(/\$\{\d+\|([^,|]*)[^}]*\}/g, '$1')
        .replace(/\$\d+/g, '');
}

const MACHINE = `machine box {
    iommu dmar0 intel-vtd { address-width 48 page-sizes 4K 2M 1G features coherent intr-remap }
    pci 0000 iommu dmar0 {
        root-port 00:1c.0 rp0 acs { endpoint 01:00.0 nic0 { driver ixgbe } }
        root-port 00:1d.0 rp1 acs { endpoint 02:00.0 nvme0 { driver nvme } }
    }
}
`;

async function errors(text: string): Promise<string[]> {
    const { diagnostics } = await validate(text);
    return diagnostics.filter((d) => d.severity === 1).map((d) => `${d.range.start.line + 1}: ${d.message}`);
}

describe('snippets', () => {
    test('each has a prefix and a body', () => {
        expect(Object.keys(snippets).sort()).toEqual(['DMA check', 'Legacy VFIO assignment', 'Machine', 'Scenario', 'iommufd setup']);
    });

    test('machine', async () => {
        expect(await errors(expand('Machine'))).toEqual([]);
    });

    test('a legacy VFIO assignment, then a DMA check, in a scenario', async () => {
        const text = `${MACHINE}scenario s on box {\n    process qemu {\n${expand('Legacy VFIO assignment', '        ')}\n${expand('DMA check', '        ')}\n    }\n}\n`;
        expect(await errors(text)).toEqual([]);
    });

    test('an iommufd setup', async () => {
        const text = `${MACHINE}scenario s on box {\n    process vmm {\n${expand('iommufd setup', '        ')}\n        dma nvme0 write 0x10_0000 len 4K\n    }\n}\n`;
        expect(await errors(text)).toEqual([]);
    });

    test('the scenario skeleton', async () => {
        const text = `${MACHINE}${expand('Scenario').replace('on machine', 'on box')}`;
        expect(await errors(text)).toEqual([]);
    });
});
