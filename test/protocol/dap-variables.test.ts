/**
 * DAP: what the user sees of the kernel at a stop — every scope, a page table of a million 4 KiB
 * entries paged on demand, the debug console, memory read through the IOMMU, and the custom
 * requests of the extension's debug views.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { StateEventBody, ViewItem, ViewRootResult } from '../../language/protocol/messages.js';
import {
    example, fixture, launchAndStop, scope, startAdapter, stopAfter, topFrame, valuesOf, variableAt, variables, type Adapter,
} from '../language/debug/dap-harness.js';

let a: Adapter;
beforeEach(async () => {
    a = await startAdapter();
});
afterEach(async () => {
    await a.close();
});

const STATE = fixture('kernel-state.iommu');
const QEMU = 1;
const SVA = 3;

/** Launches a file and runs to a breakpoint on `line` (a statement's line). */
async function runTo(program: string, line: number): Promise<DebugProtocol.StoppedEvent> {
    return launchAndStop(a.dc, { program, stopOnEntry: false }, async () => {
        const set = await a.dc.setBreakpointsRequest({ source: { path: program }, breakpoints: [{ line }] });
        expect(set.body.breakpoints[0]).toMatchObject({ verified: true, line });
    });
}

async function evaluate(expression: string, context = 'repl', frameId?: number): Promise<DebugProtocol.EvaluateResponse['body']> {
    return (await a.dc.evaluateRequest({ expression, context, ...(frameId !== undefined ? { frameId } : {}) })).body;
}

async function readMemory(memoryReference: string, offset: number, count: number): Promise<{ address: string; text?: string; bytes?: number[]; unreadableBytes?: number }> {
    const r = (await a.dc.customRequest('readMemory', { memoryReference, offset, count })) as DebugProtocol.ReadMemoryResponse;
    const data = r.body?.data === undefined ? undefined : Buffer.from(r.body.data, 'base64');
    return {
        address: r.body!.address,
        ...(data ? { text: data.toString('latin1'), bytes: [...data] } : {}),
        ...(r.body?.unreadableBytes !== undefined ? { unreadableBytes: r.body.unreadableBytes } : {}),
    };
}

async function view(command: string, args: object = {}): Promise<readonly ViewItem[]> {
    return ((await a.dc.customRequest(command, args)).body as ViewRootResult).items;
}

