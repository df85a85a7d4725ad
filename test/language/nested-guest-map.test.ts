/**
 * `guest-map HWPT iova IOVA to GPA len N [read] [write]` and `guest-unmap HWPT iova IOVA len N`:
 * parsing, the HWPT name's scope, lowering to the engine's `guest-map` / `guest-unmap` steps,
 * diagnostics for misuse, and the nesting example checked clean (with the stale-IOTLB warning
 * when the invalidation is left out).
 */

import { describe, expect, test } from 'vitest';
import type { Step } from '../../engine/step.js';
import { runCli } from '../../language/cli/main.js';
import { isGuestMapStatement, isGuestUnmapStatement, isIoctlStatement, isNameRef } from '../../language/generated/ast.js';
import { lowerScenario } from '../../language/lowering/lower-scenario.js';
import { describeDiagnostics, nodesOf, parseValid, syntaxErrors } from './helpers.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

const MACHINE = `
machine host {
    iommu dmar0 intel-vtd {
        address-width 48
        page-sizes 4K 2M 1G
        pasid-width 20
        features coherent enforce-coherency intr-remap nesting
    }
    pci 0000 iommu dmar0 {
        root-port 00:01.0 rp0 acs { endpoint 01:00.0 nvme0 { driver nvme } }
    }
}
`;

/** The VMM's preamble: guest RAM at GPA 0 in an IOAS, `s2` (NEST_PARENT) and `s1` (nested, table at 0x10_0000). */
const PREAMBLE = `
        unbind nvme0
        bind nvme0 vfio-pci
        let iommufd = open "/dev/iommu"
        let disk = open vfio-device(nvme0)
        let dev = VFIO_DEVICE_BIND_IOMMUFD(disk, iommufd: iommufd)
        let ram = mmap 8M
        let ioas = IOMMU_IOAS_ALLOC(iommufd)
        IOMMU_IOAS_MAP(iommufd, ioas_id: ioas, user_va: ram, length: 8M, iova: 0, flags: FIXED_IOVA | READABLE | WRITEABLE)
        let s2 = IOMMU_HWPT_ALLOC(iommufd, dev_id: dev, pt_id: ioas, flags: NEST_PARENT)
        let s1 = IOMMU_HWPT_ALLOC(iommufd, dev_id: dev, pt_id: s2, data_type: VTD_S1,
                                  data_uptr: [ { pgtbl_addr: 0x10_0000, addr_width: 48 } ])
        VFIO_DEVICE_ATTACH_IOMMUFD_PT(disk, pt_id: s1)
`;

function scenario(body: string, procedures = ''): string {
    return `${MACHINE}\nscenario nest on host {\n    process vmm {\n${PREAMBLE}\n${body}\n    }\n${procedures}\n}\n`;
}

async function lowered(text: string): Promise<{ steps: readonly Step[]; diagnostics: string[] }> {
    const document = await parseValid(text);
    const result = lowerScenario(document.parseResult.value.scenarios[0]!);
    return { steps: result.program!.steps, diagnostics: describeDiagnostics(document) };
}

describe('parsing', () => {
    test('both statements parse, permissions in any order, `iova` stays usable as a name and a field', async () => {
        const text = scenario(`
        guest-map s1 iova 0x1000 to 0x20_0000 len 4K read write
        guest-map s1 iova 0x20_0000 to 0x40_0000 len 2M write read
        guest-map s1 iova 0x1000 + 8K to 0x30_0000 len 4K read
        guest-unmap s1 iova 0x1000 len 4K
        let iova = IOMMU_IOAS_MAP(iommufd, ioas_id: ioas, user_va: ram, length: 4K, flags: READABLE | WRITEABLE) expect ENOSPC
        dma nvme0 read iova len 8 expect fault`);
        const document = await parseValid(text);
        expect(syntaxErrors(document)).toEqual([]);
        const maps = nodesOf(document.parseResult.value, isGuestMapStatement);
        expect(maps.map(m => m.permissions)).toEqual([['read', 'write'], ['write', 'read'], ['read']]);
        expect(nodesOf(document.parseResult.value, isGuestUnmapStatement)).toHaveLength(1);
    });

    test('a missing `to` or `len` is a syntax error', async () => {
        const document = await parseValid(scenario('        guest-map s1 iova 0x1000 len 4K read'));
        expect(syntaxErrors(document).length).toBeGreaterThan(0);
    });
});

