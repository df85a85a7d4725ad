/**
 * The command line as a user runs it: output formats (text and the contract's JSON shapes),
 * exit codes, golden outputs for the examples. Runs `runCli` in-process (the bundle is tested by
 * the protocol tests).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli } from '../../language/cli/main.js';

const root = join(import.meta.dirname, '..', '..');

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, { out: (t) => out.push(t), err: (t) => err.push(t), cwd: root }, '9.9.9');
    return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Compares with a golden file; `UPDATE_GOLDEN=1` rewrites it. */
function golden(name: string, actual: string): void {
    const file = join(import.meta.dirname, 'golden', name);
    if (process.env.UPDATE_GOLDEN) {
        writeFileSync(file, `${actual}\n`);
    }
    expect(actual).toBe(readFileSync(file, 'utf8').replace(/\n$/, ''));
}

describe('check', () => {
    test('prints file:line:col: severity: message [code] and exits 1 on errors', async () => {
        const r = await cli('check', 'test/cli/fixtures/failing.iommu');
        expect(r.code).toBe(1);
        const lines = r.out.split('\n');
        expect(lines).toContain('test/cli/fixtures/failing.iommu:23:9: error: EPERM: group 0 is not viable: 0000:02:00.1 (nic1) is bound to ixgbe (drivers/iommu/iommu.c) [call-fails]');
        expect(lines).toContain('test/cli/fixtures/failing.iommu:24:9: error: expected ok, got EINVAL: container 1 has no group yet: VFIO_GROUP_SET_CONTAINER a group first (drivers/vfio/container.c) [expect-mismatch]');
        // SET_CONTAINER failed, so the group never left its default DMA-API domain.
        expect(lines).toContain("test/cli/fixtures/failing.iommu:25:9: error: DMA fault: 0000:02:00.0 (nic0): IOVA 0x1000 is not mapped in DMA-API domain 1 (x86-64) (the default domain: only a kernel driver's DMA-API calls map into it) [dma-fault]");
        expect(r.err).toBe('1 file checked: 3 errors, 1 warning');
    });

    test('--json gives the contract shape', async () => {
        const r = await cli('check', '--json', 'test/cli/fixtures/failing.iommu');
        const json = JSON.parse(r.out) as { diagnostics: Array<Record<string, unknown>> };
        expect(json.diagnostics[0]).toEqual({
            file: 'test/cli/fixtures/failing.iommu', line: 20, column: 9, endLine: 20, endColumn: 27,
            severity: 'warning', code: 'group-not-viable',
            message: '0000:02:00.0 (nic0) shares IOMMU group 0 with a device still on a kernel driver (0000:02:00.1 (nic1) is bound to ixgbe): the group is not viable for VFIO',
        });
        expect(json.diagnostics.map((d) => [d.line, d.severity, d.code])).toEqual([
            [20, 'warning', 'group-not-viable'], [23, 'error', 'call-fails'], [24, 'error', 'expect-mismatch'], [25, 'error', 'dma-fault'],
        ]);
    });

    test('every example checks clean (exit 0)', async () => {
        const r = await cli('check', 'examples/01-groups-and-acs.iommu', 'examples/02-legacy-vfio.iommu', 'examples/05-kvm-coherency.iommu',
            'examples/shared/01-groups-not-devices.iommu', 'examples/shared/04-type1-and-interrupt-remapping.iommu', 'examples/shared/05-kvm-and-noncoherent-dma.iommu');
        expect(r.out.split('\n').filter((l) => l.includes(': error: '))).toEqual([]);
        expect(r.code).toBe(0);
    });

    test('usage errors exit 2 with a message', async () => {
        expect(await cli('check')).toMatchObject({ code: 2, err: 'iommu-scenarios: check needs a file' });
        expect(await cli('check', 'nope.iommu')).toMatchObject({ code: 2, err: expect.stringMatching(/nope\.iommu: no such file$/) });
        expect(await cli('frobnicate')).toMatchObject({ code: 2, err: "iommu-scenarios: unknown command 'frobnicate'" });
        expect(await cli('run', 'examples/02-legacy-vfio.iommu', '--scenario', 'nope')).toMatchObject({ code: 2, err: expect.stringContaining("no scenario 'nope' (scenarios: assign_nic, unbind_waits)") });
        expect((await cli('--version')).out).toBe('9.9.9');
        expect((await cli('--help')).out).toMatch(/^Usage: iommu-scenarios <command>/);
    });
});

describe('run', () => {
    test('text: each step with its result (golden)', async () => {
        const r = await cli('run', 'examples/02-legacy-vfio.iommu');
        expect(r.code).toBe(0);
        golden('run-02-legacy-vfio.txt', r.out);
    });

    test('--json gives the contract shape', async () => {
        const r = await cli('run', '--json', 'examples/shared/04-type1-and-interrupt-remapping.iommu', '--scenario', 'msi_not_isolated');
        const json = JSON.parse(r.out) as { scenarios: Array<{ name: string; machine: string; steps: Array<Record<string, unknown>> }> };
        expect(json.scenarios).toHaveLength(1);
        const s = json.scenarios[0]!;
        expect([s.name, s.machine]).toEqual(['msi_not_isolated', 'old_server']);
        expect(s.steps.find((x) => x.op === 'VFIO_SET_IOMMU')).toMatchObject({
            line: 36, process: 'vmm', result: 'EPERM', values: {}, expected: true,
            reason: expect.stringContaining('no interrupt remapping'),
        });
        expect(s.steps.find((x) => x.op === 'open')).toMatchObject({ result: 'ok', values: { fd: 3 } });
        expect(s.steps.find((x) => x.op === 'VFIO_CHECK_EXTENSION')).toMatchObject({ result: 'ok', values: { value: 1 } });
    });

    test('a step that fails its expectation makes run exit 1', async () => {
        expect((await cli('run', 'test/cli/fixtures/failing.iommu')).code).toBe(1);
    });
});

describe('groups', () => {
    test('text (golden) for the teaching example', async () => {
        const r = await cli('groups', 'examples/01-groups-and-acs.iommu');
        expect(r.code).toBe(0);
        golden('groups-01-groups-and-acs.txt', r.out);
    });

    test('--json gives the contract shape, devices as Linux names them', async () => {
        const r = await cli('groups', '--json', 'examples/shared/01-groups-not-devices.iommu', '--machine', 'desktop');
        const json = JSON.parse(r.out);
        expect(json).toEqual({
            machines: [{
                name: 'desktop',
                groups: [
                    { id: 0, devices: ['0000:00:1c.0', '0000:01:00.0', '0000:01:00.1'] },
                    { id: 1, devices: ['0000:00:1d.0'] },
                    { id: 2, devices: ['0000:02:00.0'] },
                    { id: 3, devices: [expect.stringMatching(/^[0-9a-f-]{36}$/)] },
                ],
            }],
        });
    });
});