describe('scopes', () => {
    test('the scopes of a frame', async () => {
        await runTo(STATE, 35);
        const frame = await topFrame(a.dc, QEMU);
        const scopes = (await a.dc.scopesRequest({ frameId: frame.id })).body.scopes;
        expect(scopes.map((s) => s.name)).toEqual(['Process qemu', 'Last result', 'IOMMU groups', 'Devices', 'VFIO', 'iommufd', 'Domains', 'PASIDs', 'KVM']);
        expect(scopes[0]!.presentationHint).toBe('locals');
    });

    test('Process: bindings with what their fds refer to, mmap addresses with memory, fds, memory, locked_vm', async () => {
        await runTo(STATE, 32);
        const proc = await scope(a.dc, QEMU, 'Process qemu');
        const vars = await variables(a.dc, proc.variablesReference);
        expect(valuesOf(vars)).toMatchObject({
            container: 'fd 3 → /dev/vfio/vfio (container 1)',
            group: 'fd 4 → /dev/vfio/0 (on container 1)',
            ram: '0x7effffe00000',
            'off (loop)': '0',
            pid: '1000',
            uid: '0',
            capabilities: 'all',
            fds: '2 open',
            memory: '1 mapping',
        });
        expect(vars.find((v) => v.name === 'ram')!.memoryReference).toBe('proc:qemu@0x7effffe00000');
        expect(vars.find((v) => v.name === 'locked_vm')!.value).toMatch(/^\d+\w* \(\d+ pages\)$/);
        const fds = await variableAt(a.dc, proc.variablesReference, ['fds']);
        expect(valuesOf(await variables(a.dc, fds.variablesReference))).toEqual({ 3: '/dev/vfio/vfio (container 1)', 4: '/dev/vfio/0 (on container 1)' });
        const memory = vars.find((v) => v.name === 'memory')!;
        expect(memory.indexedVariables).toBe(1);
        expect(valuesOf(await variables(a.dc, memory.variablesReference, { filter: 'indexed', start: 0, count: 1 }))).toEqual({ '0x7effffe00000-0x7effffffffff': '2M, 4K pages' });
    });

    test('Process of an SVA user shows its PASID; PASIDs show per device tables and the global space', async () => {
        await runTo(STATE, 49);
        const proc = await scope(a.dc, SVA, 'Process sva');
        expect(valuesOf(await variables(a.dc, proc.variablesReference))).toMatchObject({ pasid: '1' });
        const pasids = await scope(a.dc, SVA, 'PASIDs');
        const roots = await variables(a.dc, pasids.variablesReference);
        expect(valuesOf(roots)).toEqual({
            '0000:03:00.0 (dsa0)': '1 PASID table entry, max 1048576',
            'global PASID space': '1 allocated',
            'SVA bonds': '1',
        });
        expect(valuesOf(await variables(a.dc, roots[0]!.variablesReference))).toEqual({ 'pasid 1': 'SVA domain 6 (sva), PGTT 1', 'group 2 attachments': '1' });
        expect(valuesOf(await variables(a.dc, roots[1]!.variablesReference))).toEqual({ 'pasid 1': 'mm of sva' });
        expect(valuesOf(await variables(a.dc, roots[2]!.variablesReference))).toEqual({ 'dsa0 ↔ sva': 'pasid 1, domain 6, 1 user' });
    });

    test('Last result: the statement, its result, out-values and DMA segments', async () => {
        await runTo(STATE, 32);
        const last = await scope(a.dc, QEMU, 'Last result');
        const vars = await variables(a.dc, last.variablesReference);
        expect(valuesOf(vars)).toMatchObject({ statement: 'dma (kernel-state.iommu line 30)', result: 'ok', dma: '1 segment', expectation: 'met' });
        const [segment] = await variables(a.dc, vars.find((v) => v.name === 'dma')!.variablesReference);
        expect(segment!.name).toBe('0x101000-0x10103f');
        expect(segment!.value).toMatch(/^PA 0x[0-9a-f]+, 64 in 4K pages of domain 5$/);
        await a.dc.setBreakpointsRequest({ source: { path: STATE }, breakpoints: [{ line: 36 }] });
        await stopAfter(a.dc, () => a.dc.continueRequest({ threadId: QEMU }));
        const fault = await scope(a.dc, QEMU, 'Last result');
        const fv = await variables(a.dc, fault.variablesReference);
        expect(valuesOf(fv)).toMatchObject({
            statement: 'dma (kernel-state.iommu line 35)', result: 'fault',
            reason: '0000:02:00.1 (nic1): IOVA 0x200000 is not mapped in paging domain 5 (x86-64)',
            expectation: 'not met: fault: 0000:02:00.1 (nic1): IOVA 0x200000 is not mapped in paging domain 5 (x86-64)',
        });
        const faultNode = await variableAt(a.dc, fv.find((v) => v.name === 'dma')!.variablesReference, ['fault']);
        expect(valuesOf(await variables(a.dc, faultNode.variablesReference))).toMatchObject({ reason: 'not-present', iova: '0x200000', domain: '5' });
    });

    test('IOMMU groups, Devices, VFIO and Domains', async () => {
        await runTo(STATE, 35);
        const groups = await variables(a.dc, (await scope(a.dc, QEMU, 'IOMMU groups')).variablesReference);
        expect(valuesOf(groups)).toEqual({ 'group 0': '3 devices, not viable', 'group 1': '1 device, viable', 'group 2': '1 device, not viable' });
        expect(valuesOf(await variables(a.dc, groups[0]!.variablesReference))).toMatchObject({
            devices: 'rp1, nic0, nic1', viable: 'no: owned by VFIO group 0', owner: 'VFIO group 0',
            domain: 'paging domain 5 (x86-64)', 'vfio node': '/dev/vfio/0 (open), container 1',
        });

        const devices = await variables(a.dc, (await scope(a.dc, QEMU, 'Devices')).variablesReference);
        const nic0 = devices.find((d) => d.name === '0000:02:00.0 (nic0)')!;
        expect(nic0).toMatchObject({ value: 'vfio-pci', memoryReference: 'dev:nic0', type: 'device' });
        expect(valuesOf(await variables(a.dc, nic0.variablesReference))).toMatchObject({ driver: 'vfio-pci', group: '0', domain: 'paging domain 5 (x86-64)', type: 'endpoint' });

        const vfio = await variables(a.dc, (await scope(a.dc, QEMU, 'VFIO')).variablesReference);
        expect(valuesOf(vfio)).toMatchObject({ 'container 1': 'type1, 1 group', 'vfio group 0': 'iommu, open, container 1, 1 container user' });
        expect(valuesOf(await variables(a.dc, vfio[0]!.variablesReference))).toMatchObject({ version: 'TYPE1v2', domains: '5 (groups 0, coherent)', mappings: '1' });

        const domains = await variables(a.dc, (await scope(a.dc, QEMU, 'Domains')).variablesReference);
        expect(domains.map((d) => d.name)).toEqual(['domain 1', 'domain 2', 'domain 3', 'domain 4', 'domain 5']);
        const d5 = valuesOf(await variables(a.dc, domains[4]!.variablesReference));
        expect(d5).toMatchObject({ type: 'paging', owner: 'type1 container 1', attached: 'group 0', 'page sizes': '4K 2M 1G', 'page table': 'x86-64, 4 levels, 64K mapped, 4 tables (16K)' });
    });

    test('a page table: levels, entries with IOVA range, output address, size, permissions', async () => {
        await runTo(STATE, 35);
        const table = await variableAt(a.dc, (await scope(a.dc, QEMU, 'Domains')).variablesReference, ['domain 5', 'page table']);
        expect(table).toMatchObject({ indexedVariables: 1, memoryReference: 'domain:5', type: 'pgtable' });
        let level = table;
        for (const name of ['[0] 0x0-0x7fffffffff', '[0] 0x0-0x3fffffff', '[0] 0x0-0x1fffff']) {
            const [entry] = await variables(a.dc, level.variablesReference, { filter: 'indexed', start: 0, count: 1 });
            expect(entry!.name).toBe(name);
            expect(entry!.value).toMatch(/^table 0x[0-9a-f]+ \(\d+ present\)/);
            level = entry!;
        }
        expect(level.indexedVariables).toBe(16);
        const leaves = await variables(a.dc, level.variablesReference, { filter: 'indexed', start: 0, count: 16 });
        expect(leaves.map((l) => l.name)).toEqual(Array.from({ length: 16 }, (_, i) => `[${256 + i}] 0x${(0x100 + i).toString(16)}000-0x${(0x100 + i).toString(16)}fff`));
        expect(leaves[0]!.value).toMatch(/^→ 0x[0-9a-f]+ 4K RW/);
    });

    test('iommufd: contexts, objects with what holds them, attachments, IOAS areas', async () => {
        const program = example('03-iommufd.iommu');
        await runTo(program, 43);
        const ctxs = await variables(a.dc, (await scope(a.dc, 1, 'iommufd')).variablesReference);
        expect(valuesOf(ctxs)).toEqual({ 'iommufd 1': '/dev/iommu, opened by vmm, 3 objects' });
        const ctx = await variables(a.dc, ctxs[0]!.variablesReference);
        const objects = await variables(a.dc, ctx.find((c) => c.name === 'objects')!.variablesReference);
        expect(valuesOf(objects)).toEqual({ 'DEVICE 1 (0000:01:00.0 nvme0)': 'in use: 1 holder', 'IOAS 2': 'in use: 1 holder', 'HWPT 3 (auto)': 'in use: 1 holder' });
        const ioas = await variables(a.dc, objects[1]!.variablesReference);
        expect(valuesOf(ioas)).toMatchObject({ id: '2', type: 'ioas', 'held by': '1' });
        expect(valuesOf(await variables(a.dc, ioas.find((v) => v.name === 'held by')!.variablesReference))).toEqual({ '[0]': 'HWPT 3 (auto) maps it' });
        const areas = await variableAt(a.dc, ioas.find((v) => v.name === 'iopt')!.variablesReference, ['areas']);
        expect(areas).toMatchObject({ value: '1 range', indexedVariables: 1 });
        const [area] = await variables(a.dc, areas.variablesReference, { filter: 'indexed', start: 0, count: 1 });
        expect(area!.name).toBe('0x100000-0x2fffff');
        expect((await a.dc.dataBreakpointInfoRequest({ variablesReference: areas.variablesReference, name: area!.name })).body.dataId).toBe('ioas:1:2:0x100000:0x2fffff');
        const attachments = await variableAt(a.dc, ctxs[0]!.variablesReference, ['attachments', 'group 2']);
        expect(valuesOf(await variables(a.dc, attachments.variablesReference))).toEqual({ 'pasid 0 (RID)': 'HWPT 3 (auto), device 1' });
    });

    test('KVM: VMs and their KVM-VFIO device', async () => {
        const program = example('05-kvm-coherency.iommu');
        await runTo(program, 33);
        const kvm = await variables(a.dc, (await scope(a.dc, 1, 'KVM')).variablesReference);
        expect(valuesOf(kvm)).toEqual({ 'VM 1': 'non-coherent DMA: WBINVD emulated' });
        expect(valuesOf(await variables(a.dc, kvm[0]!.variablesReference))).toMatchObject({ 'kvm-vfio device': '1 file: /dev/vfio/1' });
        expect(valuesOf(await variables(a.dc, (await scope(a.dc, 1, 'Process qemu')).variablesReference))).toMatchObject({
            kvm: 'fd 5 → /dev/kvm', vm: 'fd 6 → kvm-vm 1', kvm_vfio: 'fd 7 → kvm-vfio (VM 1)',
        });
    });
});