describe('the HWPT name', () => {
    test('resolves to the `let` that bound it, in the same process', async () => {
        const document = await parseValid(scenario('        guest-map s1 iova 0x1000 to 0x20_0000 len 4K read write'));
        expect(describeDiagnostics(document)).toEqual([]);
        const map = nodesOf(document.parseResult.value, isGuestMapStatement)[0]!;
        const target = isNameRef(map.hwpt) ? map.hwpt.ref.ref : undefined;
        expect(isIoctlStatement(target) && target.name).toBe('s1');
    });

    test('an unknown name, or one bound only later, does not resolve', async () => {
        const document = await parseValid(scenario(`
        guest-map nested iova 0x1000 to 0x20_0000 len 4K read write
        guest-unmap later iova 0x1000 len 4K
        let later = IOMMU_IOAS_ALLOC(iommufd)`));
        const diags = describeDiagnostics(document);
        expect(diags).toEqual(expect.arrayContaining([
            expect.stringMatching(/unknown variable 'nested'.*\[unknown-variable\]/),
            expect.stringMatching(/'later'.*\[unknown-variable\]/),
        ]));
    });

    test('another process\'s binding is not visible', async () => {
        const text = `${MACHINE}\nscenario nest on host {\n    process vmm {\n${PREAMBLE}\n    }\n    process other {\n        guest-map s1 iova 0x1000 to 0x2000 len 4K read\n    }\n}\n`;
        const document = await parseValid(text);
        expect(describeDiagnostics(document)).toEqual([expect.stringMatching(/unknown variable 's1'.*\[unknown-variable\]/)]);
    });
});

describe('lowering', () => {
    test('to guest-map / guest-unmap steps with the HWPT slot, addresses and permissions', async () => {
        const { steps, diagnostics } = await lowered(scenario(`
        guest-map s1 iova 0x1000 to 0x20_0000 len 4K read
        guest-unmap s1 iova 0x1000 len 4K`));
        expect(diagnostics).toEqual([]);
        const ops = steps.filter(s => s.op === 'guest-map' || s.op === 'guest-unmap');
        expect(ops).toEqual([
            expect.objectContaining({
                op: 'guest-map', process: 'vmm', hwpt: expect.objectContaining({ kind: 'var', name: 's1' }),
                iova: { kind: 'int', value: 0x1000n }, gpa: { kind: 'int', value: 0x20_0000n }, length: { kind: 'int', value: 4096n },
                read: true, write: false,
            }),
            expect.objectContaining({ op: 'guest-unmap', hwpt: expect.objectContaining({ kind: 'var', name: 's1' }), iova: { kind: 'int', value: 0x1000n }, length: { kind: 'int', value: 4096n } }),
        ]);
        expect(ops[0]!.loc?.start.line).toBeGreaterThan(0);
    });

    test('in a procedure, the HWPT may be a parameter; in a loop, addresses follow the loop variable', async () => {
        const { steps, diagnostics } = await lowered(scenario(`
        call map_pages(s1, 3)`, `
    procedure map_pages(h, n) {
        for i in 0 .. n - 1 {
            guest-map h iova 0x1000 + i * 4K to 0x20_0000 + i * 4K len 4K read write
        }
    }`));
        expect(diagnostics).toEqual([]);
        const maps = steps.filter((s): s is Extract<Step, { op: 'guest-map' }> => s.op === 'guest-map');
        expect(maps).toHaveLength(3);
        expect(maps.map(m => m.hwpt)).toEqual([0, 1, 2].map(() => expect.objectContaining({ kind: 'var', name: 's1' })));
        expect(maps[2]!.frames?.[0]?.procedure).toBe('map_pages');
    });
});