describe('a page table with a million 4 KiB entries', () => {
    test('opens level by level and pages into a leaf table, with the right entries', async () => {
        const program = fixture('big-table.iommu');
        await runTo(program, 25);
        const domains = await variables(a.dc, (await scope(a.dc, 1, 'Domains')).variablesReference);
        const domain = domains.find((d) => d.value.startsWith('paging'))!;
        const table = await variableAt(a.dc, domain.variablesReference, ['page table']);
        expect(table.value).toBe('x86-64, 4 levels, 4G mapped, 2054 tables (8216K)');
        const [pml4e] = await variables(a.dc, table.variablesReference, { filter: 'indexed', start: 0, count: 10 });
        expect(pml4e).toMatchObject({ name: '[0] 0x0-0x7fffffffff', indexedVariables: 4 });
        const pdpt = await variables(a.dc, pml4e!.variablesReference, { filter: 'indexed', start: 0, count: 4 });
        expect(pdpt.map((e) => e.name)).toEqual(['[4] 0x100000000-0x13fffffff', '[5] 0x140000000-0x17fffffff', '[6] 0x180000000-0x1bfffffff', '[7] 0x1c0000000-0x1ffffffff']);
        expect(pdpt.every((e) => e.indexedVariables === 512)).toBe(true);
        // A window in the middle of a page directory...
        const pd = await variables(a.dc, pdpt[1]!.variablesReference, { filter: 'indexed', start: 300, count: 5 });
        expect(pd.map((e) => e.name)).toEqual([300, 301, 302, 303, 304].map((i) => {
            const start = 0x140000000 + i * 0x200000;
            return `[${i}] 0x${start.toString(16)}-0x${(start + 0x1fffff).toString(16)}`;
        }));
        expect(pd.every((e) => e.indexedVariables === 512 && /\(512 present\)/.test(e.value))).toBe(true);
        // ...and the end of a leaf table: a window past the end is cut.
        const leaves = await variables(a.dc, pd[0]!.variablesReference, { filter: 'indexed', start: 508, count: 100 });
        expect(leaves.map((l) => l.name)).toEqual([508, 509, 510, 511].map((i) => {
            const start = 0x165800000 + i * 0x1000;
            return `[${i}] 0x${start.toString(16)}-0x${(start + 0xfff).toString(16)}`;
        }));
        expect(leaves.every((l) => /^→ 0x[0-9a-f]+ 4K RW/.test(l.value))).toBe(true);
        // 4 directories × 512 tables × 512 entries.
        let total = 0;
        for (const e of pdpt) {
            const dirs = await variables(a.dc, e.variablesReference, { filter: 'indexed', start: 0, count: 512 });
            total += dirs.reduce((n, d) => n + (d.indexedVariables ?? 0), 0);
        }
        expect(total).toBe(1 << 20);
        // The views page through the same tree.
        const root = (await view('iommu/pageTables')).find((t) => t.description?.startsWith('paging'));
        expect(root).toMatchObject({ label: domain.name, childCount: 1 });
        const [pml4] = await view('iommu/children', { ref: root!.ref, start: 0, count: 50 });
        const pdptItems = await view('iommu/children', { ref: pml4!.ref });
        expect(pdptItems.map((i) => [i.label, i.childCount])).toEqual([
            ['[4] 0x100000000-0x13fffffff', 512], ['[5] 0x140000000-0x17fffffff', 512], ['[6] 0x180000000-0x1bfffffff', 512], ['[7] 0x1c0000000-0x1ffffffff', 512],
        ]);
        const page = await view('iommu/children', { ref: pdptItems[0]!.ref, start: 500, count: 50 });
        expect(page.map((i) => i.label)).toEqual(Array.from({ length: 12 }, (_, k) => {
            const start = 0x100000000 + (500 + k) * 0x200000;
            return `[${500 + k}] 0x${start.toString(16)}-0x${(start + 0x1fffff).toString(16)}`;
        }));
        // What the DMA wrote, through the device.
        expect(await readMemory('dev:nvme0', 0x1_0000_1000, 32)).toMatchObject({ address: '0x100001000', text: 'nvme0.@100001000nvme0.@100001010' });
    });
});

describe('the debug console', () => {
    test('translate, groups, objects, names, fds and conditions', async () => {
        await runTo(STATE, 35);
        expect((await evaluate('translate nic0 0x10_1000')).result).toMatch(/^nic0 read 0x101000 → PA 0x[0-9a-f]+ \(4K page, domain 5\)$/);
        expect((await evaluate('translate nic1 0x10_4000 + 4K write')).result).toMatch(/^nic1 write 0x105000 → PA 0x[0-9a-f]+ \(4K page, domain 5\)$/);
        expect((await evaluate('translate nic0 0x20_0000')).result).toBe('nic0 read 0x200000: fault: 0000:02:00.0 (nic0): IOVA 0x200000 is not mapped in paging domain 5 (x86-64)');
        expect((await evaluate('translate dsa0 0x1000')).result).toMatch(/^dsa0 read 0x1000: fault: .*not mapped in DMA-API domain 3/);
        await expect(evaluate('translate gpu7 0x1000')).rejects.toThrow('no device gpu7 at this point');
        await expect(evaluate('translate nic0')).rejects.toThrow('usage: translate DEV IOVA [pasid P] [write]');

        const groups = await evaluate('groups');
        expect(groups.result.split('\n')).toEqual([
            'group 0: 0000:00:1d.0 (rp1) [pcieport], 0000:02:00.0 (nic0) [vfio-pci], 0000:02:00.1 (nic1) [vfio-pci] — not viable: owned by VFIO group 0',
            'group 1: 0000:00:1f.0 (rp2) [pcieport] — viable',
            'group 2: 0000:03:00.0 (dsa0) [idxd] — not viable: 0000:03:00.0 (dsa0) is bound to idxd',
        ]);
        expect((await variables(a.dc, groups.variablesReference)).map((v) => v.name)).toEqual(['group 0', 'group 1', 'group 2']);
        expect((await evaluate('help')).result).toContain('translate DEV IOVA [pasid P] [write]');
        expect(await evaluate('group')).toMatchObject({ result: 'fd 4 → /dev/vfio/0 (on container 1)', variablesReference: 0 });
        expect(await evaluate('ram')).toMatchObject({ result: '0x7effffe00000', memoryReference: 'proc:qemu@0x7effffe00000' });
        const nic0 = await evaluate('nic0');
        expect(nic0).toMatchObject({ result: '0000:02:00.0 (nic0): vfio-pci, group 0', memoryReference: 'dev:nic0' });
        expect(nic0.variablesReference).toBeGreaterThan(0);
        expect((await evaluate('0000:02:00.1')).result).toBe('0000:02:00.1 (nic1): vfio-pci, group 0');
        expect(await evaluate('domain 5')).toMatchObject({ result: 'domain 5: paging domain 5 (x86-64)', memoryReference: 'domain:5' });
        await expect(evaluate('domain 42')).rejects.toThrow('no domain 42 at this point; there are 1, 2, 3, 4, 5');
        expect((await evaluate('group 1')).result).toBe('group 1: 1 device, viable');
        expect((await evaluate('fd 3')).result).toBe('fd 3 → /dev/vfio/vfio (container 1)');
        await expect(evaluate('fd 9')).rejects.toThrow('fd 9 is not open in qemu');
        expect((await evaluate('viable(nic0)')).result).toBe('false');
        expect((await evaluate('group(nic1) == group(nic0) && driver(dsa0) == "idxd"')).result).toBe('true');
        expect((await evaluate('pa(nic0, 0x10_1000) > 0')).result).toBe('true');
        expect((await evaluate('result')).result).toBe('"fault"');
        await expect(evaluate('viable(')).rejects.toThrow(/the condition ends too early \(at column 8\); type help for the commands/);
    });

    test('hover answers names only; the console follows the selected frame\'s thread', async () => {
        await runTo(STATE, 49);
        const qemu = await topFrame(a.dc, QEMU);
        expect((await evaluate('container', 'hover', qemu.id)).result).toBe('fd 3 → /dev/vfio/vfio (container 1)');
        await expect(evaluate('viable(nic0)', 'hover')).rejects.toThrow("'viable(nic0)' is not a binding or a device");
        const sva = await topFrame(a.dc, SVA);
        const buf = (await evaluate('buf', 'repl', sva.id)).result;
        expect(buf).toMatch(/^0x7eff/);
        expect((await evaluate('translate dsa0 buf + 0x2000 pasid pasid write', 'repl', sva.id)).result).toMatch(/^dsa0 write 0x[0-9a-f]+ pasid 1 → PA 0x[0-9a-f]+ \(4K page, domain 6\)$/);
        expect((await evaluate('pasids')).result).toBe('1 device with PASIDs, 1 global');
        await expect(evaluate('buf', 'repl', (await topFrame(a.dc, QEMU)).id)).rejects.toThrow("'buf' is not a binding of qemu, a device or a variable of the condition language");
    });
});