describe('diagnostics for misuse', () => {
    test('a name that cannot hold a nested HWPT: an IOAS, a NEST_PARENT HWPT, an fd, an address', async () => {
        const document = await parseValid(scenario(`
        guest-map ioas iova 0x1000 to 0x2000 len 4K read
        guest-map s2 iova 0x1000 to 0x2000 len 4K read
        let paging = IOMMU_HWPT_ALLOC(iommufd, dev_id: dev, pt_id: ioas)
        guest-map paging iova 0x1000 to 0x2000 len 4K read
        guest-map disk iova 0x1000 to 0x2000 len 4K read
        guest-map ram iova 0x1000 to 0x2000 len 4K read`));
        const diags = describeDiagnostics(document).filter(d => d.includes('not-a-nested-hwpt'));
        expect(diags).toEqual([
            expect.stringMatching(/'ioas' is the out_ioas_id of IOMMU_IOAS_ALLOC, not a nested HWPT/),
            expect.stringMatching(/'s2' is a NEST_PARENT HWPT: stage 2, the VMM's mapping of guest memory, not a nested HWPT/),
            expect.stringMatching(/'paging' is a paging HWPT \(allocated without stage-1 data_type\), not a nested HWPT/),
            expect.stringMatching(/'disk' is a file descriptor, not a nested HWPT/),
            expect.stringMatching(/'ram' is an address in process memory, not a nested HWPT/),
        ]);
    });

    test('permissions: none is an error, one twice a warning', async () => {
        const document = await parseValid(scenario(`
        guest-map s1 iova 0x1000 to 0x2000 len 4K
        guest-map s1 iova 0x3000 to 0x4000 len 4K read read`));
        expect(describeDiagnostics(document).filter(d => d.includes('guest-map-permissions'))).toEqual([
            expect.stringMatching(/a guest mapping needs its permissions: 'read', 'write' or both/),
            expect.stringMatching(/a permission is listed twice/),
        ]);
    });

    test('constant addresses and lengths must be 4 KiB aligned (once per statement, even in a loop)', async () => {
        const document = await parseValid(scenario(`
        guest-map s1 iova 0x1800 to 0x2000 len 4K read
        guest-map s1 iova 0x1000 to 0x2001 len 4K read
        guest-unmap s1 iova 0x1000 len 100
        guest-unmap s1 iova 0x1000 len 0
        repeat 3 {
            guest-map s1 iova 0x10 to 0x2000 len 4K read
        }`));
        expect(describeDiagnostics(document).filter(d => d.includes('guest-map-misaligned'))).toEqual([
            expect.stringMatching(/IOVA 0x1800 is not 4 KiB aligned: a stage-1 table maps whole pages/),
            expect.stringMatching(/GPA 0x2001 is not 4 KiB aligned/),
            expect.stringMatching(/length 0x64 is not 4 KiB aligned/),
            expect.stringMatching(/a length of 0: the guest maps whole pages/),
            expect.stringMatching(/IOVA 0x10 is not 4 KiB aligned/),
        ]);
    });
});

describe('the nesting example and the CLI', () => {
    async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
        const out: string[] = [];
        const err: string[] = [];
        const code = await runCli(argv, { out: (t) => out.push(t), err: (t) => err.push(t), cwd: root }, '9.9.9');
        return { code, out: out.join('\n'), err: err.join('\n') };
    }

    test('examples/06-nesting.iommu checks clean', async () => {
        const r = await cli('check', 'examples/06-nesting.iommu');
        expect(r.out).toBe('');
        expect(r.err).toBe('1 file checked: 0 errors, 0 warnings');
        expect(r.code).toBe(0);
    });

    test('run shows guest-map steps, the GPA of nested DMA, and faults naming both stages', async () => {
        const r = await cli('run', '--json', 'examples/06-nesting.iommu');
        const steps = (JSON.parse(r.out) as { scenarios: Array<{ steps: Array<{ op: string; result: string; values: Record<string, unknown>; reason?: string }> }> }).scenarios[0]!.steps;
        expect(steps.filter(s => s.op === 'guest-map').map(s => s.result)).toEqual(['ok', 'ok', 'ok']);
        expect(steps.find(s => s.op === 'dma')!.values).toMatchObject({ gpa: 0x20_0000 });
        const faults = steps.filter(s => s.result === 'fault').map(s => s.reason!);
        expect(faults.map(f => /stage (\d) \(/.exec(f)?.[1])).toEqual(['1', '1', '2', '1', '2']);
        const text = await cli('run', 'examples/06-nesting.iommu');
        expect(text.out).toMatch(/guest-map +→ ok {2}tables=4 table pages at GPA 0x100000-0x103fff mapped=0x1000 leaves=4K/);
    });

    test('without the invalidation, the DMA after guest-unmap is a stale-iotlb warning', async () => {
        const source = readFileSync(join(root, 'examples/06-nesting.iommu'), 'utf8');
        const without = source.replace(/IOMMU_HWPT_INVALIDATE\(iommufd[\s\S]*?entry_num: 1 \}/, '')
            .replace('dma nvme0 write 0x1000 len 64 expect fault     // now', 'dma nvme0 write 0x1000 len 64     // now');
        expect(without).not.toContain('IOMMU_HWPT_INVALIDATE(');
        const document = await parseValid(without);
        const stale = (document.diagnostics ?? []).filter(d => d.code === 'stale-iotlb' || (d.data as { code?: string } | undefined)?.code === 'stale-iotlb');
        expect(stale.map(d => [d.severity, d.message])).toEqual([
            [2, expect.stringMatching(/stale IOTLB: .*IOVA 0x1000 was translated by a stale IOTLB entry of nested HWPT 4, domain \d+/)],
        ]);
    });
});