describe('memory', () => {
    test('a device reads what DMA wrote, through its IOMMU; unmapped pages are unreadable', async () => {
        await runTo(STATE, 35);
        expect(await readMemory('dev:nic0', 0x10_1000, 64)).toEqual({
            address: '0x101000',
            text: 'nic0..@000101000nic0..@000101010nic0..@000101020nic0..@000101030',
            bytes: expect.any(Array),
        });
        expect((await readMemory('dev:nic1', 0x10_7000, 16)).text).toBe('nic1..@000107000');
        // Mapped but never written: zeros.
        expect((await readMemory('dev:nic0', 0x10_1040, 8)).bytes).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
        // Unmapped: nothing readable.
        expect(await readMemory('dev:nic0', 0x20_0000, 64)).toEqual({ address: '0x200000', unreadableBytes: 64 });
        // Across the end of the mapping: the readable part, then how much is not.
        const edge = await readMemory('dev:nic0', 0x10_fff0, 32);
        expect(edge).toMatchObject({ address: '0x10fff0', unreadableBytes: 16 });
        expect(edge.bytes).toHaveLength(16);
        // The same bytes through the domain's page table, and in the process's memory behind the mapping.
        expect((await readMemory('domain:5', 0x10_1000, 16)).text).toBe('nic0..@000101000');
        expect((await readMemory('proc:qemu@0x7effffe00000', 0x1000, 16)).text).toBe('nic0..@000101000');
        // Memory is per snapshot: before the write, the page reads zero.
        await a.dc.setBreakpointsRequest({ source: { path: STATE }, breakpoints: [{ line: 30 }] });
        await stopAfter(a.dc, () => a.dc.reverseContinueRequest({ threadId: QEMU }));
        expect((await readMemory('dev:nic0', 0x10_1000, 4)).bytes).toEqual([0, 0, 0, 0]);
    });

    test('SVA: a device writes into the process\'s own memory', async () => {
        await runTo(STATE, 49);
        const sva = await topFrame(a.dc, SVA);
        const buf = BigInt((await evaluate('buf', 'repl', sva.id)).result);
        const proc = await readMemory(`proc:sva@0x${buf.toString(16)}`, 0x2000, 32);
        const tag = ((buf + 0x2000n) % (1n << 36n)).toString(16).padStart(9, '0');
        expect(proc.text).toBe(`dsa0..@${tag}dsa0..@${(BigInt(`0x${tag}`) + 16n).toString(16).padStart(9, '0')}`);
    });
});

describe('the views\' custom requests', () => {
    test('groups, page tables and PASID tables as tree items; children paged; a state event at every stop', async () => {
        const states: StateEventBody[] = [];
        a.dc.on('iommu/state', (e: DebugProtocol.Event) => states.push(e.body as StateEventBody));
        await runTo(STATE, 48);
        expect(states.at(-1)).toEqual({ tick: 25, step: 25, reason: 'breakpoint' });

        const groups = await view('iommu/groups');
        expect(groups.map((g) => [g.label, g.description, g.kind])).toEqual([
            ['group 0', '3 devices, not viable', 'group'], ['group 1', '1 device, viable', 'group'], ['group 2', '1 device, not viable', 'group'],
        ]);
        const group0 = await view('iommu/children', { ref: groups[0]!.ref });
        expect(group0.map((i) => i.label)).toEqual(['devices', 'viable', 'owner', 'domain', 'default domain', 'iommu', 'vfio node']);
        expect(group0[0]).toMatchObject({ description: 'rp1, nic0, nic1', childCount: 3 });
        expect((await view('iommu/children', { ref: groups[0]!.ref, start: 1, count: 2 })).map((i) => i.label)).toEqual(['viable', 'owner']);

        const tables = await view('iommu/pageTables');
        expect(tables.map((t) => t.label)).toEqual(['domain 1', 'domain 2', 'domain 3', 'domain 5']);
        expect(tables[3]!.description).toBe('paging domain 5 (x86-64): x86-64, 4 levels, 0 mapped, 4 tables (16K)');

        const pasids = await view('iommu/pasidTables');
        expect(pasids.map((p) => [p.label, p.description])).toEqual([
            ['0000:03:00.0 (dsa0)', '1 PASID table entry, max 1048576'], ['global PASID space', '1 allocated'], ['SVA bonds', '1'],
        ]);
        expect((await view('iommu/children', { ref: pasids[1]!.ref })).map((i) => [i.label, i.description])).toEqual([['pasid 1', 'mm of sva']]);

        // Handles are per stop.
        await stopAfter(a.dc, () => a.dc.nextRequest({ threadId: SVA }));
        expect(states.at(-1)).toEqual({ tick: 26, step: 26, reason: 'step' });
        await expect(view('iommu/children', { ref: groups[0]!.ref })).rejects.toThrow(/not valid at this stop/);
        // Back to the start: no PASID in use yet.
        await a.dc.setBreakpointsRequest({ source: { path: STATE }, breakpoints: [] });
        await stopAfter(a.dc, () => a.dc.reverseContinueRequest({ threadId: SVA }));
        expect(states.at(-1)).toEqual({ tick: 0, step: 0, reason: 'entry' });
        expect(await view('iommu/pasidTables')).toEqual([{ label: 'global PASID space', description: 'none allocated', tooltip: 'global PASID space: none allocated', kind: 'pasids', ref: 0 }]);
    });
});
